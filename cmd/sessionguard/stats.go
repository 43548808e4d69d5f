package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The statistics are read in one read-only, repeatable-read transaction, so
// its numbers describe one moment (CURRENT_TIMESTAMP is the transaction's
// start). "Live" is pgstore's rule: active and within both timeouts by the
// database's clock; an active row past a timeout awaits cleanup.
const (
	activeByScopeSQL = `SELECT app_type, coalesce(tenant_id, 0),
		count(*) FILTER (WHERE live), count(*) FILTER (WHERE NOT live)
	FROM (SELECT app_type, tenant_id,
	             absolute_expires_at > CURRENT_TIMESTAMP
	             AND last_activity_at + make_interval(secs => idle_timeout_seconds) > CURRENT_TIMESTAMP AS live
	      FROM sessions WHERE is_active = true) s
	GROUP BY 1, 2 ORDER BY 1, 2`
	endedByReasonSQL = `SELECT coalesce(revoke_reason, ''), count(*)
	FROM sessions
	WHERE is_active = false AND ended_at > CURRENT_TIMESTAMP - make_interval(secs => $1)
	GROUP BY 1 ORDER BY 2 DESC, 1`
	oldestLiveSQL = `SELECT id::text, user_id, coalesce(tenant_id, 0), app_type, created_at, CURRENT_TIMESTAMP
	FROM sessions
	WHERE is_active = true
	  AND absolute_expires_at > CURRENT_TIMESTAMP
	  AND last_activity_at + make_interval(secs => idle_timeout_seconds) > CURRENT_TIMESTAMP
	ORDER BY created_at, id LIMIT 1`
)

func statsCommand(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer, getenv func(string) string) error {
	fs := newFlagSet("stats", "stats [--since DURATION]", `
Prints, as of one moment of the database's clock: the live sessions by app
type and tenant, with the active rows past a timeout that await cleanup (a
growing number means no Cleaner runs); the sessions ended in the last 24 hours
(--since) by reason; and the oldest live session. It only reads.`)
	since := fs.Duration("since", 24*time.Hour, "count ended sessions over this past period")
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if *since < time.Second {
		return usagef("--since %v is below a second", *since)
	}
	pool, err := connect(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	return readStats(ctx, pool, stdout, *since)
}

func readStats(ctx context.Context, pool *pgxpool.Pool, w io.Writer, since time.Duration) error {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return pgx.BeginTxFunc(ctx, pool, opts, func(tx pgx.Tx) error {
		if err := printActive(ctx, tx, w); err != nil {
			return err
		}
		if err := printEnded(ctx, tx, w, since); err != nil {
			return err
		}
		return printOldest(ctx, tx, w)
	})
}

func printActive(ctx context.Context, tx pgx.Tx, w io.Writer) error {
	rows, err := tx.Query(ctx, activeByScopeSQL)
	if err != nil {
		return fmt.Errorf("stats: active sessions: %w", err)
	}
	var (
		app               string
		tenantID          int64
		live, stale       int64
		totLive, totStale int64
	)
	t := newTable(w)
	row(t, "APP", "TENANT", "LIVE", "AWAITING CLEANUP")
	_, err = pgx.ForEachRow(rows, []any{&app, &tenantID, &live, &stale}, func() error {
		row(t, app, tenant(tenantID), fmt.Sprint(live), fmt.Sprint(stale))
		totLive += live
		totStale += stale
		return nil
	})
	if err != nil {
		return fmt.Errorf("stats: active sessions: %w", err)
	}
	row(t, "total", "", fmt.Sprint(totLive), fmt.Sprint(totStale))
	return t.Flush()
}

func printEnded(ctx context.Context, tx pgx.Tx, w io.Writer, since time.Duration) error {
	rows, err := tx.Query(ctx, endedByReasonSQL, int64(since/time.Second))
	if err != nil {
		return fmt.Errorf("stats: ended sessions: %w", err)
	}
	var (
		reason string
		n      int64
	)
	fmt.Fprintf(w, "\nended in the last %v\n", since)
	t := newTable(w)
	row(t, "REASON", "SESSIONS")
	_, err = pgx.ForEachRow(rows, []any{&reason, &n}, func() error {
		row(t, orDash(reason), fmt.Sprint(n))
		return nil
	})
	if err != nil {
		return fmt.Errorf("stats: ended sessions: %w", err)
	}
	return t.Flush()
}

func printOldest(ctx context.Context, tx pgx.Tx, w io.Writer) error {
	var (
		id           string
		userID, tid  int64
		app          string
		created, now time.Time
	)
	err := tx.QueryRow(ctx, oldestLiveSQL).Scan(&id, &userID, &tid, &app, &created, &now)
	if errors.Is(err, pgx.ErrNoRows) {
		fmt.Fprintln(w, "\noldest live session: none")
		return nil
	}
	if err != nil {
		return fmt.Errorf("stats: oldest live session: %w", err)
	}
	fmt.Fprintf(w, "\noldest live session: %s, user %d, %s, tenant %s, created %s (%v ago)\n",
		id, userID, printable(app), tenant(tid), timestamp(created), now.Sub(created).Truncate(time.Second))
	return nil
}
