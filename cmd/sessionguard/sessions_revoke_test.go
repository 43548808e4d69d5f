package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
)

// TestSessionsRevoke runs each kind of revoke with --yes and checks the rows
// (reason recorded, nothing else ended), the output and the audit line.
func TestSessionsRevoke(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    func(user int64, session string) []string
		env     map[string]string
		audit   []string // in the audit line
		noAudit []string // not in it
		stdout  string
	}{
		{
			name: "user, with actor and sudo",
			args: func(u int64, _ string) []string {
				return []string{"--user", itoa(u), "--reason", "account_disabled", "--actor", "7"}
			},
			env:    map[string]string{"SUDO_USER": "alice"},
			audit:  []string{`msg="sessionguard: session revoked"`, "reason=account_disabled", "count=2", "actor_id=7", "os_user=" + osUser(), "sudo_user=alice"},
			stdout: "revoked 2 sessions with reason \"account_disabled\"\n",
		},
		{
			name: "session, no actor",
			args: func(_ int64, s string) []string {
				return []string{"--session", s, "--reason", sessionguard.ReasonAdminRevoke}
			},
			audit:   []string{"reason=admin_revoke", "count=1", "os_user=" + osUser()},
			noAudit: []string{"actor_id", "sudo_user"},
			stdout:  "revoked 1 session with reason \"admin_revoke\"\n",
		},
		{
			name: "everyone",
			args: func(int64, string) []string {
				return []string{"--everyone", "--reason", "signing key leaked", "--actor", "1"}
			},
			audit:  []string{`reason="signing key leaked"`, "count=3", "actor_id=1"},
			stdout: "revoked 3 sessions with reason \"signing key leaked\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			user, other := f.user(t, "user@example.com"), f.user(t, "other@example.com")
			first, firstHash := f.session(t, sessionguard.NewSession{UserID: user})
			second, _ := f.session(t, sessionguard.NewSession{UserID: user, AppType: sessionguard.TenantApp, TenantID: f.tenant})
			bystander, _ := f.session(t, sessionguard.NewSession{UserID: other})

			env := dbEnv(f.pool)
			for k, v := range tt.env {
				env[k] = v
			}
			args := append([]string{"sessions", "revoke", "--yes"}, tt.args(user, first.ID)...)
			r := runCmd(t, env, nil, args...)
			if r.code != exitOK {
				t.Fatalf("exit status %d: %s", r.code, r.stderr)
			}
			if r.stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.stdout)
			}
			reason := args[indexOf(args, "--reason")+1]
			for _, s := range []struct {
				id   string
				ends bool
			}{
				{first.ID, true},
				{second.ID, tt.name != "session, no actor"},
				{bystander.ID, tt.name == "everyone"},
			} {
				active, got := f.endReason(t, s.id)
				switch {
				case s.ends && (active || got != reason):
					t.Errorf("session %s: active %v, reason %q; want ended with %q", s.id, active, got, reason)
				case !s.ends && !active:
					t.Errorf("session %s was ended (%q); it is not the target", s.id, got)
				}
			}
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("want one audit line, got:\n%s", r.stderr)
			}
			for _, want := range tt.audit {
				if !strings.Contains(lines[0], want) {
					t.Errorf("audit line lacks %s: %s", want, lines[0])
				}
			}
			for _, unwanted := range append(tt.noAudit, firstHash) {
				if strings.Contains(lines[0], unwanted) {
					t.Errorf("audit line has %s: %s", unwanted, lines[0])
				}
			}
		})
	}
}

func TestSessionsRevokeNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.user(t, "idle@example.com")
	ended, _ := f.session(t, sessionguard.NewSession{UserID: user})
	if _, err := f.store.RevokeSession(t.Context(), ended.ID, sessionguard.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	env := dbEnv(f.pool)

	r := runCmd(t, env, nil, "sessions", "revoke", "--yes", "--user", itoa(user), "--reason", "admin_revoke")
	if r.code != exitOK || r.stdout != "nothing to revoke: 0 active sessions of user "+itoa(user)+"\n" || r.stderr != "" {
		t.Errorf("user without active sessions: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// An ended session, and one that never existed, cannot be revoked: the
	// id was probably mistyped, so the command fails.
	for _, id := range []string{ended.ID, "00000000-0000-4000-8000-000000000000"} {
		r = runCmd(t, env, nil, "sessions", "revoke", "--yes", "--session", id, "--reason", "admin_revoke")
		if r.code != exitFailure || !strings.Contains(r.stderr, "no active session has id "+id) {
			t.Errorf("session %s: exit status %d, stderr %q", id, r.code, r.stderr)
		}
	}
	if _, reason := f.endReason(t, ended.ID); reason != sessionguard.ReasonLogout {
		t.Errorf("the ended session's reason became %q", reason)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func indexOf(s []string, v string) int {
	for i := range s {
		if s[i] == v {
			return i
		}
	}
	return -1
}
