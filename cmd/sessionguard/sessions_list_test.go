package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

func TestSessionsList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice, bob := f.user(t, "alice@example.com"), f.user(t, "bob@example.com")
	// A hostile user agent: it would clear the screen, set the window
	// title and reverse the text after it on the operator's terminal.
	hostileUA := "Mozilla/5.0 \x1b[2J\x1b]0;pwned\x07 \u202egnp.exe\ttab " + strings.Repeat("x", 100)
	cp, cpHash := f.session(t, sessionguard.NewSession{UserID: alice, IP: "203.0.113.7", UserAgent: hostileUA})
	app, appHash := f.session(t, sessionguard.NewSession{UserID: alice, AppType: sessionguard.TenantApp, TenantID: f.tenant})
	ended, _ := f.session(t, sessionguard.NewSession{UserID: alice})
	other, _ := f.session(t, sessionguard.NewSession{UserID: bob})
	f.exec(t, "UPDATE sessions SET last_activity_at = CURRENT_TIMESTAMP - interval '1 minute' WHERE id = $1", cp.ID)
	if _, err := f.store.RevokeSession(t.Context(), ended.ID, sessionguard.ReasonLogout); err != nil {
		t.Fatal(err)
	}

	r := runCmd(t, dbEnv(f.pool), nil, "sessions", "list", "--user", strconv.FormatInt(alice, 10))
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("exit status %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and 2 rows, got:\n%s", r.stdout)
	}
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "ID APP TENANT IP USER AGENT CREATED LAST ACTIVITY EXPIRES" {
		t.Errorf("header = %q", got)
	}
	// Most recently active first: the tenant-app session, then cp.
	if !strings.HasPrefix(lines[1], app.ID) || !strings.HasPrefix(lines[2], cp.ID) {
		t.Errorf("rows not in activity order:\n%s", r.stdout)
	}
	appRow := strings.Fields(lines[1])
	if appRow[1] != "tenant_app" || appRow[2] != strconv.FormatInt(f.tenant, 10) || appRow[3] != "-" || appRow[4] != "-" {
		t.Errorf("tenant-app row = %q", lines[1])
	}
	cpRow := strings.Fields(lines[2])
	if cpRow[1] != "control_panel" || cpRow[2] != "-" || cpRow[3] != "203.0.113.7" {
		t.Errorf("control-panel row = %q", lines[2])
	}
	// cp idles: it expires 4 h after its last activity, before its absolute limit.
	cpInfo := listed(t, f, alice, cp.ID)
	if want := timestamp(cpInfo.LastActivityAt.Add(pgstore.DefaultIdleTimeout)); !strings.HasSuffix(lines[2], want) {
		t.Errorf("control-panel row expires column: want %s in %q", want, lines[2])
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\t", other.ID, ended.ID, cpHash, appHash} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("output contains %q:\n%s", bad, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, `Mozilla/5.0 \x1b[2J\x1b]0;pwned\x07 \u202egnp.exe\x09tab xxx`) || !strings.Contains(r.stdout, "…") {
		t.Errorf("user agent not escaped and shortened:\n%s", r.stdout)
	}

	none := f.user(t, "nobody@example.com")
	r = runCmd(t, dbEnv(f.pool), nil, "sessions", "list", "--user", strconv.FormatInt(none, 10))
	if r.code != exitOK || r.stdout != "user "+strconv.FormatInt(none, 10)+" has no live sessions\n" {
		t.Errorf("user without sessions: exit status %d, output %q", r.code, r.stdout)
	}
}

// listed is the store's view of one session of user.
func listed(t *testing.T, f *fixture, user int64, id string) sessionguard.SessionInfo {
	t.Helper()
	infos, err := f.store.ListActive(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range infos {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("session %s not listed", id)
	return sessionguard.SessionInfo{}
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain text, ünïcode 日本", "plain text, ünïcode 日本"},
		{"a\tb\nc\r", `a\x09b\x0ac\x0d`},
		{"\x1b[31mred", `\x1b[31mred`},
		{"\u202eevil\u200b", `\u202eevil\u200b`},
		{"nb\u00a0sp", `nb\u00a0sp`},
		{"\x7f\u0085", `\x7f\u0085`},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
