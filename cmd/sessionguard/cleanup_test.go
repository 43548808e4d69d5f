package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

func TestCleanup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		oldIsGone  bool
		lastOutput string
	}{
		{"default retention", []string{"cleanup"}, true, "deleted 1 ended row older than 2160h0m0s"},
		{"--retention 0 keeps ended rows", []string{"cleanup", "--retention", "0"}, false, "kept every ended row (--retention 0)"},
		{"--retention 720h --yes", []string{"cleanup", "--retention", "720h", "--yes"}, true, "deleted 1 ended row older than 720h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			user := f.user(t, "user@example.com")
			live, _ := f.session(t, sessionguard.NewSession{UserID: user})
			idle, _ := f.session(t, sessionguard.NewSession{UserID: user})
			absolute, _ := f.session(t, sessionguard.NewSession{UserID: user})
			recent, _ := f.session(t, sessionguard.NewSession{UserID: user})
			old, _ := f.session(t, sessionguard.NewSession{UserID: user})
			f.exec(t, "UPDATE sessions SET last_activity_at = CURRENT_TIMESTAMP - interval '5 hours' WHERE id = $1", idle.ID)
			f.exec(t, "UPDATE sessions SET absolute_expires_at = CURRENT_TIMESTAMP - interval '1 second' WHERE id = $1", absolute.ID)
			f.exec(t, `UPDATE sessions SET is_active = false, revoke_reason = 'logout', revoked_at = CURRENT_TIMESTAMP - interval '1 day',
				ended_at = CURRENT_TIMESTAMP - interval '1 day' WHERE id = $1`, recent.ID)
			f.exec(t, `UPDATE sessions SET is_active = false, revoke_reason = 'logout', revoked_at = CURRENT_TIMESTAMP - interval '100 days',
				ended_at = CURRENT_TIMESTAMP - interval '100 days' WHERE id = $1`, old.ID)

			r := runCmd(t, dbEnv(f.pool), nil, tt.args...)
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("exit status %d: %s", r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, "ended 2 expired sessions (idle_timeout 1, absolute_timeout 1)\n"+tt.lastOutput+"\n") {
				t.Errorf("output:\n%s", r.stdout)
			}
			for id, want := range map[string]string{live.ID: "", idle.ID: "idle_timeout", absolute.ID: "absolute_timeout", recent.ID: "logout"} {
				if active, reason := f.endReason(t, id); active != (want == "") || reason != want {
					t.Errorf("session %s: active %v, reason %q; want reason %q", id, active, reason, want)
				}
			}
			var n int
			if err := f.pool.QueryRow(t.Context(), "SELECT count(*) FROM sessions WHERE id = $1", old.ID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if gone := n == 0; gone != tt.oldIsGone {
				t.Errorf("the row ended 100 days ago: deleted %v, want %v", gone, tt.oldIsGone)
			}
		})
	}
}

// TestCleanupWhileAnotherRuns: when an application's Cleaner holds the lock,
// the command does nothing and says so.
func TestCleanupWhileAnotherRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.user(t, "user@example.com")
	idle, _ := f.session(t, sessionguard.NewSession{UserID: user})
	f.exec(t, "UPDATE sessions SET last_activity_at = CURRENT_TIMESTAMP - interval '5 hours' WHERE id = $1", idle.ID)

	conn, err := f.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_lock($1)", pgstore.DefaultCleanupLockKey); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", pgstore.DefaultCleanupLockKey)
	}()

	r := runCmd(t, dbEnv(f.pool), nil, "cleanup")
	if r.code != exitOK || r.stdout != "another Cleaner holds the cleanup lock: this run did nothing\n" {
		t.Errorf("exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if active, _ := f.endReason(t, idle.ID); !active {
		t.Error("the expired session was ended although another Cleaner held the lock")
	}
}

// TestCleanupShortRetentionRefusedInAScript: a retention below the default
// deletes rows a default Cleaner keeps (and 1m is a minute, not a month):
// without a terminal to ask on and without --yes, nothing is changed. A
// retention at or above the default runs as before.
func TestCleanupShortRetentionRefusedInAScript(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.user(t, "user@example.com")
	idle, _ := f.session(t, sessionguard.NewSession{UserID: user})
	ended, _ := f.session(t, sessionguard.NewSession{UserID: user})
	f.exec(t, "UPDATE sessions SET last_activity_at = CURRENT_TIMESTAMP - interval '5 hours' WHERE id = $1", idle.ID)
	f.exec(t, `UPDATE sessions SET is_active = false, revoke_reason = 'logout', revoked_at = CURRENT_TIMESTAMP - interval '1 hour',
		ended_at = CURRENT_TIMESTAMP - interval '1 hour' WHERE id = $1`, ended.ID)
	env := dbEnv(f.pool)

	r := runCmd(t, env, nil, "cleanup", "--retention", "1m")
	if r.code != exitUsage || !strings.Contains(r.stderr, "pass --yes") || r.stdout != "" {
		t.Errorf("--retention 1m, no terminal: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if active, _ := f.endReason(t, idle.ID); !active {
		t.Error("the refused run ended the idle session")
	}
	if active, reason := f.endReason(t, ended.ID); active || reason != "logout" { // still there
		t.Errorf("ended row: active %v, reason %q", active, reason)
	}
	for _, retention := range []string{"2160h", "4320h"} {
		if r := runCmd(t, env, nil, "cleanup", "--retention", retention); r.code != exitOK {
			t.Errorf("--retention %s, no terminal: exit status %d, stderr %q", retention, r.code, r.stderr)
		}
	}
	r = runCmd(t, env, nil, "cleanup", "--retention", "1m", "--yes")
	if r.code != exitOK || !strings.Contains(r.stdout, "deleted 1 ended row older than 1m0s") {
		t.Errorf("--retention 1m --yes: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestCleanupStoppedPartWaySaysSo: an application's Cleaner that takes the
// lock between two of the command's batches stops the run there; the
// command prints what it did and that it stopped, where it printed totals
// that looked like a finished purge.
func TestCleanupStoppedPartWaySaysSo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.user(t, "user@example.com")
	idle, _ := f.session(t, sessionguard.NewSession{UserID: user})
	f.exec(t, "UPDATE sessions SET last_activity_at = CURRENT_TIMESTAMP - interval '5 hours' WHERE id = $1", idle.ID)
	// The expiry's batch (its UPDATE) takes two seconds, time for the
	// application's Cleaner below to queue for the lock the batch holds.
	f.exec(t, `CREATE FUNCTION slow_update() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN PERFORM pg_sleep(2); RETURN NEW; END$$`)
	f.exec(t, `CREATE TRIGGER slow_update BEFORE UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION slow_update()`)

	done := make(chan result, 1)
	go func() { done <- runCmd(t, dbEnv(f.pool), nil, "cleanup") }()
	// Wait until the command's batch is in its turn.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command's batch took no advisory lock in 30 s")
		}
	}
	app, err := f.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Rollback(context.Background())
	if _, err := app.Exec(t.Context(), "SELECT pg_advisory_xact_lock($1)", pgstore.DefaultCleanupLockKey); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "ended 1 expired session (idle_timeout 1, absolute_timeout 0)\n") ||
		!strings.HasSuffix(r.stdout, "\nstopped part way: another Cleaner took the cleanup lock and covers the rest with its own retention; run again to finish with this one\n") {
		t.Errorf("exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
