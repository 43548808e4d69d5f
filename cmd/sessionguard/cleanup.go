package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sessionguard/sessionguard/pgstore"
)

func cleanupCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("cleanup", "cleanup [--retention DURATION [--yes]]", `
Runs one pgstore.Cleaner pass, the cleanup the README recommends: ends every
active session past its idle or absolute timeout (revoke_reason idle_timeout
or absolute_timeout), then deletes ended rows older than the retention, in
short batches. If a Cleaner of the application holds the cleanup lock at that
moment, this run does nothing and says so (exit status 0: the other one is
doing the work). Use the retention your application's Cleaner uses.

A retention below the default (90 days) deletes rows a Cleaner with the
default keeps, and a slip such as 1m (a minute, not a month) deletes nearly
every ended row: it asks on the terminal first, and without a terminal (a
script, a pipe) it refuses unless --yes is given.`)
	retention := fs.Duration("retention", pgstore.DefaultCleanupRetention,
		"delete ended rows older than this (e.g. 720h); 0 keeps every ended row")
	yes := fs.Bool("yes", false, "do not ask before a --retention below the default (required then when stdin is not a terminal)")
	lockTimeout := fs.lockTimeout()
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	cfg := pgstore.CleanerConfig{
		Retention: *retention,
		Logger:    slog.New(slog.DiscardHandler), // the result is printed below
	}
	switch {
	case *retention < 0:
		return usagef("--retention %v is negative (0 keeps every ended row)", *retention)
	case *retention == 0:
		cfg.Retention = -1 // CleanerConfig: negative keeps ended rows
	case *retention < time.Second:
		return usagef("--retention %v is below a second", *retention)
	}
	short := *retention > 0 && *retention < pgstore.DefaultCleanupRetention
	if short && !*yes && !isTerminal(stdin) {
		return usagef("--retention %v is below the default %v and stdin is not a terminal to ask for confirmation on: pass --yes to delete without asking",
			*retention, pgstore.DefaultCleanupRetention)
	}
	pool, err := connect(ctx, getenv, *lockTimeout)
	if err != nil {
		return err
	}
	defer pool.Close()
	cleaner, err := pgstore.NewCleaner(pool, cfg)
	if err != nil {
		return err
	}
	if short && !*yes {
		if err := confirm(ctx, stdin, stderr, fmt.Sprintf("Delete every session row that ended more than %v ago (the default keeps %v)?",
			*retention, pgstore.DefaultCleanupRetention)); err != nil {
			return err
		}
	}
	res, err := cleaner.RunOnce(ctx)
	if err != nil {
		if res.Ran {
			printCleanup(stdout, res, *retention)
		}
		return err
	}
	if !res.Ran {
		fmt.Fprintln(stdout, "another Cleaner holds the cleanup lock: this run did nothing")
		return nil
	}
	printCleanup(stdout, res, *retention)
	if !res.Finished {
		fmt.Fprintln(stdout, "stopped part way: another Cleaner took the cleanup lock and covers the rest with its own retention; run again to finish with this one")
	}
	return nil
}

func printCleanup(w io.Writer, res pgstore.CleanupResult, retention time.Duration) {
	fmt.Fprintf(w, "ended %d expired %s (idle_timeout %d, absolute_timeout %d)\n",
		res.Idle+res.Absolute, plural(res.Idle+res.Absolute, "session", "sessions"), res.Idle, res.Absolute)
	if retention == 0 {
		fmt.Fprintln(w, "kept every ended row (--retention 0)")
	} else {
		fmt.Fprintf(w, "deleted %d ended %s older than %v\n", res.Purged, plural(res.Purged, "row", "rows"), retention)
	}
	fmt.Fprintf(w, "%d %s, the longest %v\n", res.Batches, plural(res.Batches, "batch", "batches"), res.LongestBatch.Round(time.Microsecond))
}
