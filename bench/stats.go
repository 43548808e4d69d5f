package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/pgstore"
)

// statsApp is the application_name of the bench's own measuring
// connection, left out of every count.
const statsApp = "bench-stats"

// counters are cluster-wide PostgreSQL counters at one moment.
type counters struct {
	statements int64 // pg_stat_statements calls of top-level statements in both databases
	updates    int64 // pg_stat_database.tup_updated of both databases
	hotUpdates int64 // n_tup_hot_upd of sessionguard's sessions table
	walBytes   int64 // pg_current_wal_lsn, in bytes
}

func (c counters) sub(o counters) counters {
	return counters{c.statements - o.statements, c.updates - o.updates, c.hotUpdates - o.hotUpdates, c.walBytes - o.walBytes}
}

// snapshot reads the counters through stats, a pool on the bench database.
// It first makes sure that every backend that served requests has exited:
// PostgreSQL backends publish their row counts only every second or when
// they exit, so the pools are reset and the backends awaited. A backend
// leaves pg_stat_activity before its process ends, so snapshot then waits
// for the processes to be gone too (reaped by the postmaster): only then is
// their CPU time in the postmaster's cutime, counted to the nanosecond and
// rounded once, rather than rounded down to a 10 ms tick per process, which
// loses all of a short window's work (postgresCPU). It waits for the
// backends that ran before the reset only: a Cache's liveness probe (a
// notification through its pool each HealthCheckInterval) opens a new one
// within a second, whose work is counted in the next window.
func snapshot(ctx context.Context, stats *pgxpool.Pool, pools ...*pgxpool.Pool) (counters, error) {
	const benchBackends = `FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND datname IN ($1, $2)
		  AND application_name NOT IN ($3, $4)`
	args := []any{benchDB, scsDB, statsApp, pgstore.ListenerApplicationName}
	rows, err := stats.Query(ctx, "SELECT pid "+benchBackends, args...)
	if err != nil {
		return counters{}, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return counters{}, err
	}
	for _, p := range pools {
		p.Reset()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := stats.QueryRow(ctx, "SELECT count(*) "+benchBackends+" AND pid = ANY($5)", append(args, pids)...).Scan(&n); err != nil {
			return counters{}, err
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return counters{}, fmt.Errorf("%d backends still running after the pools were reset", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, pid := range pids {
		for processExists(pid) {
			if time.Now().After(deadline) {
				return counters{}, fmt.Errorf("backend process %d not reaped after its pool was reset", pid)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var c counters
	err = stats.QueryRow(ctx, `SELECT
		(SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
			WHERE s.toplevel AND d.datname IN ($1, $2) AND s.query NOT LIKE '%pg\_stat%'),
		(SELECT sum(tup_updated)::bigint FROM pg_stat_database WHERE datname IN ($1, $2)),
		(SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'sessions'::regclass),
		pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint`, benchDB, scsDB).
		Scan(&c.statements, &c.updates, &c.hotUpdates, &c.walBytes)
	return c, err
}

// staleSessions counts the set's active sessions whose last touch is at
// least interval old: a window that starts with any would count touches
// that its own warm-up should have made.
func staleSessions(ctx context.Context, stats *pgxpool.Pool, set *sessionSet, interval time.Duration) (int, error) {
	var n int
	err := stats.QueryRow(ctx, `SELECT count(*) FROM sessions
		WHERE is_active AND user_id BETWEEN $1 AND $2 AND now() - last_activity_at >= make_interval(secs => $3)`,
		set.users[0], set.users[1], interval.Seconds()).Scan(&n)
	return n, err
}

// alignTouches moves to now the last touch of the set's live sessions that
// would come due within the next ahead, and reports how many it moved.
func alignTouches(ctx context.Context, pool *pgxpool.Pool, set *sessionSet, interval, ahead time.Duration) (int, error) {
	tag, err := pool.Exec(ctx, `UPDATE sessions SET last_activity_at = now()
		WHERE is_active AND user_id BETWEEN $1 AND $2
		  AND now() - last_activity_at >= make_interval(secs => $3)`,
		set.users[0], set.users[1], max(interval-ahead, 0).Seconds())
	return int(tag.RowsAffected()), err
}
