package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// fallbackReplicaDelay is the replica's lag in TestReplicaFallbacks: long
// enough that a revoke bounded by a short context cannot see it replayed,
// and that a commit made just before the Cache's listener reconnects is
// still ahead of the replica when the test looks.
const fallbackReplicaDelay = 3 * time.Second

// TestReplicaFallbacks shows what Config.ReadPool, Config.ReplayWait,
// ErrReplicaBehind and docs/SCALING.md say beyond replica_test.go: another
// tenant's session is refused by the replica alone; a due touch and a
// replica error go to the primary; a revoke whose context ends before the
// replica replays it returns ErrReplicaBehind with the session ended; while
// a Cache's listener is disconnected the replica answers no "valid", and
// when it reconnects every session is fenced at the primary's position of
// that moment; and ReplicaStats is all zero without a ReadPool.
func TestReplicaFallbacks(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, fallbackReplicaDelay)
	ctx := t.Context()
	tenantSession, _ := f.create(t, func(n *sessionguard.NewSession) {
		n.AppType, n.TenantID = sessionguard.TenantApp, f.tenant
	})
	due, _ := f.create(t, nil)
	f.age(t, due, 2*pgstore.DefaultTouchInterval, 2*pgstore.DefaultTouchInterval) // a touch is due
	live, _ := f.create(t, nil)
	toRevoke, _ := f.create(t, nil)
	f.waitReplayed(t)

	// check runs one check through s and reports the state and whether the
	// replica answered it alone.
	check := func(t *testing.T, s *pgstore.Store, validate bool, hash string, scope sessionguard.Scope) (sessionguard.State, bool) {
		t.Helper()
		do := s.Peek
		if validate {
			do = s.Validate
		}
		before := s.ReplicaStats()
		st, err := do(ctx, hash, scope)
		if err != nil {
			t.Fatal(err)
		}
		after := s.ReplicaStats()
		served, fellBack := after.Served-before.Served, after.Fallbacks-before.Fallbacks
		if served+fellBack != 1 {
			t.Fatalf("served %d, fell back %d; want one of them", served, fellBack)
		}
		return st.State, served == 1
	}

	t.Run("another tenant's session: replica alone", func(t *testing.T) {
		scope := sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant + 1}
		if state, replica := check(t, f.store, true, tenantSession, scope); state != sessionguard.StateWrongTenant || !replica {
			t.Errorf("%q, replica %v; want %q from the replica", state, replica, sessionguard.StateWrongTenant)
		}
	})

	t.Run("a due touch: primary; a peek of it: replica", func(t *testing.T) {
		if state, replica := check(t, f.store, false, due, sessionguard.Scope{}); state != sessionguard.StateValid || !replica {
			t.Errorf("peek: %q, replica %v; want valid from the replica", state, replica)
		}
		before := f.row(t, due).LastActivity
		if state, replica := check(t, f.store, true, due, sessionguard.Scope{}); state != sessionguard.StateValid || replica {
			t.Errorf("validate: %q, replica %v; want valid from the primary", state, replica)
		}
		if !f.row(t, due).LastActivity.After(before) {
			t.Error("the due touch was not written on the primary")
		}
	})

	t.Run("a replica error: primary", func(t *testing.T) {
		broken := pgtest.NewServerPool(t, f.rs.Standby)
		s, err := pgstore.New(f.pool, pgstore.Config{ReadPool: broken, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		broken.Close() // every replica query now fails
		if state, replica := check(t, s, true, live, sessionguard.Scope{}); state != sessionguard.StateValid || replica {
			t.Errorf("%q, replica %v; want valid from the primary", state, replica)
		}
		if n := s.ReplicaStats().Errors; n != 1 {
			t.Errorf("replica errors = %d; want 1", n)
		}
	})

	t.Run("a revoke whose context ends first: ErrReplicaBehind, session ended", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		ended, err := f.store.Revoke(short, toRevoke, sessionguard.ReasonLogout)
		if !ended || !errors.Is(err, sessionguard.ErrReplicaBehind) {
			t.Fatalf("Revoke = %v, %v; want true, ErrReplicaBehind", ended, err)
		}
		if took := time.Since(start); took >= pgstore.DefaultReplayWait {
			t.Errorf("Revoke took %v: it waited for ReplayWait, not for its context", took)
		}
		if f.row(t, toRevoke).Active {
			t.Error("the session is still active on the primary")
		}
		if state, replica := check(t, f.store, false, toRevoke, sessionguard.Scope{}); state != sessionguard.StateRevoked || replica {
			t.Errorf("right after: %q, replica %v; want revoked from the primary", state, replica)
		}
	})

	t.Run("listener down: no valid from the replica; reconnected: fenced at that moment", func(t *testing.T) {
		// The listener logs in as a role of its own, so that the test can
		// keep it from reconnecting (NOLOGIN) while the pools work on.
		exec := func(sql string, args ...any) {
			t.Helper()
			if _, err := f.pool.Exec(context.Background(), sql, args...); err != nil {
				t.Fatal(err)
			}
		}
		exec("CREATE ROLE cache_listener LOGIN")
		s := newReplicaStore(t, f.rs)
		c := newCache(t, s, pgstore.CacheConfig{
			ListenConnString:  f.rs.Primary.ConnString("postgres") + " user=cache_listener",
			MaxReconnectDelay: 200 * time.Millisecond,
		})
		runCache(t, c)
		eventually(t, "the replica passes the listener's first fence", func() bool {
			_, replica := check(t, s, false, live, sessionguard.Scope{})
			return replica
		})

		exec("ALTER ROLE cache_listener NOLOGIN")
		exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'cache_listener'")
		eventually(t, "the listener is down", func() bool { return !c.Listening() })
		for i := range 5 {
			// Without the block, the replica has passed every fence this
			// instance knows of and would answer.
			if state, replica := check(t, s, false, live, sessionguard.Scope{}); state != sessionguard.StateValid || replica {
				t.Errorf("check %d with the listener down: %q, replica %v; want valid from the primary", i, state, replica)
			}
			time.Sleep(50 * time.Millisecond)
		}

		// Commit until the listener is back, so that it reconnects less
		// than fallbackReplicaDelay after a commit the replica lacks.
		exec("ALTER ROLE cache_listener LOGIN")
		for deadline := time.Now().Add(10 * time.Second); !c.Listening(); {
			if time.Now().After(deadline) {
				t.Fatal("the listener does not reconnect")
			}
			exec("UPDATE tenants SET name = name WHERE id = $1", f.tenant)
			time.Sleep(20 * time.Millisecond)
		}
		if state, replica := check(t, s, false, live, sessionguard.Scope{}); state != sessionguard.StateValid || replica {
			t.Errorf("right after the reconnect: %q, replica %v; want valid from the primary (fenced)", state, replica)
		}
		eventually(t, "the replica passes the reconnect's fence", func() bool {
			_, replica := check(t, s, false, live, sessionguard.Scope{})
			return replica
		})
	})

	t.Run("without a ReadPool: ReplicaStats all zero", func(t *testing.T) {
		s, err := pgstore.New(f.pool, pgstore.Config{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		mustValidate(t, s, live, sessionguard.Scope{})
		if st, err := s.Peek(ctx, live, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateValid {
			t.Fatalf("Peek = %q, %v", st.State, err)
		}
		if got := s.ReplicaStats(); got != (pgstore.ReplicaStats{}) {
			t.Errorf("ReplicaStats = %+v; want all zero", got)
		}
	})
}

// TestReplayWaitNegativeWithoutReadPool: Config.ReplayWait is unused
// without a ReadPool, but a negative one is refused there too.
func TestReplayWaitNegativeWithoutReadPool(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	if _, err := pgstore.New(pool, pgstore.Config{ReplayWait: -time.Second}); !errors.Is(err, pgstore.ErrInvalidArgument) {
		t.Errorf("New with a negative ReplayWait and no ReadPool = %v; want ErrInvalidArgument", err)
	}
	if _, err := pgstore.New(pool, pgstore.Config{ReplayWait: time.Millisecond}); err != nil {
		t.Errorf("New with a positive ReplayWait and no ReadPool = %v; want it accepted", err)
	}
}
