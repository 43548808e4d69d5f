package schema_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
	role := newRole(t, owner)
	for _, sql := range []string{
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT ON sessionguard_schema_migrations TO " + role,
	} {
		if _, err := owner.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	app := poolAs(t, owner, role)
	var canCreate bool
	if err := app.QueryRow(ctx, "SELECT has_schema_privilege('public', 'CREATE')").Scan(&canCreate); err != nil || canCreate {
		t.Fatalf("the role can create in public (%v, %v): the test proves nothing", canCreate, err)
	}
	if err := schema.Migrate(ctx, app); err != nil {
		t.Fatalf("Migrate as a role without CREATE, everything applied: %v", err)
	}
}

// newRole creates a role of its own for the test (roles are cluster-wide),
// dropped with its privileges when the test ends.
func newRole(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	role := "sg_schema_role_" + hex.EncodeToString(b)
	if _, err := pool.Exec(context.Background(), "CREATE ROLE "+role+" NOLOGIN"); err != nil {
		t.Fatalf("CREATE ROLE: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if _, err := pool.Exec(ctx, "DROP OWNED BY "+role); err != nil {
			t.Errorf("DROP OWNED BY %s: %v", role, err)
		}
		if _, err := pool.Exec(ctx, "DROP ROLE "+role); err != nil {
			t.Errorf("DROP ROLE %s: %v", role, err)
		}
	})
	return role
}

// poolAs opens a pool on base's database whose connections act as role.
func poolAs(t *testing.T, base *pgxpool.Pool, role string) *pgxpool.Pool {
	t.Helper()
	cfg := base.Config()
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET ROLE "+role)
		return err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
