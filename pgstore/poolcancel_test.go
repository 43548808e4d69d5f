package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

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
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
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
				if _, err := store.Validate(cctx, hash, sessionguard.Scope{}); err == nil {
					t.Error("a Validate cancelled while waiting on the lock succeeded")
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
