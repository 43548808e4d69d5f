package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// commands in the order the help lists them.
var commands = []command{
	{name: "migrate", summary: "apply the schema migrations; --print writes their SQL for a DBA instead", run: migrateCommand},
	{name: "sessions list", summary: "list a user's live sessions", run: sessionsListCommand},
	{name: "sessions revoke", summary: "end one session, a user's sessions or everyone's; asks first", run: sessionsRevokeCommand},
	{name: "cleanup", summary: "end expired sessions and delete old ended rows, once", run: cleanupCommand},
	{name: "stats", summary: "live sessions by app and tenant, ended ones by reason, the oldest", run: statsCommand},
}

// helpText is the top-level --help. README.md's "Operating it" shows it
// verbatim (TestReadmeShowsHelp).
func helpText() string {
	var b strings.Builder
	b.WriteString(`sessionguard operates sessionguard's sessions table from a shell.

Usage: sessionguard <command> [flags]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-17s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Every command but "migrate --print" connects to the PostgreSQL database named
by the DATABASE_URL environment variable (a URL or key=value string). There is
no flag for it: a password stays out of the process list and shell history.
"sessionguard <command> --help" describes a command and its flags.

Exit status: 0 success; 1 failure (database error, confirmation declined, no
such session); 2 usage error (bad flags, DATABASE_URL unset or malformed,
revoke or cleanup below the default retention with no terminal to ask on and
no --yes).
`)
	return b.String()
}

// run is the program: it finds the command named by args, runs it and
// returns the exit status. Errors go to stderr, results to stdout.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c, rest, err := find(args)
	if err == nil {
		err = runCommand(ctx, c, rest, stdin, stdout, stderr, getenv)
	}
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	report(stderr, c, err)
	return exitCode(err)
}

// runCommand runs c under a context that the lock watch (connect) may
// cancel, and reports why it did in place of the error the cancelled
// statement returned: "context canceled" would leave the operator to guess.
func runCommand(ctx context.Context, c command, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	err := c.run(withGiveUp(ctx, cancel), args, stdin, stdout, stderr, getenv)
	var gaveUp *lockWaitError
	if err != nil && !errors.As(err, &gaveUp) && errors.As(context.Cause(ctx), &gaveUp) {
		return gaveUp
	}
	return err
}

// find picks the command from the leading words of args. "help", -h and
// --help print the top-level help, "help <command>" the command's.
func find(args []string) (command, []string, error) {
	if len(args) == 0 {
		return command{}, nil, &usageError{err: errors.New("no command given")}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" { // "help sessions revoke" is "sessions revoke --help"
			c, _, err := find(args[1:])
			return c, []string{"--help"}, err
		}
		return command{run: func(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer, _ func(string) string) error {
			_, _ = io.WriteString(stdout, helpText())
			return errHelpShown
		}}, nil, nil
	}
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], nil
		}
	}
	if args[0] == "sessions" && len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		return command{}, nil, usagef("%s", notRepeated(fmt.Sprintf("unknown command \"sessions %s\" (want \"sessions list\" or \"sessions revoke\")", args[1]), args))
	}
	if args[0] == "sessions" {
		return command{}, nil, &usageError{err: errors.New("\"sessions\" needs a subcommand: list or revoke")}
	}
	return command{}, nil, usagef("%s", notRepeated(fmt.Sprintf("unknown command %q", args[0]), args))
}

// report writes err for a person, and for a usage error where the help is.
func report(stderr io.Writer, c command, err error) {
	prefix := "sessionguard"
	if c.name != "" {
		prefix += " " + c.name
	}
	fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", prefix)
	}
}
