package pgstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
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

			role := pgtest.NewRole(t, f.pool)
			mustExec(t, f, "GRANT SELECT, UPDATE ON sessions TO "+role)
			if tt.grant != "" {
				mustExec(t, f, "GRANT "+tt.grant+" ON sessionguard_scs_data TO "+role)
			}
			store, err := pgstore.New(pgtest.PoolAs(t, f.pool, role), pgstore.Config{})
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
