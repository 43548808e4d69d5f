package main

import (
	"os"
	"strings"
	"testing"
)

// TestUsage covers the invocations that never reach a database: help, bad
// commands and flags, and the checks each command makes before connecting.
func TestUsage(t *testing.T) {
	t.Parallel()
	noDB := map[string]string{}
	withDB := map[string]string{"DATABASE_URL": "host=/nonexistent port=1 user=nobody dbname=none"}
	const session = "0b6f1c9e-6a4e-4a53-9d0e-0c1a6b2f3d4e"
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout string // a substring of stdout; "" means empty
		stderr string // a substring of stderr; "" means empty
	}{
		{"no command", noDB, nil, exitUsage, "", "no command given"},
		{"help", noDB, []string{"help"}, exitOK, "Usage: sessionguard <command> [flags]", ""},
		{"--help", noDB, []string{"--help"}, exitOK, "Exit status: 0 success", ""},
		{"-h", noDB, []string{"-h"}, exitOK, "Commands:", ""},
		{"help for a command", noDB, []string{"help", "sessions", "list"}, exitOK, "Usage: sessionguard sessions list --user N", ""},
		{"help for an unknown command", noDB, []string{"help", "frob"}, exitUsage, "", `unknown command "frob"`},
		{"unknown command", noDB, []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"sessions alone", noDB, []string{"sessions"}, exitUsage, "", "needs a subcommand"},
		{"sessions unknown", noDB, []string{"sessions", "purge"}, exitUsage, "", `unknown command "sessions purge"`},
		{"bad flag", noDB, []string{"stats", "--verbose"}, exitUsage, "", "flag provided but not defined: -verbose"},
		{"stray argument", noDB, []string{"cleanup", "now"}, exitUsage, "", `unexpected argument "now"`},
		{"usage error points at help", noDB, []string{"stats", "--verbose"}, exitUsage, "", "Run 'sessionguard stats --help' for usage."},
		{"DATABASE_URL unset", noDB, []string{"stats"}, exitUsage, "", "DATABASE_URL is not set"},
		{"migrate: --after without --print", noDB, []string{"migrate", "--after", "22"}, exitUsage, "", "--after goes with --print"},
		{"migrate --print: after an unknown version", noDB, []string{"migrate", "--print", "--after", "9999"}, exitFailure, "", "the latest migration of this build is"},
		{"list: no --user", withDB, []string{"sessions", "list"}, exitUsage, "", "--user is required"},
		{"list: --user 0", withDB, []string{"sessions", "list", "--user", "0"}, exitUsage, "", "--user 0 is not a user id"},
		{"list: --user too big", withDB, []string{"sessions", "list", "--user", "2147483648"}, exitUsage, "", "is not a user id"},
		{"revoke: no target", withDB, []string{"sessions", "revoke", "--reason", "x", "--yes"}, exitUsage, "", "exactly one of --user, --session and --everyone"},
		{"revoke: two targets", withDB, []string{"sessions", "revoke", "--user", "1", "--everyone", "--reason", "x", "--yes"}, exitUsage, "", "exactly one of"},
		{"revoke: --everyone=false", withDB, []string{"sessions", "revoke", "--everyone=false", "--reason", "x", "--yes"}, exitUsage, "", "ends nothing"},
		{"revoke: no reason", withDB, []string{"sessions", "revoke", "--user", "1", "--yes"}, exitUsage, "", "--reason is required"},
		{"revoke: empty reason", withDB, []string{"sessions", "revoke", "--user", "1", "--reason", "", "--yes"}, exitUsage, "", "--reason is required"},
		{"revoke: long reason", withDB, []string{"sessions", "revoke", "--user", "1", "--reason", strings.Repeat("r", 51), "--yes"}, exitUsage, "", "at most 50 bytes"},
		{"revoke: control characters in reason", withDB, []string{"sessions", "revoke", "--user", "1", "--reason", "a\nb", "--yes"}, exitUsage, "", "printable"},
		{"revoke: bad session id", withDB, []string{"sessions", "revoke", "--session", "not-a-uuid", "--reason", "x", "--yes"}, exitUsage, "", "--session is not a session id"},
		{"revoke: bad user id", withDB, []string{"sessions", "revoke", "--user", "-3", "--reason", "x", "--yes"}, exitUsage, "", "--user -3 is not a user id"},
		{"revoke: hex user id", withDB, []string{"sessions", "revoke", "--user", "0x2A", "--reason", "x", "--yes"}, exitUsage, "", `invalid value "0x2A" for flag -user: not a decimal integer`},
		{"list: user id with underscores", withDB, []string{"sessions", "list", "--user", "1_000"}, exitUsage, "", "not a decimal integer"},
		{"revoke: bad actor", withDB, []string{"sessions", "revoke", "--session", session, "--reason", "x", "--actor", "0", "--yes"}, exitUsage, "", "--actor 0 is not a user id"},
		{"revoke: no terminal, no --yes", withDB, []string{"sessions", "revoke", "--user", "1", "--reason", "x"}, exitUsage, "", "stdin is not a terminal"},
		{"cleanup: negative retention", withDB, []string{"cleanup", "--retention", "-1h"}, exitUsage, "", "negative"},
		{"cleanup: retention below a second", withDB, []string{"cleanup", "--retention", "10ms"}, exitUsage, "", "below a second"},
		{"stats: --since 0", withDB, []string{"stats", "--since", "0s"}, exitUsage, "", "below a second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tt.env, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit status %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			check := func(stream, got, want string) {
				if want == "" && got != "" || !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", stream, got, want)
				}
			}
			check("stdout", r.stdout, tt.stdout)
			check("stderr", r.stderr, tt.stderr)
		})
	}
}

// TestCommandHelp: every command answers --help on stdout with its usage and
// its flags, and exits 0 without needing a database.
func TestCommandHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, flag := range []string{"--help", "-h"} {
				r := runCmd(t, nil, nil, append(strings.Fields(c.name), flag)...)
				if r.code != exitOK || r.stderr != "" {
					t.Fatalf("%s %s: exit status %d, stderr %q", c.name, flag, r.code, r.stderr)
				}
				if !strings.HasPrefix(r.stdout, "Usage: sessionguard "+c.name) {
					t.Errorf("%s %s: help starts %q", c.name, flag, firstLine(r.stdout))
				}
				for _, line := range strings.Split(r.stdout, "\n") {
					if len([]rune(line)) > 110 {
						t.Errorf("%s help line longer than 110 characters: %q", c.name, line)
					}
				}
			}
		})
	}
}

// TestDatabaseURLNeverShown: neither a malformed DATABASE_URL nor a failed
// connection repeats the password.
func TestDatabaseURLNeverShown(t *testing.T) {
	t.Parallel()
	const password = "s3cret-Pa55word"
	tests := []struct {
		name string
		url  string
		code int
	}{
		{"malformed URL", "postgres://admin:" + password + "@127.0.0.1:notaport/app", exitUsage},
		{"malformed key=value", "host=127.0.0.1 password=" + password + " port=x", exitUsage},
		{"bad setting", "host=127.0.0.1 port=1 password='" + password + "' sslmode=sometimes", exitUsage},
		{"unreachable server", "postgres://admin:" + password + "@127.0.0.1:1/app?connect_timeout=5", exitFailure},
		// A password with an unencoded '/' ends the URL's authority there:
		// the user becomes the host, the digits before the '/' its port, and
		// the rest of the password the database name, which the connection
		// error repeats. (User "localhost" keeps the misread host on this
		// machine.)
		{"password with a slash", "postgres://localhost:4321/" + password + "@127.0.0.1:1/app?connect_timeout=5", exitUsage},
		// pgx reads a URL as libpq does: only a '/' ends the search for the
		// user information's '@', so a '#' or '?' in a password is part of
		// it, and such a URL connects as meant.
		{"password with a hash", "postgres://localhost:4321#" + password + "@127.0.0.1:1/app?connect_timeout=5", exitFailure},
		{"password with a question mark", "postgres://localhost:4321?" + password + "@127.0.0.1:1/app?connect_timeout=5", exitFailure},
		// Only the first '@' ends the user information: the rest of a
		// password with an unencoded '@' is read as the host (or, after a
		// '/', as the database name), which the connection error repeats.
		{"password with an @", "postgres://admin:x@" + password + "@127.0.0.1:1/app?connect_timeout=5", exitUsage},
		{"password with an @ among several hosts", "postgres://admin:x@127.0.0.1:1," + password + "@127.0.0.1:1/app?connect_timeout=5", exitUsage},
		{"password with an @ and a slash", "postgres://admin:x@localhost:4321/" + password + "@127.0.0.1:1/app?connect_timeout=5", exitUsage},
		{"@ in the database name", "postgres://admin:" + password + "@127.0.0.1:1/app@eu?connect_timeout=5", exitFailure},
		{"@ in the query", "postgres://admin:" + password + "@127.0.0.1:1/app?connect_timeout=5&application_name=ops@host", exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, map[string]string{"DATABASE_URL": tt.url}, nil, "stats")
			if r.code != tt.code {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			if r.stderr == "" {
				t.Error("no error message")
			}
			if strings.Contains(r.stderr+r.stdout, password) {
				t.Errorf("the password is in the output: %q", r.stderr)
			}
		})
	}
}

// TestSessionTokenNotRepeated: a token pasted into --session by mistake (a
// cookie's value instead of the session's id) is refused without being
// repeated, not even its first 39 characters, which left a guess of the rest.
func TestSessionTokenNotRepeated(t *testing.T) {
	t.Parallel()
	const token = "q3V9xJr0Zk2bT8mW5yLpN4aHcE1uG7dS6fQ0iO2vKxY" // 32 random bytes, base64url
	withDB := map[string]string{"DATABASE_URL": "host=/nonexistent port=1 user=nobody dbname=none"}
	for _, args := range [][]string{
		{"sessions", "revoke", "--session", token, "--reason", "admin_revoke", "--yes"},
		{"sessions", "revoke", "--session=" + token, "--reason", "admin_revoke", "--yes"},
		// The same slip elsewhere: without --session (a stray argument),
		// or in a flag that refuses the value.
		{"sessions", "revoke", token, "--reason", "admin_revoke", "--yes"},
		{"sessions", "revoke", "--user", token, "--reason", "admin_revoke", "--yes"},
		{"sessions", "list", "--user=" + token},
		{"sessions", "list", "--user", "5", token},
		{"sessions", token, "--reason", "admin_revoke"},
		{token, "revoke"},
	} {
		r := runCmd(t, withDB, nil, args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit status %d, want %d", args[:2], r.code, exitUsage)
		}
		if strings.Contains(r.stderr+r.stdout, token[:8]) {
			t.Errorf("%v: the token is repeated: %q", args[:2], r.stderr)
		}
	}
	// A short stray argument is still named, to be found and fixed.
	if r := runCmd(t, withDB, nil, "sessions", "list", "--user", "5", "extra"); r.code != exitUsage || !strings.Contains(r.stderr, `"extra"`) {
		t.Errorf("stray argument: exit status %d, stderr %q", r.code, r.stderr)
	}
}

// TestReadmeShowsHelp: README.md's "Operating it" section shows the
// top-level help verbatim.
func TestReadmeShowsHelp(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Operating it\n")
	if !ok {
		t.Fatal(`README.md has no "## Operating it" section`)
	}
	_, block, ok := strings.Cut(section, "\n```text\n")
	if !ok {
		t.Fatal("the section has no ```text block")
	}
	block, _, ok = strings.Cut(block, "```\n")
	if !ok {
		t.Fatal("the ```text block is not closed")
	}
	if want := helpText(); block != want {
		t.Errorf("README.md shows\n%s\nbut sessionguard --help prints\n%s", block, want)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
