package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// TestBinary builds the command and runs it as an operator would, against a
// database that has only users and tenants: exit statuses, streams and the
// environment are the real process's.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "sessionguard")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pool := pgtest.NewBarePool(t)
	env := append(withoutDatabaseURL(os.Environ()), "DATABASE_URL="+dsn(pool))

	runBinary := func(stdin *os.File, env []string, args ...string) result {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Env = env
		cmd.Stdin = stdin // nil: /dev/null, which is not a terminal
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("run %v: %v", args, err)
		}
		return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	}
	expect := func(r result, code int, stdout string) {
		t.Helper()
		if r.code != code || !strings.Contains(fields(r.stdout), stdout) {
			t.Errorf("exit status %d (want %d), stdout %q (want it to contain %q), stderr %q", r.code, code, r.stdout, stdout, r.stderr)
		}
	}

	r := runBinary(nil, env, "--help")
	expect(r, exitOK, "Usage: sessionguard <command> [flags]")
	if r.stdout != helpText() {
		t.Errorf("--help printed\n%s", r.stdout)
	}
	expect(runBinary(nil, withoutDatabaseURL(os.Environ()), "stats"), exitUsage, "")
	expect(runBinary(nil, env, "stats", "--bogus"), exitUsage, "")

	expect(runBinary(nil, env, "migrate"), exitOK, "applied 026_")
	user := pgtest.CreateUser(t, pool, "ops@example.com", 0)
	f := &fixture{pool: pool, store: newStore(t, pool)}
	s, _ := f.session(t, sessionguard.NewSession{UserID: user, IP: "198.51.100.4"})

	expect(runBinary(nil, env, "sessions", "list", "--user", itoa(user)), exitOK, s.ID)
	expect(runBinary(nil, env, "stats"), exitOK, "total 1 0")
	// Not a terminal and no --yes: refused before anything changes.
	r = runBinary(nil, env, "sessions", "revoke", "--user", itoa(user), "--reason", "admin_revoke")
	expect(r, exitUsage, "")
	if !strings.Contains(r.stderr, "stdin is not a terminal") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = runBinary(nil, env, "sessions", "revoke", "--user", itoa(user), "--reason", "admin_revoke", "--yes", "--actor", itoa(user))
	expect(r, exitOK, "revoked 1 session")
	if !strings.Contains(r.stderr, "actor_id="+itoa(user)) || !strings.Contains(r.stderr, "os_user=") {
		t.Errorf("audit line %q", r.stderr)
	}
	if active, reason := f.endReason(t, s.ID); active || reason != "admin_revoke" {
		t.Errorf("session active %v, reason %q", active, reason)
	}
	expect(runBinary(nil, env, "cleanup"), exitOK, "ended 0 expired sessions")
	expect(runBinary(nil, env, "sessions", "revoke", "--session", s.ID, "--reason", "x", "--yes"), exitFailure, "")
}

func withoutDatabaseURL(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DATABASE_URL=") {
			out = append(out, kv)
		}
	}
	return out
}
