package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// newBouncedFixture is newFixture behind PgBouncer in transaction-pooling
// mode: f.pool, and so f.store, go through it. bc.Direct reaches the same
// database straight.
func newBouncedFixture(t *testing.T, cfg pgstore.Config) (fixture, pgtest.Bounced) {
	t.Helper()
	bc := pgtest.NewBounced(t)
	store, err := pgstore.New(bc.Pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tenant := pgtest.CreateTenant(t, bc.Pool, "acme")
	f := fixture{pool: bc.Pool, store: store, user: pgtest.CreateUser(t, bc.Pool, "alice@acme.example", tenant), tenant: tenant}
	return f, bc
}

// Through PgBouncer 1.18 in transaction pooling, pgx's default mode
// (cache_statement: named prepared statements, prepared once per client
// connection) breaks as soon as two clients take turns on one server
// connection; cache_describe, the mode README's "Behind PgBouncer" names,
// uses only the unnamed statement and works, as do exec and simple_protocol.
func TestQueryExecModesBehindPgBouncer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode     pgx.QueryExecMode
		wantFail bool
	}{
		{pgx.QueryExecModeCacheStatement, true}, // pgx's default
		{pgx.QueryExecModeCacheDescribe, false}, // the documented choice
		// describe_exec is left out: it describes and executes in two
		// transactions, which PgBouncer may give different server
		// connections (pgx's documentation advises against it here).
		{pgx.QueryExecModeExec, false},
		{pgx.QueryExecModeSimpleProtocol, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			bc := pgtest.NewBounced(t)
			cfg, err := pgx.ParseConfig(bc.ConnString)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
				t.Fatalf("pgx's default mode is %v now; this test assumes cache_statement", cfg.DefaultQueryExecMode)
			}
			cfg.DefaultQueryExecMode = tt.mode
			var clients []*pgx.Conn
			for range 3 {
				c, err := pgx.ConnectConfig(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close(context.Background())
				clients = append(clients, c)
			}
			// The clients take turns, one statement each: PgBouncer hands
			// each the server connection the one before just released.
			var errs []error
			for i := range 30 {
				var got int64
				err := clients[i%len(clients)].QueryRow(ctx, "SELECT $1::bigint + 1", int64(i)).Scan(&got)
				if err == nil && got != int64(i)+1 {
					err = errors.New("wrong answer")
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			if !tt.wantFail {
				if len(errs) > 0 {
					t.Fatalf("%d of 30 statements failed, first: %v", len(errs), errs[0])
				}
				return
			}
			var pgErr *pgconn.PgError
			if len(errs) == 0 || !errors.As(errs[0], &pgErr) || (pgErr.Code != "42P05" && pgErr.Code != "26000") {
				t.Fatalf("errors %v; want prepared statement conflicts (42P05 already exists / 26000 does not exist)", errs)
			}
			t.Logf("%d of 30 statements failed, e.g. %v", len(errs), errs[0])
		})
	}
}

// Every Store operation works through PgBouncer, also with many requests
// sharing few server connections.
func TestStoreBehindPgBouncer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, _ := newBouncedFixture(t, pgstore.Config{Logger: quiet})

	hash, info := f.create(t, nil)
	other, _ := f.create(t, func(n *sessionguard.NewSession) {
		n.AppType, n.TenantID = sessionguard.TenantApp, f.tenant
	})
	t.Run("validate and peek", func(t *testing.T) {
		for name, check := range map[string]func(context.Context, string, sessionguard.Scope) (sessionguard.Status, error){
			"Validate": f.store.Validate, "Peek": f.store.Peek,
		} {
			st, err := check(ctx, hash, sessionguard.Scope{AppType: sessionguard.ControlPanel})
			if err != nil || st.State != sessionguard.StateValid || st.SessionID != info.ID {
				t.Errorf("%s = %+v, %v; want valid", name, st, err)
			}
			st, err = check(ctx, hash, sessionguard.Scope{AppType: sessionguard.TenantApp})
			if err != nil || st.State != sessionguard.StateWrongApp {
				t.Errorf("%s in the wrong app = %q, %v; want wrong_app", name, st.State, err)
			}
		}
	})
	t.Run("touch", func(t *testing.T) {
		f.age(t, hash, 2*time.Minute, 0)
		before := f.row(t, hash).LastActivity
		if st, err := f.store.Peek(ctx, hash, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateValid {
			t.Fatalf("Peek = %q, %v", st.State, err)
		}
		if !f.row(t, hash).LastActivity.Equal(before) {
			t.Fatal("Peek touched the session")
		}
		if st, err := f.store.Validate(ctx, hash, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateValid {
			t.Fatalf("Validate = %q, %v", st.State, err)
		}
		if !f.row(t, hash).LastActivity.After(before) {
			t.Fatal("Validate did not touch a session last touched 2 minutes ago")
		}
	})
	t.Run("many requests on few server connections", func(t *testing.T) {
		vs := make([]validator, 8)
		for i := range vs {
			vs[i] = f.store
		}
		for _, st := range hammer(t, vs, hash, 8, 40) {
			if st.State != sessionguard.StateValid {
				t.Fatalf("state %q under load; want valid", st.State)
			}
		}
	})
	t.Run("list", func(t *testing.T) {
		list, err := f.store.ListActive(ctx, f.user)
		if err != nil || len(list) != 2 {
			t.Fatalf("ListActive = %d sessions, %v; want 2", len(list), err)
		}
	})
	t.Run("revoke", func(t *testing.T) {
		mustRevoke(t, f, hash, sessionguard.ReasonLogout)
		st, err := f.store.Validate(ctx, hash, sessionguard.Scope{})
		if err != nil || st.State != sessionguard.StateRevoked || st.EndReason != sessionguard.ReasonLogout {
			t.Fatalf("Validate after Revoke = %q (%q), %v; want revoked (logout)", st.State, st.EndReason, err)
		}
		if n, err := f.store.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange); err != nil || n != 1 {
			t.Fatalf("RevokeAll = %d, %v; want the other session", n, err)
		}
		if st, err := f.store.Peek(ctx, other, sessionguard.Scope{}); err != nil || st.EndReason != sessionguard.ReasonPasswordChange {
			t.Fatalf("Peek after RevokeAll = %q (%q), %v", st.State, st.EndReason, err)
		}
	})
	t.Run("expiry found by validate", func(t *testing.T) {
		h, _ := f.create(t, nil)
		f.age(t, h, 5*time.Hour, 0)
		st, err := f.store.Validate(ctx, h, sessionguard.Scope{})
		if err != nil || st.State != sessionguard.StateIdle || !st.EndedNow {
			t.Fatalf("Validate of an idle session = %q (ended now %v), %v", st.State, st.EndedNow, err)
		}
		if r := f.row(t, h); r.Active || r.reason() != sessionguard.ReasonIdleTimeout {
			t.Fatalf("row = active %v, reason %q; want ended by idle_timeout", r.Active, r.reason())
		}
	})
}

// scs's session data works through PgBouncer, and goes with the session.
func TestSCSStoreBehindPgBouncer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, _ := newBouncedFixture(t, pgstore.Config{Logger: quiet})
	s := newSCSStore(t, f)
	later := time.Now().Add(time.Hour)

	anon := newSCSToken(t)
	mustCommit(t, s, anon.key, []byte("anonymous"), later)
	signedIn := newSCSToken(t)
	f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = signedIn.hash })
	mustCommit(t, s, signedIn.key, []byte("flash"), later)
	for key, want := range map[string]string{anon.key: "anonymous", signedIn.key: "flash"} {
		if b, found := findOK(t, s, key); !found || !bytes.Equal(b, []byte(want)) {
			t.Fatalf("Find = %q, %v; want %q", b, found, want)
		}
	}
	all, err := s.AllCtx(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("All = %d entries, %v; want 2", len(all), err)
	}

	mustRevoke(t, f, signedIn.hash, sessionguard.ReasonLogout)
	if _, found := findOK(t, s, signedIn.key); found || f.dataRows(t, signedIn.hash) != 0 {
		t.Fatal("the data of a revoked session is still there")
	}
	if err := s.DeleteCtx(ctx, anon.key); err != nil {
		t.Fatal(err)
	}
	if _, found := findOK(t, s, anon.key); found {
		t.Fatal("Find after Delete found the data")
	}
	mustCommit(t, s, anon.key, []byte("stale"), time.Now().Add(-time.Second))
	if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
}

// Cleaners through PgBouncer take turns by their transaction-scoped lock.
func TestCleanerBehindPgBouncer(t *testing.T) {
	t.Parallel()
	t.Run("take turns", func(t *testing.T) {
		t.Parallel()
		f, _ := newBouncedFixture(t, pgstore.Config{Logger: quiet})
		testCleanersTakeTurns(t, f.pool)
	})
	t.Run("skip while locked", func(t *testing.T) {
		t.Parallel()
		f, _ := newBouncedFixture(t, pgstore.Config{Logger: quiet})
		testCleanerSkipsWhileLocked(t, f, f.pool)
	})
}

// The Cache's listener needs a session. Pointed at the transaction pooler,
// it says so (ErrListenerNoSession, logged as an error) and the cache stays
// a pass-through; given the direct connection, it serves and is evicted by
// revocations made through the pooler.
func TestCacheBehindPgBouncer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("listener through the pooler", func(t *testing.T) {
		t.Parallel()
		f, _ := newBouncedFixture(t, pgstore.Config{Logger: quiet})
		var buf syncBuffer
		c := newCache(t, f.store, pgstore.CacheConfig{
			Logger:              slog.New(slog.NewTextHandler(&buf, nil)),
			HealthCheckInterval: 100 * time.Millisecond,
			MaxReconnectDelay:   100 * time.Millisecond,
		})
		runCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = c.Run(runCtx) })
		defer wg.Wait()
		defer cancel()

		eventually(t, "the listener reports it has no session", func() bool {
			return buf.contains(pgstore.ErrListenerNoSession.Error()) && buf.contains("level=ERROR")
		})
		if c.Listening() {
			t.Fatal("the cache serves from memory without a working listener")
		}
		hash, _ := f.create(t, nil)
		mustValidate(t, c, hash, sessionguard.Scope{})
		if _, wasHit := hit(t, c, hash); wasHit {
			t.Fatal("answered from memory without a working listener")
		}
	})

	t.Run("listener direct", func(t *testing.T) {
		t.Parallel()
		f, bc := newBouncedFixture(t, pgstore.Config{Logger: quiet})
		c := newCache(t, f.store, pgstore.CacheConfig{ListenConnString: bc.DirectConnString})
		runCache(t, c)
		hash, _ := f.create(t, nil)
		mustValidate(t, c, hash, sessionguard.Scope{})
		if _, wasHit := hit(t, c, hash); !wasHit {
			t.Fatal("not answered from memory with a direct listener")
		}
		// Revoked by another Store through the pooler, as another instance
		// would: the notification reaches the direct listener.
		otherInstance, err := pgstore.New(bc.Pool, pgstore.Config{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := otherInstance.Revoke(ctx, hash, sessionguard.ReasonAdminRevoke); err != nil || !ok {
			t.Fatalf("Revoke = %v, %v", ok, err)
		}
		eventually(t, "the revocation evicts the session", func() bool { return c.Stats().Entries == 0 })
		if st, wasHit := hit(t, c, hash); wasHit || st.State != sessionguard.StateRevoked {
			t.Fatalf("after the revoke: hit=%v state=%q; want the database's revoked", wasHit, st.State)
		}
	})
}
