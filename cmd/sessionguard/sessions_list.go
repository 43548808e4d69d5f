package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// userAgentWidth is how much of a user agent the list shows.
const userAgentWidth = 60

func sessionsListCommand(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer, getenv func(string) string) error {
	fs := newFlagSet("sessions list", "sessions list --user N", `
Lists the live sessions of one user (active and within both timeouts, by the
database's clock), most recently active first: id, app type, tenant, client
address, user agent (at most 60 characters; control characters escaped),
created, last activity and expires (the earlier of the idle and the absolute
timeout, if the session stays idle). Times are UTC. Token hashes are never
shown.`)
	user := fs.decimal("user", "the user's `id` (users.id)")
	lockTimeout := fs.lockTimeout()
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if err := checkUserID(fs, *user); err != nil {
		return err
	}
	store, pool, err := openStore(ctx, getenv, *lockTimeout, pgstore.Config{})
	if err != nil {
		return err
	}
	defer pool.Close()
	infos, err := store.ListActive(ctx, *user)
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		fmt.Fprintf(stdout, "user %d has no live sessions\n", *user)
		return nil
	}
	t := newTable(stdout)
	row(t, "ID", "APP", "TENANT", "IP", "USER AGENT", "CREATED", "LAST ACTIVITY", "EXPIRES")
	for _, s := range infos {
		row(t, s.ID, string(s.AppType), tenant(s.TenantID), orDash(s.IP), shorten(orDash(s.UserAgent), userAgentWidth),
			timestamp(s.CreatedAt), timestamp(s.LastActivityAt), timestamp(expires(s)))
	}
	return t.Flush()
}

// expires is when the session ends if it stays idle: the earlier of its idle
// and absolute expiry.
func expires(s sessionguard.SessionInfo) time.Time {
	idle := s.LastActivityAt.Add(s.IdleTimeout)
	if idle.Before(s.AbsoluteExpiresAt) {
		return idle
	}
	return s.AbsoluteExpiresAt
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// maxUserID is the largest users.id the seed's INTEGER column holds.
const maxUserID = 1<<31 - 1

// checkUserID requires --user to be a valid users.id.
func checkUserID(fs *flagSet, id int64) error {
	if !fs.given("user") {
		return usagef("--user is required")
	}
	if id <= 0 || id > maxUserID {
		return usagef("--user %d is not a user id (1 to %d)", id, maxUserID)
	}
	return nil
}
