package pgstore_test

import (
	"strings"
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
//
// Two Stores, each over a pool of one connection, take turns: PgBouncer
// gives the second the server connection the first just released (it
// reuses the most recent one), where the first's statement is already
// prepared under the name the second prepares it by. (Eight concurrent
// workers through eight pooled connections clashed only now and then: 29
// checks of 400 in one run, none in another under -race.)
func TestDefaultModeBehindPgBouncerSaysWhy(t *testing.T) {
	t.Parallel()
	bc := pgtest.NewBounced(t)
	newStore := func() *pgstore.Store {
		t.Helper()
		cfg, err := pgxpool.ParseConfig(bc.ConnString) // pgx's defaults
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 1
		pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		store, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return store
	}
	first, second := newStore(), newStore()
	tenant := pgtest.CreateTenant(t, bc.Direct, "acme")
	f := fixture{pool: bc.Direct, store: first, user: pgtest.CreateUser(t, bc.Direct, "alice@acme.example", tenant), tenant: tenant}
	hash, _ := f.create(t, nil)

	const turns = 10
	var errs []error
	secondFailed := 0
	for range turns {
		for _, store := range []*pgstore.Store{first, second} {
			if _, err := store.Peek(t.Context(), hash, sessionguard.Scope{}); err != nil {
				errs = append(errs, err)
				if store == second {
					secondFailed++
				}
			}
		}
	}
	if len(errs) == 0 {
		t.Fatal("two pools in pgx's default mode taking turns through PgBouncer never clashed; the test needs them to")
	}
	t.Logf("%d of %d failed, e.g. %v", len(errs), 2*turns, errs[0])
	// README: "each of the second's 10 checks failed": the server connection
	// it is handed always holds the first's statement under the same name.
	if secondFailed != turns {
		t.Errorf("%d of the second pool's %d checks failed; want every one", secondFailed, turns)
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "QueryExecModeCacheDescribe") {
			t.Fatalf("error %q does not name the fix", err)
		}
	}
}
