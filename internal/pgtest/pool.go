package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// NewPool returns a pool on a brand-new database holding the fixture tables
// (users, tenants) and every sessionguard migration. The pool is closed and
// the database dropped when t ends; see the package doc for DATABASE_URL.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return newDatabase(t, migratedOnce)
}

// NewBarePool is NewPool without the sessionguard migrations: only the
// fixture tables. For tests that apply the seed file by hand or test
// schema.Migrate itself.
func NewBarePool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return newDatabase(t, bareOnce)
}

// NewEmptyPool returns a pool on a brand-new database with no tables at all
// (cloned from template0, so nothing added to template1 leaks in).
func NewEmptyPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return newDatabase(t, func() (string, error) { return "template0", nil })
}

// newDatabase clones the template that tpl ensures into a database for t.
func newDatabase(t testing.TB, tpl func() (string, error)) *pgxpool.Pool {
	t.Helper()
	sh := mustShared(t)
	name := createDatabase(t, sh, tpl)
	return openPool(t, sh.base, name)
}

// createDatabase clones the template that tpl ensures into a new database
// and drops it when t ends (kept for inspection on a DATABASE_URL server if
// t failed).
func createDatabase(t testing.TB, sh *shared, tpl func() (string, error)) string {
	t.Helper()
	tplName, err := tpl()
	if err != nil {
		t.Fatal(err)
	}
	name := databaseName(t)
	if _, err := sh.admin.Exec(t.Context(), "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(tplName)); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() && sh.external {
			t.Logf("pgtest: kept database %s for inspection because the test failed", name)
			return
		}
		dropDatabase(t, sh, name)
	})
	return name
}

// openPool opens a pool of base's settings on database name, closed when t
// ends (before the database is dropped: cleanups run last-in, first-out).
func openPool(t testing.TB, base *pgxpool.Config, name string) *pgxpool.Pool {
	t.Helper()
	cfg := base.Copy()
	cfg.ConnConfig.Database = name
	cfg.MaxConns = testPoolMaxConns
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("pgtest: pool for %s: %v", name, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// dropDatabase drops name, disconnecting anything the test left connected.
func dropDatabase(t testing.TB, sh *shared, name string) {
	t.Helper()
	// t.Context is already done during Cleanup.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := sh.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// databaseName is "pgtest_<test name>_<random>": the test name makes a kept
// database easy to trace back, the random part makes it unique across
// parallel tests and test binaries.
func databaseName(t testing.TB) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		if b.Len() >= 32 {
			break
		}
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	var rnd [5]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails
	return "pgtest_" + b.String() + "_" + hex.EncodeToString(rnd[:])
}
