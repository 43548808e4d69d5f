package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/schema"
)

// templateVersion changes when the way templates are built changes, so
// servers behind DATABASE_URL get new templates rather than old ones.
const templateVersion = "pgtest template v1\n"

// templateLockKey is the pg_advisory_lock key that serialises template
// builds across test binaries sharing one server ("go test ./..." runs
// packages in parallel). Its value is arbitrary: "SGpgtest" in ASCII.
const templateLockKey int64 = 0x5347_7067_7465_7374

// A template is a database that test databases are cloned from.
type template struct {
	name  string                                           // includes a hash of everything build runs
	build func(ctx context.Context, p *pgxpool.Pool) error // fills a new, empty database
}

// bareTemplate has only the fixture tables.
func bareTemplate() template {
	return template{
		name: templateName("bare", FixtureSQL),
		build: func(ctx context.Context, p *pgxpool.Pool) error {
			_, err := p.Exec(ctx, FixtureSQL)
			return err
		},
	}
}

// migratedTemplate has the fixture tables and every sessionguard migration.
func migratedTemplate() template {
	parts := []string{FixtureSQL}
	for _, m := range schema.Migrations() {
		parts = append(parts, fmt.Sprintf("%d %s\n%s", m.Version, m.Name, m.SQL))
	}
	return template{
		name: templateName("mig", parts...),
		build: func(ctx context.Context, p *pgxpool.Pool) error {
			if _, err := p.Exec(ctx, FixtureSQL); err != nil {
				return err
			}
			return schema.Migrate(ctx, p)
		},
	}
}

// templateName is "pgtest_tpl_<kind>_<hash>", the hash covering sql.
func templateName(kind string, sql ...string) string {
	h := sha256.New()
	h.Write([]byte(templateVersion))
	for _, s := range sql {
		fmt.Fprintf(h, "%d\n%s", len(s), s) // length-prefixed: parts cannot run together
	}
	return "pgtest_tpl_" + kind + "_" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Templates are ensured once per test binary; ensureTemplate makes that
// safe across binaries too.
var (
	bareOnce     = sync.OnceValues(func() (string, error) { return ensureShared(bareTemplate()) })
	migratedOnce = sync.OnceValues(func() (string, error) { return ensureShared(migratedTemplate()) })
)

func ensureShared(tpl template) (string, error) {
	sh, err := getShared()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	return tpl.name, ensureTemplate(ctx, sh, tpl)
}

// ensureTemplate creates tpl on sh's server unless it exists. Under an
// advisory lock it builds into "<name>_build" and renames that only when
// complete, so a crashed build never leaves a half-built template under the
// real name; a leftover build database is dropped and rebuilt.
func ensureTemplate(ctx context.Context, sh *shared, tpl template) error {
	if ok, err := databaseExists(ctx, sh.admin, tpl.name); err != nil || ok {
		return err
	}

	conn, err := sh.admin.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgtest: template %s: %w", tpl.name, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return fmt.Errorf("pgtest: template %s: lock: %w", tpl.name, err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx has ended. If this
		// fails the connection is in doubt, so it is closed, which unlocks.
		uctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", templateLockKey); err != nil {
			conn.Conn().Close(uctx)
		}
	}()

	if ok, err := databaseExists(ctx, conn, tpl.name); err != nil || ok {
		return err // another binary built it while we waited for the lock
	}
	if err := buildTemplate(ctx, sh, conn, tpl); err != nil {
		return fmt.Errorf("pgtest: template %s: %w", tpl.name, err)
	}
	return nil
}

// buildTemplate does the work of ensureTemplate while the lock is held.
func buildTemplate(ctx context.Context, sh *shared, conn *pgxpool.Conn, tpl template) error {
	build := tpl.name + "_build"
	stmts := []string{
		"DROP DATABASE IF EXISTS " + ident(build) + " WITH (FORCE)",
		"CREATE DATABASE " + ident(build) + " TEMPLATE template0",
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return err
		}
	}

	cfg := sh.base.Copy()
	cfg.ConnConfig.Database = build
	cfg.MaxConns = 2
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	err = tpl.build(ctx, p)
	p.Close() // RENAME needs the database to have no connections
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}

	// ALLOW_CONNECTIONS false keeps stray connections out: one would make
	// every CREATE DATABASE … TEMPLATE fail.
	stmts = []string{
		"ALTER DATABASE " + ident(build) + " WITH ALLOW_CONNECTIONS false",
		"ALTER DATABASE " + ident(build) + " RENAME TO " + ident(tpl.name),
		"ALTER DATABASE " + ident(tpl.name) + " WITH IS_TEMPLATE true",
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// querier is what databaseExists needs; both a pool and a connection have it.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// databaseExists reports whether a database named name exists.
func databaseExists(ctx context.Context, q querier, name string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("pgtest: look up database %s: %w", name, err)
	}
	return ok, nil
}

// ident quotes a database name for SQL.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
