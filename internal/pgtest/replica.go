package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtemp"
)

// Replicated is a private primary with a streaming hot standby of it, each
// with a pool on its "postgres" database, which holds the fixture tables and
// every migration.
type Replicated struct {
	Primary, Standby         *pgtemp.Server
	PrimaryPool, StandbyPool *pgxpool.Pool
}

// NewReplicated starts a private primary (NewIsolatedServer) and a standby
// that holds every transaction back by applyDelay before replaying it. Both
// are removed when t ends. Fault tests may stop, restart and promote them.
func NewReplicated(t testing.TB, applyDelay time.Duration) Replicated {
	t.Helper()
	primary, pool := NewIsolatedServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), sharedTimeout)
	defer cancel()
	standby, err := primary.StartStandby(ctx, pgtemp.StandbyOptions{ApplyDelay: applyDelay})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := standby.Close(); err != nil {
			t.Errorf("pgtest: close standby: %v", err)
		}
	})
	return Replicated{Primary: primary, Standby: standby, PrimaryPool: pool, StandbyPool: NewServerPool(t, standby)}
}

// NewServerPool opens a pool on srv's "postgres" database, closed when t
// ends (before the servers are removed).
func NewServerPool(t testing.TB, srv *pgtemp.Server) *pgxpool.Pool {
	t.Helper()
	return NewPoolFromConnString(t, srv.ConnString("postgres"))
}

// NewPoolFromConnString opens a pool of the tests' size on connString,
// closed when t ends.
func NewPoolFromConnString(t testing.TB, connString string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.MaxConns = testPoolMaxConns
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
