package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/sessionguard/sessionguard/internal/pgtemp"
)

// The demo's own parts, which an application replaces with its own: a
// throwaway PostgreSQL server, the users and tenants tables, the demo
// accounts and the start page that lists them. The wiring to copy is in the
// other files.

// openThrowaway starts a throwaway PostgreSQL server from the installed
// binaries, for `go run ./example` without DATABASE_URL. Demo only: an
// application connects to its own database.
func openThrowaway(ctx context.Context, log *slog.Logger, stdout io.Writer) (*database, error) {
	fmt.Fprintln(stdout, "DATABASE_URL is not set: starting a throwaway PostgreSQL server…")
	srv, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		return nil, err // ErrNoPostgres says how to install it
	}
	pc, err := pgxpool.ParseConfig(srv.ConnString("postgres"))
	if err != nil {
		return nil, errors.Join(err, srv.Close())
	}
	db, err := connect(ctx, pc, log, "throwaway PostgreSQL in "+srv.Dir()+" (removed on exit)", srv.Close)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("connect to the throwaway server: %w", err), srv.Close())
	}
	return db, nil
}

// tablesSQL creates the application tables that the sessions table of
// migration 022 references. In a real application these are the
// application's own; sessionguard only needs users(id) and tenants(id).
const tablesSQL = `
CREATE TABLE IF NOT EXISTS tenants (
	id   SERIAL PRIMARY KEY,
	slug TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{1,40}$'),
	name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
	id            SERIAL PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
	password_hash TEXT NOT NULL,
	app           TEXT NOT NULL CHECK (app IN ('control_panel', 'tenant_app')),
	tenant_id     INTEGER REFERENCES tenants(id),
	is_admin      BOOLEAN NOT NULL DEFAULT false,
	CHECK ((app = 'tenant_app') = (tenant_id IS NOT NULL))
);`

// exampleColumns are the columns the example reads; a users or tenants table
// without them belongs to another application.
var exampleColumns = map[string][]string{
	"tenants": {"id", "slug", "name"},
	"users":   {"id", "email", "password_hash", "app", "tenant_id", "is_admin"},
}

// createDemoTables creates the application tables that the sessions table of
// migration 022 references, and refuses a database whose tables of those
// names belong to another application.
func createDemoTables(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, tablesSQL); err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	for table, cols := range exampleColumns {
		var missing []string
		err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(c), '{}') FROM unnest($2::text[]) AS c
			WHERE NOT EXISTS (SELECT 1 FROM pg_attribute
				WHERE attrelid = to_regclass($1) AND attname = c AND attnum > 0 AND NOT attisdropped)`,
			table, cols).Scan(&missing)
		if err != nil {
			return fmt.Errorf("inspect table %s: %w", table, err)
		}
		if len(missing) > 0 {
			return fmt.Errorf("table %s exists without column(s) %v: it belongs to another application; "+
				"point DATABASE_URL at a database of the example's own", table, missing)
		}
	}
	return nil
}

// demoTenant and demoUser are the seed data, listed in the README.
type demoTenant struct{ slug, name string }

type demoUser struct {
	email   string
	app     string
	tenant  string // slug; "" for control-panel staff
	isAdmin bool
}

var (
	demoTenants = []demoTenant{{"acme", "Acme Corporation"}, {"globex", "Globex"}}
	demoUsers   = []demoUser{
		{email: "admin@example.com", app: "control_panel", isAdmin: true},
		{email: "staff@example.com", app: "control_panel"},
		{email: "alice@acme.example", app: "tenant_app", tenant: "acme"},
		{email: "bob@globex.example", app: "tenant_app", tenant: "globex"},
	}
)

// seedDemo inserts the demo tenants (acme is tenant 1 and globex tenant 2 in a
// fresh database) and the demo users. It resets the demo users' passwords to
// DEMO_PASSWORD on every start, so that the password printed is the one that
// works.
func seedDemo(ctx context.Context, pool *pgxpool.Pool, cfg config) error {
	tenantIDs := map[string]int64{}
	for _, t := range demoTenants {
		var id int64
		err := pool.QueryRow(ctx, `INSERT INTO tenants (slug, name) VALUES ($1, $2)
			ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id`, t.slug, t.name).Scan(&id)
		if err != nil {
			return fmt.Errorf("seed tenant %s: %w", t.slug, err)
		}
		tenantIDs[t.slug] = id
	}
	for _, u := range demoUsers {
		hash, err := bcrypt.GenerateFromPassword([]byte(cfg.DemoPassword), cfg.bcryptCost)
		if err != nil {
			return fmt.Errorf("hash the demo password: %w", err)
		}
		var tenant *int64
		if u.tenant != "" {
			id := tenantIDs[u.tenant]
			tenant = &id
		}
		_, err = pool.Exec(ctx, `INSERT INTO users (email, password_hash, app, tenant_id, is_admin)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, app = EXCLUDED.app,
				tenant_id = EXCLUDED.tenant_id, is_admin = EXCLUDED.is_admin`,
			u.email, string(hash), u.app, tenant, u.isAdmin)
		if err != nil {
			return fmt.Errorf("seed user %s: %w", u.email, err)
		}
	}
	return nil
}

// indexCard is one tenant on the start page, with its demo accounts.
type indexCard struct {
	Slug, Name string
	Emails     []string
}

// index is the start page: the two apps and the demo accounts to sign in
// with. An application has its own start page.
func (a *app) index(w http.ResponseWriter, r *http.Request) {
	var cards []indexCard
	for _, t := range a.tenants {
		c := indexCard{Slug: t.Slug, Name: t.Name}
		for _, u := range demoUsers {
			if u.tenant == t.Slug {
				c.Emails = append(c.Emails, u.email)
			}
		}
		cards = append(cards, c)
	}
	sort.Slice(cards, func(i, j int) bool { return cards[i].Slug < cards[j].Slug })
	a.render(w, r, http.StatusOK, "index", view{Title: "Start", Data: cards})
}
