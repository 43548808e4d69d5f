package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtemp"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// cancelDeadlineDelay is the DeadlineDelay README's "When a caller gives up"
// advises: long enough for PostgreSQL to act on a cancel request, short
// enough to bound how late a call returns when it cannot
// (TestCancelledCheckBehindPgBouncer).
const cancelDeadlineDelay = 500 * time.Millisecond

// TestCancelledCheckKeepsTheConnection: a check whose caller gives up while
// its statement runs (a client gone, a StoreTimeout passed) costs, with
// pgx's default context handling, the pool's connection: pgx gives up the
// socket, and the pool dials a new one (a new backend, its statements
// prepared again) for the next call, during an incident when the database
// can least afford it. With pgconn.CancelRequestContextWatcherHandler, as
// README's "The pool" advises, PostgreSQL is asked to cancel the statement
// and the connection goes back to the pool. The statements wait on a lock
// here, so that each is in flight when its caller gives up.
func TestCancelledCheckKeepsTheConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	hash, _ := f.create(t, nil)
	const cancelled = 3
	for _, tc := range []struct {
		name    string
		handler func(*pgconn.PgConn) ctxwatch.Handler // nil: pgx's default
		wantNew func(int64) bool
	}{
		{"pgx's default", nil, func(n int64) bool { return n >= cancelled }},
		{"cancel request", func(c *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelDeadlineDelay}
		}, func(n int64) bool { return n == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := f.pool.Config()
			cfg.MaxConns = 1
			if tc.handler != nil {
				cfg.ConnConfig.BuildContextWatcherHandler = tc.handler
			}
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			store, err := pgstore.New(pool, pgstore.Config{})
			if err != nil {
				t.Fatal(err)
			}
			mustValidate(t, store, hash, sessionguard.Scope{})
			before := pool.Stat().NewConnsCount()

			lock, err := f.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lock.Exec(ctx, "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			for range cancelled {
				// The pool's one connection (a new one after pgx gave the
				// last up), whose backend the Validate will wait in.
				c, err := pool.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pid := c.Conn().PgConn().PID()
				c.Release()
				cctx, cancel := context.WithCancel(ctx)
				go func() {
					defer cancel()
					for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
						var waits bool
						if err := f.pool.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_stat_activity
							WHERE pid = $1 AND wait_event_type = 'Lock'`, pid).Scan(&waits); err != nil || waits {
							return
						}
					}
				}()
				// The caller's end, whichever way pgx learned of it: a
				// cancelled statement's 57014 is the caller leaving, not an
				// outage (the Guard tells the two apart by this).
				if _, err := store.Validate(cctx, hash, sessionguard.Scope{}); !errors.Is(err, context.Canceled) {
					t.Errorf("Validate cancelled while waiting on the lock = %v, want context.Canceled", err)
				}
				cancel()
			}
			// Under pgx's default an abandoned statement's backend is
			// cancelled only as pgx closes the connection in the
			// background, and may still wait (one of three here); the
			// handler's cancel request ends each before the call returns.
			var left int
			if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&left); err != nil {
				t.Fatal(err)
			}
			if err := lock.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			mustValidate(t, store, hash, sessionguard.Scope{})
			n := pool.Stat().NewConnsCount() - before
			t.Logf("%d cancelled checks: %d new connections, %d backends still waiting", cancelled, n, left)
			if !tc.wantNew(n) || tc.handler != nil && left != 0 {
				t.Errorf("%d new connections and %d backends still waiting after %d cancelled checks", n, left, cancelled)
			}
		})
	}
}

// TestCancelledCheckBehindPgBouncer: behind PgBouncer 1.18, a cancel request
// does not end a statement still queued for a server connection (PgBouncer's
// pool full, as under an incident's load, or PAUSEd for a switchover). With
// CancelRequestContextWatcherHandler the call then returns only when its
// DeadlineDelay has run out, after the caller's deadline: a Guard's
// StoreTimeout becomes StoreTimeout + DeadlineDelay. README's "When a
// caller gives up" says so and keeps DeadlineDelay short.
func TestCancelledCheckBehindPgBouncer(t *testing.T) {
	t.Parallel()
	const deadline = 300 * time.Millisecond
	bc, bouncer := pgtest.NewPrivateBounced(t) // its pool: pgtemp's default 10 server connections
	store, err := pgstore.New(bc.Pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tenant := pgtest.CreateTenant(t, bc.Direct, "acme")
	f := fixture{pool: bc.Pool, store: store, user: pgtest.CreateUser(t, bc.Direct, "alice@acme.example", tenant), tenant: tenant}
	hash, _ := f.create(t, nil)

	holders, err := pgxpool.ParseConfig(bc.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	holders.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	holders.MaxConns = 10
	hold, err := pgxpool.NewWithConfig(t.Context(), holders)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	// Each way to queue a statement in PgBouncer returns what undoes it.
	queue := map[string]func(t *testing.T) (undo func()){
		"pool full": func(t *testing.T) func() {
			var txs []pgx.Tx
			undo := func() {
				for _, tx := range txs {
					_ = tx.Rollback(context.Background())
				}
			}
			for range holders.MaxConns {
				tx, err := hold.Begin(t.Context())
				if err == nil {
					txs = append(txs, tx)
					_, err = tx.Exec(t.Context(), "SELECT 1")
				}
				if err != nil {
					undo()
					t.Fatal(err)
				}
			}
			return undo
		},
		"paused": func(t *testing.T) func() {
			bouncerAdmin(t, bouncer, "PAUSE")
			return func() { bouncerAdmin(t, bouncer, "RESUME") }
		},
	}
	for _, tc := range []struct {
		queue         string
		deadlineDelay time.Duration // 0: pgx's default handler
		min, max      time.Duration // how long the call takes
	}{
		// The lower bounds keep a little slack below the deadline: a
		// socket deadline fired 5 ms before the context's in one CI run
		// (they are two timers).
		{"pool full", 0, deadline - 50*time.Millisecond, deadline + time.Second},
		{"pool full", 5 * time.Second, deadline + 4*time.Second, deadline + 7*time.Second},
		{"pool full", cancelDeadlineDelay, deadline + cancelDeadlineDelay - 100*time.Millisecond, deadline + cancelDeadlineDelay + 1500*time.Millisecond},
		{"paused", 0, deadline - 50*time.Millisecond, deadline + time.Second},
		{"paused", cancelDeadlineDelay, deadline + cancelDeadlineDelay - 100*time.Millisecond, deadline + cancelDeadlineDelay + 1500*time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%s, DeadlineDelay %v", tc.queue, tc.deadlineDelay), func(t *testing.T) {
			cfg := bc.Pool.Config()
			if tc.deadlineDelay > 0 {
				cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
					return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: tc.deadlineDelay}
				}
			}
			pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			s, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			mustValidate(t, s, hash, sessionguard.Scope{}) // the client connection is up

			undo := queue[tc.queue](t)
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			start := time.Now()
			st, err := s.Validate(ctx, hash, sessionguard.Scope{})
			took := time.Since(start)
			cancel()
			// Before the pool closes: pgx's close of a connection it gave
			// up sends a cancel request too, which would wait in the queue.
			undo()
			t.Logf("returned after %v: %v", took, err)
			if err == nil {
				t.Fatalf("Validate queued in PgBouncer = %q; want an error (fail closed)", st.State)
			}
			if took < tc.min || took > tc.max {
				t.Errorf("Validate returned after %v; want %v to %v", took, tc.min, tc.max)
			}
			mustValidate(t, s, hash, sessionguard.Scope{}) // and it recovers
		})
	}
}

// bouncerAdmin runs cmd on the bouncer's admin console.
func bouncerAdmin(t *testing.T, b *pgtemp.Bouncer, cmd string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(b.ConnString("pgbouncer"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol // all the console speaks
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgbouncer console: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, cmd); err != nil {
		t.Fatalf("pgbouncer console: %s: %v", cmd, err)
	}
}
