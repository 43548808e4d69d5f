package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NewRole creates a role of its own for the test (roles are cluster-wide:
// the name is random), dropped with its privileges when the test ends. The
// test's user needs CREATEROLE.
func NewRole(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	role := "sg_test_role_" + hex.EncodeToString(b)
	if _, err := pool.Exec(context.Background(), "CREATE ROLE "+role+" NOLOGIN"); err != nil {
		t.Fatalf("CREATE ROLE (the test's user needs CREATEROLE): %v", err)
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

// PoolAs opens a pool on base's database whose connections act as role,
// closed when the test ends.
func PoolAs(t testing.TB, base *pgxpool.Pool, role string) *pgxpool.Pool {
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
