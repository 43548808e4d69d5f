package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestRevokingRoleNeedsItsOwnRightsOnSCSData: migration 026's trigger runs
// with the privileges of whoever ends the session (README, "Database roles"),
// so a role that may update sessions but not delete scs data cannot revoke a
// session that has scs data; the revocation fails whole and the session stays
// active. Its DELETE reads token_hash in its WHERE, so it needs SELECT too.
func TestRevokingRoleNeedsItsOwnRightsOnSCSData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		grant   string // on sessionguard_scs_data, beside SELECT, UPDATE on sessions
		revokes bool
	}{
		{"nothing on the scs data", "", false},
		{"DELETE only", "DELETE", false},
		{"SELECT and DELETE", "SELECT, DELETE", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, pgstore.Config{})
			tok := newSCSToken(t)
			_, _ = f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
			mustCommit(t, newSCSStore(t, f), tok.key, []byte("flash: hello"), time.Now().Add(time.Hour))

			role := newRole(t, f.pool)
			mustExec(t, f, "GRANT SELECT, UPDATE ON sessions TO "+role)
			if tt.grant != "" {
				mustExec(t, f, "GRANT "+tt.grant+" ON sessionguard_scs_data TO "+role)
			}
			store, err := pgstore.New(poolAs(t, f.pool, role), pgstore.Config{})
			if err != nil {
				t.Fatal(err)
			}

			ended, err := store.Revoke(ctx, tok.hash, sessionguard.ReasonLogout)
			if tt.revokes {
				if err != nil || !ended {
					t.Fatalf("Revoke as %s = %v, %v; want ended", tt.name, ended, err)
				}
				if n := f.dataRows(t, tok.hash); n != 0 {
					t.Errorf("scs data rows after the revoke = %d, want 0", n)
				}
				return
			}
			// The store keeps pgx's error types out of its API; the text keeps the code.
			if err == nil || !strings.Contains(err.Error(), "SQLSTATE 42501") {
				t.Fatalf("Revoke = %v, %v; want permission denied (42501)", ended, err)
			}
			if r := f.row(t, tok.hash); !r.Active {
				t.Error("the failed revoke ended the session anyway")
			}
			if n := f.dataRows(t, tok.hash); n != 1 {
				t.Errorf("scs data rows after the failed revoke = %d, want 1", n)
			}
		})
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
