package main

import (
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
)

// TestStats checks what "stats" prints; the counting rules are
// pgstore.Store.Stats's, tested in pgstore.
func TestStats(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.user(t, "user@example.com")
	other := f.tenantOf(t, "globex")
	open := func(app sessionguard.AppType, tenant int64) string {
		s, _ := f.session(t, sessionguard.NewSession{UserID: user, AppType: app, TenantID: tenant})
		return s.ID
	}
	oldest := open(sessionguard.ControlPanel, 0)
	f.exec(t, "UPDATE sessions SET created_at = CURRENT_TIMESTAMP - interval '3 hours' WHERE id = $1", oldest)
	open(sessionguard.ControlPanel, 0)
	open(sessionguard.TenantApp, f.tenant)
	open(sessionguard.TenantApp, other)
	stale := open(sessionguard.TenantApp, other) // expired, not yet cleaned up: older, but not live
	f.exec(t, `UPDATE sessions SET created_at = CURRENT_TIMESTAMP - interval '6 hours',
		last_activity_at = CURRENT_TIMESTAMP - interval '5 hours' WHERE id = $1`, stale)
	pastLimit := open(sessionguard.ControlPanel, 0) // past its absolute timeout, active and touched
	f.exec(t, "UPDATE sessions SET absolute_expires_at = CURRENT_TIMESTAMP - interval '1 second' WHERE id = $1", pastLimit)
	end := func(reason, ago string) {
		id := open(sessionguard.ControlPanel, 0)
		f.exec(t, `UPDATE sessions SET is_active = false, revoke_reason = $2, revoked_at = CURRENT_TIMESTAMP - $3::interval,
			ended_at = CURRENT_TIMESTAMP - $3::interval WHERE id = $1`, id, reason, ago)
	}
	end("logout", "1 hour")
	end("logout", "2 hours")
	end("admin_revoke", "23 hours")
	end("password_change", "25 hours") // outside the last 24 h

	r := runCmd(t, dbEnv(f.pool), nil, "stats")
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("exit status %d: %s", r.code, r.stderr)
	}
	got, oldestLine, _ := strings.Cut(fields(r.stdout), "\noldest live session: ")
	want := "APP TENANT LIVE AWAITING CLEANUP\n" +
		"control_panel - 2 1\n" +
		"tenant_app " + itoa(f.tenant) + " 1 0\n" +
		"tenant_app " + itoa(other) + " 1 1\n" +
		"total 4 2\n" +
		"\n" +
		"ended in the last 24h0m0s\n" +
		"REASON SESSIONS\n" +
		"logout 2\n" +
		"admin_revoke 1\n"
	if got != want {
		t.Errorf("stats:\n%s\nwant:\n%s", got, want)
	}
	if wantOldest := oldest + ", user " + itoa(user) + ", control_panel, tenant -, created "; !strings.HasPrefix(oldestLine, wantOldest) ||
		!strings.Contains(oldestLine, "(3h0m") {
		t.Errorf("oldest line %q, want it to start %q and say 3h0m… ago", oldestLine, wantOldest)
	}

	r = runCmd(t, dbEnv(f.pool), nil, "stats", "--since", "48h")
	if r.code != exitOK || !strings.Contains(fields(r.stdout), "ended in the last 48h0m0s\nREASON SESSIONS\nlogout 2\nadmin_revoke 1\npassword_change 1\n") {
		t.Errorf("stats --since 48h: exit status %d:\n%s", r.code, r.stdout)
	}
}

func TestStatsEmpty(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := runCmd(t, dbEnv(f.pool), nil, "stats")
	want := "APP TENANT LIVE AWAITING CLEANUP\ntotal 0 0\n\nended in the last 24h0m0s\nREASON SESSIONS\n\noldest live session: none\n"
	if r.code != exitOK || fields(r.stdout) != want {
		t.Errorf("exit status %d, output:\n%s\nwant:\n%s", r.code, fields(r.stdout), want)
	}
}
