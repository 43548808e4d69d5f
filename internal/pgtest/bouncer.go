package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtemp"
)

// Bounced is one test's brand-new database, reached both through the shared
// PgBouncer (transaction pooling, as in production) and directly.
type Bounced struct {
	// Pool goes through PgBouncer, configured as README's "Behind PgBouncer"
	// says: pgx's QueryExecModeCacheDescribe, no protocol-level prepared
	// statements.
	Pool *pgxpool.Pool
	// ConnString reaches the database through PgBouncer; parsed as is, it
	// has pgx's defaults (named prepared statements).
	ConnString string
	// Direct is a pool straight to PostgreSQL, on the same database.
	Direct *pgxpool.Pool
	// DirectConnString reaches the database straight, e.g. for a listener.
	DirectConnString string
}

// NewBounced is NewPool behind PgBouncer: a database with the fixture tables
// and every migration. Pools are closed and the database dropped when t ends.
// A missing pgbouncer fails the test (never skips it).
func NewBounced(t testing.TB) Bounced {
	t.Helper()
	return newBounced(t, migratedOnce)
}

// NewBarePoolBounced is NewBarePool behind PgBouncer: only the fixture
// tables, for tests of schema.Migrate.
func NewBarePoolBounced(t testing.TB) Bounced {
	t.Helper()
	return newBounced(t, bareOnce)
}

func newBounced(t testing.TB, tpl func() (string, error)) Bounced {
	t.Helper()
	sh := mustShared(t)
	b, err := getBouncer()
	if err != nil {
		t.Fatal(err)
	}
	return bounced(t, sh, b, createDatabase(t, sh, tpl))
}

// bounced opens the pools of a Bounced on database name through b.
func bounced(t testing.TB, sh *shared, b *pgtemp.Bouncer, name string) Bounced {
	t.Helper()
	bc := Bounced{ConnString: b.ConnString(name), DirectConnString: withDatabase(sh.dsn, name)}
	bc.Direct = openPool(t, sh.base, name)

	cfg, err := pgxpool.ParseConfig(bc.ConnString)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	bc.Pool = openPool(t, cfg, name)
	return bc
}

// NewPrivateBounced is NewBounced through a PgBouncer of t's own, which t
// may pause, reconnect, reconfigure (its admin console is database
// "pgbouncer") or restart without disturbing other tests. It is closed when
// t ends.
func NewPrivateBounced(t testing.TB) (Bounced, *pgtemp.Bouncer) {
	t.Helper()
	sh := mustShared(t)
	ctx, cancel := context.WithTimeout(t.Context(), sharedTimeout)
	defer cancel()
	b, err := pgtemp.StartBouncer(ctx, &sh.base.ConnConfig.Config, pgtemp.BouncerOptions{})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return bounced(t, sh, b, createDatabase(t, sh, migratedOnce)), b
}

var (
	bouncerStarted atomic.Bool
	getBouncer     = sync.OnceValues(startBouncer)
)

// startBouncer starts the PgBouncer every Bounced of this test binary goes
// through, in front of the shared server (or DATABASE_URL's).
func startBouncer() (*pgtemp.Bouncer, error) {
	bouncerStarted.Store(true)
	sh, err := getShared()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	b, err := pgtemp.StartBouncer(ctx, &sh.base.ConnConfig.Config, pgtemp.BouncerOptions{})
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return b, nil
}

// closeBouncer stops the shared bouncer if one was started.
func closeBouncer() error {
	if !bouncerStarted.Load() {
		return nil
	}
	b, err := getBouncer()
	if err != nil {
		return nil
	}
	return b.Close()
}

// withDatabase returns dsn (a URL or keyword/value string) naming database name.
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	// In a keyword/value string the last occurrence of a keyword wins.
	return dsn + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name) + "'"
}
