package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"unicode"
	"unicode/utf8"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

func revokeFlags() *flagSet {
	return newFlagSet("sessions revoke", "sessions revoke (--user N | --session ID | --everyone) --reason R [--actor N] [--yes]", `
Ends active sessions, recording the reason in sessions.revoke_reason: every
session of one user (--user), one session (--session, its id from "sessions
list"), or every session of every user (--everyone, after a leaked signing key
or a breach). A request with an ended session is refused with that reason,
and pgstore.Cache evicts it when PostgreSQL's notification arrives.

It says how many sessions it is about to end and asks on the terminal; only
"yes" (or "y") goes on. Without a terminal (a script, a pipe) it refuses unless --yes
is given.

Each revocation is written to stderr as an audit line (logfmt) with the reason,
the count, actor_id from --actor (your users.id, as an admin page records it)
and always os_user, host and, under sudo, sudo_user: the account that ran the
command, which the machine knows even when you have no users row.`)
}

// revokeTarget is what one revoke ends: exactly one of its fields is set.
type revokeTarget struct {
	userID    int64
	sessionID string
	everyone  bool
}

func sessionsRevokeCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := revokeFlags()
	user := fs.decimal("user", "end every active session of the user with this `id` (users.id)")
	session := fs.String("session", "", "end the session with this id (sessions.id, a UUID)")
	everyone := fs.Bool("everyone", false, "end every active session of every user")
	reason := fs.String("reason", "", "why, stored in sessions.revoke_reason (required), e.g. admin_revoke or account_disabled")
	actor := fs.decimal("actor", "your own users.`id`, recorded as the revocation's actor_id (optional)")
	yes := fs.Bool("yes", false, "do not ask for confirmation (required when stdin is not a terminal)")
	lockTimeout := fs.lockTimeout()
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	target, err := parseTarget(fs, *user, *session, *everyone)
	if err != nil {
		return err
	}
	if err := checkReason(fs, *reason); err != nil {
		return err
	}
	if fs.given("actor") && (*actor <= 0 || *actor > maxUserID) {
		return usagef("--actor %d is not a user id (1 to %d)", *actor, maxUserID)
	}
	if !*yes && !isTerminal(stdin) {
		return usagef("stdin is not a terminal to ask for confirmation on: pass --yes to revoke without asking")
	}

	store, pool, err := openStore(ctx, getenv, *lockTimeout, pgstore.Config{Logger: auditLogger(stderr, getenv)})
	if err != nil {
		return err
	}
	defer pool.Close()
	active, err := store.CountActive(ctx, target.selection())
	if err != nil {
		return err
	}
	if active == 0 {
		if target.sessionID != "" {
			return fmt.Errorf("no active session has id %s: nothing was changed", target.sessionID)
		}
		fmt.Fprintf(stdout, "nothing to revoke: %s\n", target.describe(0))
		return nil
	}
	if !*yes {
		if err := confirm(ctx, stdin, stderr, fmt.Sprintf("End %s with reason %q?", target.describe(active), *reason)); err != nil {
			return err
		}
	}

	if *actor > 0 {
		ctx = sessionguard.WithActor(ctx, *actor)
	}
	n, err := target.revoke(ctx, store, *reason)
	var gaveUp *lockWaitError
	if err != nil && errors.As(context.Cause(ctx), &gaveUp) {
		return fmt.Errorf("%w. The revoke is one statement: either every one of those sessions was ended or none was", gaveUp)
	}
	if err != nil && ctx.Err() != nil {
		// A Ctrl-C while the statement runs (waiting on a lock, say): pgx
		// asks the database to cancel it, but the answer never comes back.
		return fmt.Errorf("interrupted before the database answered: the revoke is one statement, so either every one "+
			"of those sessions was ended or none was (the database was asked to cancel it); "+
			"run the command again to see what is still active (%w)", err)
	}
	if err != nil {
		return err
	}
	if n == 0 && target.sessionID != "" {
		// Counted active, ended by something else (a logout, a Cleaner)
		// before the revoke ran: not this run's doing, nor its reason.
		return fmt.Errorf("no active session has id %s any more: it ended meanwhile, with another reason; nothing was changed", target.sessionID)
	}
	fmt.Fprintf(stdout, "revoked %d %s with reason %q\n", n, plural(n, "session", "sessions"), *reason)
	return nil
}

// uuidPattern is the canonical text form of sessions.id.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func parseTarget(fs *flagSet, user int64, session string, everyone bool) (revokeTarget, error) {
	given := 0
	for _, name := range []string{"user", "session", "everyone"} {
		if fs.given(name) {
			given++
		}
	}
	if given != 1 {
		return revokeTarget{}, usagef("give exactly one of --user, --session and --everyone")
	}
	switch {
	case fs.given("user"):
		if err := checkUserID(fs, user); err != nil {
			return revokeTarget{}, err
		}
		return revokeTarget{userID: user}, nil
	case fs.given("session"):
		if !uuidPattern.MatchString(session) {
			// Not repeated: what was pasted there may be the session's token
			// (a cookie's value), which no output may show.
			return revokeTarget{}, usagef("--session is not a session id: give its UUID, as \"sessions list\" shows (the value given is not repeated here: it may be a token)")
		}
		return revokeTarget{sessionID: session}, nil
	case !everyone:
		return revokeTarget{}, usagef("--everyone=false ends nothing: give --user, --session or --everyone")
	}
	return revokeTarget{everyone: true}, nil
}

// checkReason requires a reason that fits sessions.revoke_reason
// (VARCHAR(50)) and prints as it is: no control characters.
func checkReason(fs *flagSet, reason string) error {
	if !fs.given("reason") || reason == "" {
		return usagef("--reason is required, e.g. --reason admin_revoke")
	}
	if len(reason) > 50 || !utf8.ValidString(reason) {
		return usagef("--reason must be at most 50 bytes of UTF-8")
	}
	for _, r := range reason {
		if !unicode.IsGraphic(r) {
			return usagef("--reason must be printable text, without control characters")
		}
	}
	return nil
}

// selection is what the revoke would end, for counting it first.
func (t revokeTarget) selection() pgstore.Selection {
	return pgstore.Selection{UserID: t.userID, SessionID: t.sessionID} // everyone: the zero Selection
}

// describe says what the revoke ends, for the prompt and the output.
func (t revokeTarget) describe(active int) string {
	switch {
	case t.everyone:
		return fmt.Sprintf("%d active %s of every user", active, plural(active, "session", "sessions"))
	case t.sessionID != "":
		return "session " + t.sessionID
	}
	return fmt.Sprintf("%d active %s of user %d", active, plural(active, "session", "sessions"), t.userID)
}

func (t revokeTarget) revoke(ctx context.Context, store *pgstore.Store, reason string) (int, error) {
	switch {
	case t.everyone:
		return store.RevokeEveryone(ctx, reason)
	case t.sessionID != "":
		ok, err := store.RevokeSession(ctx, t.sessionID, reason)
		if ok {
			return 1, err
		}
		return 0, err
	}
	return store.RevokeAll(ctx, t.userID, reason)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
