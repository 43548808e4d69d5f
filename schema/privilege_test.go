package schema_test

import (
	"context"
	"testing"

	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/schema"
)

// TestMigrateAppliedNeedsNoCreatePrivilege: a DBA migrates as the owner, and
// the application, whose role may read the ledger but create nothing (no
// CREATE on public, PostgreSQL 15's default), calls Migrate at start-up. With
// every migration recorded there is nothing to do, so it must succeed: a
// CREATE TABLE IF NOT EXISTS of the ledger checks the CREATE privilege even
// when the table exists, and refused the start.
func TestMigrateAppliedNeedsNoCreatePrivilege(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	owner := pgtest.NewPool(t)
	role := pgtest.NewRole(t, owner)
	for _, sql := range []string{
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT ON sessionguard_schema_migrations TO " + role,
	} {
		if _, err := owner.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	app := pgtest.PoolAs(t, owner, role)
	var canCreate bool
	if err := app.QueryRow(ctx, "SELECT has_schema_privilege('public', 'CREATE')").Scan(&canCreate); err != nil || canCreate {
		t.Fatalf("the role can create in public (%v, %v): the test proves nothing", canCreate, err)
	}
	if err := schema.Migrate(ctx, app); err != nil {
		t.Fatalf("Migrate as a role without CREATE, everything applied: %v", err)
	}
}
