package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sessionguard/sessionguard/pgstore"
)

func statsCommand(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer, getenv func(string) string) error {
	fs := newFlagSet("stats", "stats [--since DURATION]", `
Prints, as of one moment of the database's clock: the live sessions by app
type and tenant, with the active rows past a timeout that await cleanup (a
growing number means no Cleaner runs); the sessions ended in the last 24 hours
(--since) by reason; and the oldest live session. It only reads.`)
	since := fs.Duration("since", 24*time.Hour, "count ended sessions over this past period")
	lockTimeout := fs.lockTimeout()
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if *since < time.Second {
		return usagef("--since %v is below a second", *since)
	}
	store, pool, err := openStore(ctx, getenv, *lockTimeout, pgstore.Config{})
	if err != nil {
		return err
	}
	defer pool.Close()
	st, err := store.Stats(ctx, *since)
	if err != nil {
		return err
	}
	if err := printScopes(stdout, st.Scopes); err != nil {
		return err
	}
	if err := printEnded(stdout, st.Ended, *since); err != nil {
		return err
	}
	printOldest(stdout, st)
	return nil
}

func printScopes(w io.Writer, scopes []pgstore.ScopeStats) error {
	var live, stale int
	t := newTable(w)
	row(t, "APP", "TENANT", "LIVE", "AWAITING CLEANUP")
	for _, sc := range scopes {
		row(t, string(sc.AppType), tenant(sc.TenantID), fmt.Sprint(sc.Live), fmt.Sprint(sc.AwaitingCleanup))
		live += sc.Live
		stale += sc.AwaitingCleanup
	}
	row(t, "total", "", fmt.Sprint(live), fmt.Sprint(stale))
	return t.Flush()
}

func printEnded(w io.Writer, ended []pgstore.ReasonCount, since time.Duration) error {
	fmt.Fprintf(w, "\nended in the last %v\n", since)
	t := newTable(w)
	row(t, "REASON", "SESSIONS")
	for _, e := range ended {
		row(t, orDash(e.Reason), fmt.Sprint(e.Count))
	}
	return t.Flush()
}

func printOldest(w io.Writer, st pgstore.Stats) {
	s := st.OldestLive
	if s.ID == "" {
		fmt.Fprintln(w, "\noldest live session: none")
		return
	}
	fmt.Fprintf(w, "\noldest live session: %s, user %d, %s, tenant %s, created %s (%v ago)\n",
		s.ID, s.UserID, printable(string(s.AppType)), tenant(s.TenantID), timestamp(s.CreatedAt), st.At.Sub(s.CreatedAt).Truncate(time.Second))
}
