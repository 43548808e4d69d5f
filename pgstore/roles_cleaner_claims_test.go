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

// TestCleaningRoleNeedsItsOwnRightsOnSCSData backs README's "Database
// roles": a role that cleans up sessions, not only one that revokes them,
// needs SELECT and DELETE on sessionguard_scs_data. The Cleaner's expiry ends
// sessions with an UPDATE (migration 026's trigger deletes their scs data)
// and its purge deletes ended rows (033's statement trigger deletes their scs
// data, whether or not any is left): both triggers run with the cleaning
// role's privileges. Without them the batch fails whole and the rows stay as
// they were.
func TestCleaningRoleNeedsItsOwnRightsOnSCSData(t *testing.T) {
	t.Parallel()
	grants := []struct {
		name   string
		grant  string // on sessionguard_scs_data, beside SELECT, UPDATE, DELETE on sessions
		cleans bool
	}{
		{"nothing on the scs data", "", false},
		{"DELETE only", "DELETE", false},
		{"SELECT and DELETE", "SELECT, DELETE", true},
	}
	steps := []struct {
		name    string
		prepare func(t *testing.T, f fixture, hash string)
		done    func(t *testing.T, f fixture, hash string) bool // the Cleaner did its work on hash
	}{
		{"expiry", func(t *testing.T, f fixture, h string) { f.age(t, h, 4*time.Hour+time.Second, 0) },
			func(t *testing.T, f fixture, h string) bool { return !f.row(t, h).Active }},
		{"purge", func(t *testing.T, f fixture, h string) { endedAgo(t, f, h, 2*time.Hour) },
			func(t *testing.T, f fixture, h string) bool { return !f.exists(t, h) }},
	}
	for _, step := range steps {
		for _, tt := range grants {
			t.Run(step.name+", "+tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				f := newFixture(t, pgstore.Config{Logger: quiet})
				tok := newSCSToken(t)
				_, _ = f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
				mustCommit(t, newSCSStore(t, f), tok.key, []byte("flash: hello"), time.Now().Add(time.Hour))
				step.prepare(t, f, tok.hash)

				role := pgtest.NewRole(t, f.pool)
				mustExec(t, f, "GRANT SELECT, UPDATE, DELETE ON sessions TO "+role)
				if tt.grant != "" {
					mustExec(t, f, "GRANT "+tt.grant+" ON sessionguard_scs_data TO "+role)
				}
				cleaner := newCleaner(t, pgtest.PoolAs(t, f.pool, role), pgstore.CleanerConfig{Retention: time.Hour})

				res, err := cleaner.RunOnce(ctx)
				if tt.cleans {
					if err != nil || !step.done(t, f, tok.hash) {
						t.Fatalf("RunOnce as a role with %s = %v, %v; want the session cleaned up", tt.name, res, err)
					}
					if n := f.dataRows(t, tok.hash); n != 0 {
						t.Errorf("scs data rows after the cleanup = %d, want 0", n)
					}
					return
				}
				// The Cleaner keeps pgx's error types out of its API; the text keeps the code.
				if err == nil || !strings.Contains(err.Error(), "SQLSTATE 42501") {
					t.Fatalf("RunOnce = %v, %v; want permission denied (42501)", res, err)
				}
				if step.done(t, f, tok.hash) {
					t.Error("the failed cleanup changed the session anyway")
				}
			})
		}
	}
}
