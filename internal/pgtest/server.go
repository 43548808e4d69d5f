package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtemp"
	"github.com/sessionguard/sessionguard/schema"
)

// Server returns the shared throwaway server, for tests that need its
// connection details. It fails t when DATABASE_URL is set, because then
// there is no server this binary owns. Never stop it: other tests are using
// it. Tests that take the database away use NewIsolatedServer.
func Server(t testing.TB) *pgtemp.Server {
	t.Helper()
	sh := mustShared(t)
	if sh.external {
		t.Fatal("pgtest: Server: DATABASE_URL is set, so this test binary owns no server; use NewIsolatedServer")
	}
	return sh.srv
}

// NewIsolatedServer starts a private server for t alone, with the fixture
// tables and every migration in its "postgres" database, and returns it with
// a pool on that database. Fault tests may Stop and Restart it freely. It
// needs local PostgreSQL binaries even when DATABASE_URL is set. The pool is
// closed and the server removed when t ends. After a Restart, connections
// the pool held are dead; pool.Reset drops them.
func NewIsolatedServer(t testing.TB) (*pgtemp.Server, *pgxpool.Pool) {
	t.Helper()
	return NewIsolatedServerWith(t, pgtemp.Options{})
}

// NewIsolatedServerWith is NewIsolatedServer with server options, for tests
// that need other settings (a large table's shared_buffers, say).
func NewIsolatedServerWith(t testing.TB, opts pgtemp.Options) (*pgtemp.Server, *pgxpool.Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), sharedTimeout)
	defer cancel()
	srv, err := pgtemp.Start(ctx, opts)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("pgtest: close isolated server: %v", err)
		}
	})

	cfg, err := pgxpool.ParseConfig(srv.ConnString("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.MaxConns = testPoolMaxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close) // runs before srv.Close
	if _, err := pool.Exec(ctx, FixtureSQL); err != nil {
		t.Fatalf("pgtest: fixture: %v", err)
	}
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("pgtest: migrate: %v", err)
	}
	return srv, pool
}
