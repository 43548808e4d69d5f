package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
)

// user is one row of the example's users table, with its tenant.
type user struct {
	ID         int64
	Email      string
	App        sessionguard.AppType
	TenantID   int64 // sessionguard.NoTenant for staff
	TenantSlug string
	TenantName string
	IsAdmin    bool

	passwordHash string // bcrypt; never rendered or logged
}

// tenant is one row of the tenants table.
type tenant struct {
	ID   int64
	Slug string
	Name string
}

// users reads and writes the example's own tables. Not-found is (zero,
// false, nil), as in pgstore.
type users struct{ pool *pgxpool.Pool }

const userSQL = `SELECT u.id, u.email, u.app, coalesce(u.tenant_id, 0), coalesce(t.slug, ''), coalesce(t.name, ''),
	u.is_admin, u.password_hash
	FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id WHERE `

func (db users) byEmail(ctx context.Context, email string) (user, bool, error) {
	return db.one(ctx, userSQL+"u.email = $1", normalizeEmail(email))
}

func (db users) byID(ctx context.Context, id int64) (user, bool, error) {
	return db.one(ctx, userSQL+"u.id = $1", id)
}

func (db users) one(ctx context.Context, sql string, arg any) (user, bool, error) {
	var u user
	var app string
	err := db.pool.QueryRow(ctx, sql, arg).Scan(&u.ID, &u.Email, &app, &u.TenantID, &u.TenantSlug, &u.TenantName,
		&u.IsAdmin, &u.passwordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return user{}, false, nil
	}
	if err != nil {
		return user{}, false, fmt.Errorf("read user: %w", err)
	}
	u.App = sessionguard.AppType(app)
	return u, true, nil
}

// emails maps user ids to e-mail addresses, for the admin page.
func (db users) emails(ctx context.Context, ids []int64) (map[int64]string, error) {
	rows, err := db.pool.Query(ctx, "SELECT id, email FROM users WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	out := map[int64]string{}
	var id int64
	var email string
	_, err = pgx.ForEachRow(rows, []any{&id, &email}, func() error { out[id] = email; return nil })
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return out, nil
}

// setPasswordHash replaces a user's password hash.
func (db users) setPasswordHash(ctx context.Context, id int64, hash string) error {
	if _, err := db.pool.Exec(ctx, "UPDATE users SET password_hash = $2 WHERE id = $1", id, hash); err != nil {
		return fmt.Errorf("update password: %w", err)
	}
	return nil
}

// passwordHashIs reports whether the user's password hash is still hash.
func (db users) passwordHashIs(ctx context.Context, id int64, hash string) (bool, error) {
	var same bool
	err := db.pool.QueryRow(ctx, "SELECT password_hash = $2 FROM users WHERE id = $1", id, hash).Scan(&same)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read password: %w", err)
	}
	return same, nil
}

// tenants lists every tenant by slug.
func (db users) tenants(ctx context.Context) (map[string]tenant, error) {
	rows, err := db.pool.Query(ctx, "SELECT id, slug, name FROM tenants")
	if err != nil {
		return nil, fmt.Errorf("read tenants: %w", err)
	}
	out := map[string]tenant{}
	var t tenant
	_, err = pgx.ForEachRow(rows, []any{&t.ID, &t.Slug, &t.Name}, func() error { out[t.Slug] = t; return nil })
	if err != nil {
		return nil, fmt.Errorf("read tenants: %w", err)
	}
	return out, nil
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
