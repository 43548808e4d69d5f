package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtemp"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestReplicaLeftOnTheOldTimeline: a failover promotes standby B while the
// read replica S, a standby of the old primary too, had replayed more of
// the old primary's WAL than B. S cannot follow B (its history went past the
// fork), stays in recovery and keeps answering from the old primary's data,
// at WAL positions past everything B writes for a while. Its replay position
// is no proof that it replayed a revocation made on B: a revoke through the
// Store must not return as if S had it, and S's "valid" must not count.
func TestReplicaLeftOnTheOldTimeline(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	primary, primaryPool := pgtest.NewIsolatedServer(t)
	standby := func(name string) *pgtemp.Server {
		sb, err := primary.StartStandby(ctx, pgtemp.StandbyOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { _ = sb.Close() })
		return sb
	}
	failoverTarget, readReplica := standby("failover target"), standby("read replica")
	tenant := pgtest.CreateTenant(t, primaryPool, "acme")
	onPrimary, err := pgstore.New(primaryPool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{pool: primaryPool, store: onPrimary, user: pgtest.CreateUser(t, primaryPool, "alice@acme.example", tenant), tenant: tenant}
	hash, _ := f.create(t, nil)
	targetPool, replicaPool := pgtest.NewServerPool(t, failoverTarget), pgtest.NewServerPool(t, readReplica)
	waitReplayed(t, primaryPool, targetPool, replicaPool)

	// The failover target stops receiving; the read replica goes on, two
	// WAL segments further.
	if err := failoverTarget.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := primaryPool.Exec(ctx, "SELECT txid_current(), pg_switch_wal()"); err != nil {
			t.Fatal(err)
		}
	}
	waitReplayed(t, primaryPool, replicaPool)
	if err := primary.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := failoverTarget.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := failoverTarget.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	targetPool.Reset()

	store, err := pgstore.New(targetPool, pgstore.Config{ReadPool: replicaPool, ReplayWait: time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := store.Revoke(ctx, hash, sessionguard.ReasonLogout)
	if !ended {
		t.Fatalf("Revoke on the promoted standby = %v, %v; want the session ended", ended, err)
	}
	if !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Errorf("Revoke = %v; want ErrReplicaBehind: the read replica never replays it", err)
	}
	var replicaActive bool
	if err := replicaPool.QueryRow(ctx, "SELECT is_active FROM sessions WHERE session_token_hash = $1", hash).Scan(&replicaActive); err != nil || !replicaActive {
		t.Fatalf("the read replica's row: active %v, %v; the test needs it still active", replicaActive, err)
	}
	for name, check := range map[string]func(context.Context, string, sessionguard.Scope) (sessionguard.Status, error){
		"Peek": store.Peek, "Validate": store.Validate,
	} {
		if st, err := check(ctx, hash, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateRevoked {
			t.Errorf("%s after the revoke = %q, %v; want revoked", name, st.State, err)
		}
	}
}

// waitReplayed waits until every standby pool has replayed what the primary
// has written so far.
func waitReplayed(t *testing.T, primary *pgxpool.Pool, standbys ...*pgxpool.Pool) {
	t.Helper()
	var pos string
	if err := primary.QueryRow(t.Context(), "SELECT pg_current_wal_insert_lsn()::text").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	for _, sb := range standbys {
		eventually(t, "the standby replays", func() bool {
			var ok bool
			err := sb.QueryRow(t.Context(), "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", pos).Scan(&ok)
			return err == nil && ok
		})
	}
}

// TestReplicaCascadedThroughAFailover: the read replica is a cascaded
// standby of the failover target, so it follows the promoted standby onto
// the new timeline. Until it has made a restartpoint on that timeline its
// position proves nothing about a revocation there (it cannot be told from
// a replica left on the old timeline by an unprivileged role): the revoke
// returns ErrReplicaBehind and its "valid" does not count. A CHECKPOINT on
// the new primary, then on the standby, brings it back at once, as
// README's failover steps say.
func TestReplicaCascadedThroughAFailover(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A backup taken from a standby (the cascaded one's) needs full-page
	// writes, which pgtemp turns off.
	primary, primaryPool := pgtest.NewIsolatedServerWith(t, pgtemp.Options{Settings: map[string]string{"full_page_writes": "on"}})
	if _, err := primaryPool.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	target, err := primary.StartStandby(ctx, pgtemp.StandbyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = target.Close() })
	cascaded, err := target.StartStandby(ctx, pgtemp.StandbyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cascaded.Close() })
	tenant := pgtest.CreateTenant(t, primaryPool, "acme")
	onPrimary, err := pgstore.New(primaryPool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{pool: primaryPool, store: onPrimary, user: pgtest.CreateUser(t, primaryPool, "alice@acme.example", tenant), tenant: tenant}
	revoked, _ := f.create(t, nil)
	live, _ := f.create(t, nil)
	targetPool, replicaPool := pgtest.NewServerPool(t, target), pgtest.NewServerPool(t, cascaded)
	waitReplayed(t, primaryPool, targetPool, replicaPool)

	if err := primary.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := target.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.New(targetPool, pgstore.Config{ReadPool: replicaPool, ReplayWait: time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if ended, err := store.Revoke(ctx, revoked, sessionguard.ReasonLogout); !ended || !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Fatalf("Revoke before the standby's restartpoint on the new timeline = %v, %v; want true, ErrReplicaBehind", ended, err)
	}
	peek := func(hash string) (sessionguard.State, bool) {
		t.Helper()
		before := store.ReplicaStats().Served
		st, err := store.Peek(ctx, hash, sessionguard.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		return st.State, store.ReplicaStats().Served > before
	}
	if state, _ := peek(revoked); state != sessionguard.StateRevoked {
		t.Fatalf("the revoked session = %q; want revoked", state)
	}
	if state, replica := peek(live); state != sessionguard.StateValid || replica {
		t.Fatalf("the live session = %q, from the replica %v; want valid from the primary", state, replica)
	}

	for _, p := range []*pgxpool.Pool{targetPool, replicaPool} {
		waitReplayed(t, targetPool, replicaPool)
		if _, err := p.Exec(ctx, "CHECKPOINT"); err != nil {
			t.Fatal(err)
		}
	}
	if state, replica := peek(live); state != sessionguard.StateValid || !replica {
		t.Fatalf("after the checkpoints: the live session = %q, from the replica %v; want valid from the replica", state, replica)
	}
	if state, _ := peek(revoked); state != sessionguard.StateRevoked {
		t.Fatalf("after the checkpoints: the revoked session = %q; want revoked", state)
	}
	if _, err := store.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange); err != nil {
		t.Fatalf("RevokeAll once the standby is on the new timeline = %v; want it replayed in time", err)
	}
	if state, _ := peek(live); state != sessionguard.StateRevoked {
		t.Fatalf("after RevokeAll: %q; want revoked", state)
	}
}
