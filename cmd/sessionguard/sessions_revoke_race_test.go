package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
)

// TestSessionsRevokeSessionEndedMeanwhile: a session that was active when
// counted but ended by something else (the user's logout, a Cleaner) before
// the revoke's statement ran is not revoked by this run, with its reason:
// the command fails as it does for a session that was not active at all,
// rather than exit 0 with "revoked 0 sessions", which a script took for
// success.
func TestSessionsRevokeSessionEndedMeanwhile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.user(t, "user@example.com")
	s, _ := f.session(t, sessionguard.NewSession{UserID: user})

	holder, err := f.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(t.Context(), "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", s.ID); err != nil {
		t.Fatal(err)
	}

	env := dbEnv(f.pool)
	done := make(chan result)
	go func() {
		// The count reads past the row lock; the revoke's UPDATE waits for it.
		done <- runCmd(t, env, nil, "sessions", "revoke", "--session", s.ID, "--reason", "compromised", "--yes", "--lock-timeout", "0")
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var n int
		if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name LIKE 'sessionguard cli %' AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the revoke never waited on the row lock")
		}
	}
	// The user logs out meanwhile.
	if _, err := holder.Exec(t.Context(), `UPDATE sessions SET is_active = false, revoke_reason = 'logout',
		revoked_at = CURRENT_TIMESTAMP, ended_at = CURRENT_TIMESTAMP WHERE id = $1`, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := holder.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != exitFailure || !strings.Contains(r.stderr, "no active session has id "+s.ID) || strings.Contains(r.stdout, "revoked") {
		t.Errorf("exit status %d, stdout %q, stderr %q; want a failure naming the session", r.code, r.stdout, r.stderr)
	}
	if _, reason := f.endReason(t, s.ID); reason != "logout" {
		t.Errorf("reason %q, want the logout's", reason)
	}
}
