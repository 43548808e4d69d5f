package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed: database error, declined confirmation, ...
	exitUsage   = 2 // the command could not run as asked: bad flags, DATABASE_URL unset, no terminal
)

// command is one thing the program does, e.g. "sessions revoke".
type command struct {
	name    string // as typed: "sessions revoke"
	summary string // one line for the top-level help
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error
}

// usageError is an invocation the command cannot run (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// errHelpShown means --help was asked for and printed: exit status 0.
var errHelpShown = errors.New("help shown")

// exitCode maps what a command returned to the program's exit status.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitFailure
}

// flagSet is a command's flags. Parse errors and --help come back as errors
// for run to report, never printed by the flag package itself.
type flagSet struct {
	*flag.FlagSet
	name     string // "sessions revoke"
	synopsis string // "sessions revoke (--user N | --session ID | --everyone) --reason R"
	about    string // what the command does, paragraphs
}

func newFlagSet(name, synopsis, about string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, name: name, synopsis: synopsis, about: about}
}

// help is the command's --help text: synopsis, description, flags.
func (fs *flagSet) help() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Usage: sessionguard %s\n\n%s\n", fs.synopsis, strings.TrimSpace(fs.about))
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		b.WriteString("\nFlags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return b.String()
}

// parse parses args. On --help it prints the help to stdout and returns
// errHelpShown; a bad flag or a stray argument is a usage error.
func (fs *flagSet) parse(args []string, stdout io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = io.WriteString(stdout, fs.help())
		return errHelpShown
	}
	if err != nil {
		return &usageError{err: errors.New(notRepeated(err.Error(), args))}
	}
	if fs.NArg() > 0 {
		return usagef("%s", notRepeated(fmt.Sprintf("unexpected argument %q", fs.Arg(0)), args))
	}
	return nil
}

// tokenLength is the length of the shortest session token (32 random bytes
// in base64url; a JWT is longer). A value that long, in the wrong place,
// may be a token pasted there by mistake.
const tokenLength = 43

// notRepeated is msg, a parse error that may quote an argument (a stray
// one, or a flag's value the flag refused), with every value of args as
// long as a token taken out: no output may show a token.
func notRepeated(msg string, args []string) string {
	for _, a := range args {
		if _, value, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			a = value
		}
		if len(a) >= tokenLength {
			msg = strings.ReplaceAll(msg, a, "[a value as long as a token, not repeated]")
		}
	}
	return msg
}

// decimal is an integer flag read in base 10 only. The flag package's
// Int64 reads Go literals: "010" is octal 8 and "0x2A" is 42, so a user id
// typed with a leading zero named, and revoked the sessions of, another user,
// and --after 030 (a version as the file names write it) meant 24.
type decimal int64

func (d *decimal) String() string { return strconv.FormatInt(int64(*d), 10) }

func (d *decimal) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("not a decimal integer")
	}
	*d = decimal(v)
	return nil
}

// decimal defines an integer flag read in base 10 only (see the type
// decimal): ids and versions. Name the value in usage with backquotes for
// the help.
func (fs *flagSet) decimal(name, usage string) *int64 {
	var d decimal
	fs.Var(&d, name, usage)
	return (*int64)(&d)
}

// given reports whether the flag name was set on the command line.
func (fs *flagSet) given(name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
