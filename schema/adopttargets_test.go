package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// TestAdoptionNeedsNoUsersOrTenantsTable: a team whose copy of 022 points
// sessions.user_id and tenant_id at tables of its own names (accounts,
// organizations) has no users or tenants table. Only running 022 needs
// them; adopting the team's table does not, and nothing after 022 reads
// them. Migrate and each tool's form stopped such a database with "create
// users and tenants first"; they adopt it now, and sessions work.
func TestAdoptionNeedsNoUsersOrTenantsTable(t *testing.T) {
	t.Parallel()
	adopters := map[string]func(t *testing.T, pool *pgxpool.Pool){
		"Migrate": func(t *testing.T, pool *pgxpool.Pool) {
			if err := schema.Migrate(context.Background(), pool); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		},
	}
	for _, tool := range migrationTools {
		adopters[tool.name] = func(t *testing.T, pool *pgxpool.Pool) {
			tool.upAll(t, pool, tool.inTeamSequence(t), "")
		}
	}
	for name, adopt := range adopters {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := pgtest.NewEmptyPool(t)
			if _, err := pool.Exec(ctx, `CREATE TABLE organizations (id SERIAL PRIMARY KEY);
				CREATE TABLE accounts (id SERIAL PRIMARY KEY, organization_id INTEGER REFERENCES organizations(id));`); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(ctx, seedWith(t, "REFERENCES users(id)", "REFERENCES accounts(id)",
				"REFERENCES tenants(id)", "REFERENCES organizations(id)")); err != nil {
				t.Fatalf("the team's 022: %v", err)
			}
			adopt(t, pool)
			if rows := ledger(t, pool); len(rows) != len(schema.Migrations()) || !rows[0].Adopted {
				t.Fatalf("ledger %+v; want every migration, 022 adopted", rows)
			}
			var org, account int64
			if err := pool.QueryRow(ctx, `WITH o AS (INSERT INTO organizations DEFAULT VALUES RETURNING id)
				INSERT INTO accounts (organization_id) SELECT id FROM o RETURNING organization_id, id`).Scan(&org, &account); err != nil {
				t.Fatal(err)
			}
			store, err := pgstore.New(pool, pgstore.Config{TouchInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			hash := strings.Repeat("f1", 32)
			if _, err := store.Create(ctx, sessionguard.NewSession{TokenHash: hash, UserID: account, TenantID: org, AppType: sessionguard.TenantApp}); err != nil {
				t.Fatalf("Create: %v", err)
			}
			if st, err := store.Validate(ctx, hash, sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: org}); err != nil || !st.Valid() {
				t.Fatalf("Validate = %+v, %v; want valid", st, err)
			}
			if _, err := store.Create(ctx, sessionguard.NewSession{TokenHash: strings.Repeat("f2", 32), UserID: account + 1, AppType: sessionguard.ControlPanel}); err == nil {
				t.Errorf("Create for an account that does not exist succeeded; the team's foreign key is gone")
			}
		})
	}
}
