package pgtest

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// FixtureSQL creates the application tables that migration 022 references
// (sessions.user_id and sessions.tenant_id). sessionguard does not own them:
// in the field they belong to the host application.
const FixtureSQL = `CREATE TABLE tenants (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, tenant_id INTEGER REFERENCES tenants(id));
`

// CreateTenant inserts a tenant and returns its id.
func CreateTenant(t testing.TB, pool *pgxpool.Pool, name string) int64 {
	t.Helper()
	var id int64
	if err := pool.QueryRow(t.Context(), "INSERT INTO tenants (name) VALUES ($1) RETURNING id", name).Scan(&id); err != nil {
		t.Fatalf("pgtest: create tenant: %v", err)
	}
	return id
}

// CreateUser inserts a user and returns its id. A tenantID of 0 means the
// user belongs to no tenant (NULL), as for control-panel staff.
func CreateUser(t testing.TB, pool *pgxpool.Pool, email string, tenantID int64) int64 {
	t.Helper()
	var tenant *int64
	if tenantID != 0 {
		tenant = &tenantID
	}
	var id int64
	if err := pool.QueryRow(t.Context(), "INSERT INTO users (email, tenant_id) VALUES ($1, $2) RETURNING id", email, tenant).Scan(&id); err != nil {
		t.Fatalf("pgtest: create user: %v", err)
	}
	return id
}
