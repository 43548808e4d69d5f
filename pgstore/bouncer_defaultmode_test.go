package pgstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestDefaultModeBehindPgBouncerSaysWhy: a pool left in pgx's default mode
// (named prepared statements) behind PgBouncer in transaction mode works
// while one request runs at a time and fails once requests share server
// connections, the first time in production. The error the adopter then
// logs must name the cause and the fix, not only PostgreSQL's
// `prepared statement "stmtcache_…" already exists`.
func TestDefaultModeBehindPgBouncerSaysWhy(t *testing.T) {
	t.Parallel()
	bc := pgtest.NewBounced(t)
	cfg, err := pgxpool.ParseConfig(bc.ConnString) // pgx's defaults
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tenant := pgtest.CreateTenant(t, bc.Direct, "acme")
	f := fixture{pool: bc.Direct, store: store, user: pgtest.CreateUser(t, bc.Direct, "alice@acme.example", tenant), tenant: tenant}
	hash, _ := f.create(t, nil)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := store.Peek(context.Background(), hash, sessionguard.Scope{}); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) == 0 {
		t.Fatal("400 concurrent checks through PgBouncer in pgx's default mode all passed; the test needs them to clash")
	}
	t.Logf("%d of 400 failed, e.g. %v", len(errs), errs[0])
	for _, err := range errs {
		if !strings.Contains(err.Error(), "QueryExecModeCacheDescribe") {
			t.Fatalf("error %q does not name the fix", err)
		}
	}
}
