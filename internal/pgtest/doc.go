// Package pgtest gives every test its own PostgreSQL database, so database
// tests can run in parallel without truncating shared tables.
//
// Each database is cloned (CREATE DATABASE … TEMPLATE) from a template that
// is built once per server: the fixture tables (FixtureSQL) and, for NewPool,
// every sessionguard migration. Cloning takes milliseconds; migrating per
// test would not. Template names carry a hash of their SQL, so a changed
// migration gets a new template instead of a stale one.
//
// By default the databases live on one throwaway server (internal/pgtemp)
// started on first use and removed by Main. When DATABASE_URL is set they
// are created on that server instead; pgtest drops only the databases it
// created there, keeps its templates for the next run, and keeps a failed
// test's database for inspection, logging its name.
//
// A package that uses pgtest must call Main from TestMain, or the shared
// server's directory is left behind:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		pool := pgtest.NewPool(t)
//		uid := pgtest.CreateUser(t, pool, "a@example.com", 0)
//		…
//	}
//
// NewBounced and NewBarePoolBounced give a test its database through a
// PgBouncer in transaction-pooling mode (internal/pgtemp.StartBouncer), one
// per test binary in front of the same server, and directly as well.
//
// When PostgreSQL cannot be had, tests fail (never skip) with a message
// saying how to install it; the same for PgBouncer.
package pgtest
