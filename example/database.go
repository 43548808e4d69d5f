package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/sessionguard/sessionguard/schema"
)

// database is the pool the example runs on and how to let it go.
type database struct {
	pool     *pgxpool.Pool
	describe string // for the start banner; never the DSN, which may hold a password
	close    func() error
}

// openDatabase opens the pool on cfg.poolConfig, DATABASE_URL or, with
// neither, a throwaway PostgreSQL server that close stops and removes. The
// pool logs to log (withPoolLogger).
func openDatabase(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) (*database, error) {
	switch {
	case cfg.poolConfig != nil:
		return connect(ctx, cfg.poolConfig.Copy(), log, "the pool configuration given by the caller", nil)
	case cfg.DatabaseURL != "":
		pc, err := pgxpool.ParseConfig(cfg.DatabaseURL) // its errors redact the password
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		db, err := connect(ctx, pc, log, "DATABASE_URL", nil)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		return db, nil
	}
	return openThrowaway(ctx, log, stdout)
}

// connect opens a pool on pc with the app's logger and checks that it
// reaches the server. release, if not nil, runs after the pool is closed.
func connect(ctx context.Context, pc *pgxpool.Config, log *slog.Logger, describe string, release func() error) (*database, error) {
	withPoolLogger(pc, log)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err == nil {
		if err = pool.Ping(ctx); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	return &database{pool: pool, describe: describe, close: func() error {
		pool.Close()
		if release != nil {
			return release()
		}
		return nil
	}}, nil
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

// prepareDatabase creates the example's tables, applies sessionguard's
// migrations and (re)seeds the demo accounts.
func prepareDatabase(ctx context.Context, pool *pgxpool.Pool, cfg config) error {
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
	if err := schema.Migrate(ctx, pool); err != nil {
		return err
	}
	return seed(ctx, pool, cfg)
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

// seed inserts the demo tenants (acme is tenant 1 and globex tenant 2 in a
// fresh database) and the demo users. It resets the demo users' passwords to
// DEMO_PASSWORD on every start, so that the password printed is the one that
// works.
func seed(ctx context.Context, pool *pgxpool.Pool, cfg config) error {
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
