package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtemp"
)

// shared is the server every test database of this test binary lives on.
type shared struct {
	srv      *pgtemp.Server  // nil when DATABASE_URL is set: we do not own that server
	external bool            // DATABASE_URL is in use
	dsn      string          // connects to the maintenance database
	base     *pgxpool.Config // dsn parsed; copied per test database
	admin    *pgxpool.Pool   // maintenance connections: CREATE and DROP DATABASE, template locks
}

// Pool sizes. Test databases get a modest pool so that many parallel tests
// (and several test binaries on one DATABASE_URL server) stay well under
// max_connections.
const (
	testPoolMaxConns  = 8
	adminPoolMaxConns = 4
)

// sharedTimeout bounds starting the shared server and building a template.
const sharedTimeout = 2 * time.Minute

var (
	sharedStarted atomic.Bool // getShared has been called, so Main must clean up
	getShared     = sync.OnceValues(startShared)
)

// Main runs the package's tests, then runs after (in order: for what the
// package's own TestMain made, such as a built binary's directory), stops
// and removes the shared server if one was started, and exits. Call it from
// TestMain. os.Exit skips deferred calls, hence after.
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	if err := closeBouncer(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if sharedStarted.Load() {
		if sh, err := getShared(); err == nil {
			if err := sh.close(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}
	}
	os.Exit(code)
}

// startShared connects to DATABASE_URL or starts a throwaway server. It is
// not tied to any test's context: the first test to ask must not decide how
// long the server lives.
func startShared() (*shared, error) {
	sharedStarted.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()

	sh := &shared{}
	dsn := os.Getenv("DATABASE_URL")
	if dsn != "" {
		sh.external = true
	} else {
		srv, err := pgtemp.Start(ctx, pgtemp.Options{})
		if err != nil {
			return nil, err // pgtemp errors carry their own prefix
		}
		sh.srv = srv
		dsn = srv.ConnString("postgres")
	}
	cfg, err := pgxpool.ParseConfig(dsn) // its errors redact any password
	if err != nil {
		sh.close()
		return nil, fmt.Errorf("pgtest: DATABASE_URL: %w", err)
	}
	sh.dsn, sh.base = dsn, cfg
	adminCfg := cfg.Copy()
	adminCfg.MaxConns = adminPoolMaxConns
	sh.admin, err = pgxpool.NewWithConfig(ctx, adminCfg)
	if err == nil {
		err = sh.admin.Ping(ctx)
	}
	if err != nil {
		sh.close()
		return nil, fmt.Errorf("pgtest: connect to maintenance database: %w", err)
	}
	return sh, nil
}

// close releases the maintenance pool and removes the server if we own it.
func (sh *shared) close() error {
	if sh.admin != nil {
		sh.admin.Close()
	}
	if sh.srv != nil {
		if err := sh.srv.Close(); err != nil {
			return fmt.Errorf("pgtest: close shared server: %w", err)
		}
	}
	return nil
}

// mustShared returns the shared server, failing t (never skipping: a missing
// database must not look like a passing run) when it cannot be had.
func mustShared(t testing.TB) *shared {
	t.Helper()
	sh, err := getShared()
	if err != nil {
		t.Fatal(err)
	}
	return sh
}
