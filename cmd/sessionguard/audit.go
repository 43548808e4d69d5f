package main

import (
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
)

// auditLogger is the store's logger for a command that changes sessions: one
// line per event on stderr, naming who ran the command on this machine.
//
// The acting user of the application (--actor, through sessionguard.WithActor) is
// what the library's events carry as actor_id, so an audit pipeline reads the
// command's revocations as it reads an admin page's. But the person at a
// shell during an incident may have no users row, and an --actor is only
// what they typed; the OS account (and the one sudo was called from) is what
// the machine itself knows, so every line carries it, whether or not --actor
// was given.
func auditLogger(stderr io.Writer, getenv func(string) string) *slog.Logger {
	attrs := []any{slog.String("os_user", osUser())}
	if s := getenv("SUDO_USER"); s != "" {
		attrs = append(attrs, slog.String("sudo_user", s))
	}
	if h, err := os.Hostname(); err == nil {
		attrs = append(attrs, slog.String("host", h))
	}
	return slog.New(slog.NewTextHandler(stderr, nil)).With(attrs...)
}

// osUser is the name of the account running the command, or its uid when the
// account has no name.
func osUser() string {
	u, err := user.Current()
	if err != nil {
		return "uid " + strconv.Itoa(os.Getuid())
	}
	return u.Username
}
