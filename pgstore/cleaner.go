package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionguard/sessionguard"
)

// Cleaner defaults.
const (
	DefaultCleanupRetention = 90 * 24 * time.Hour
	DefaultCleanupBatchSize = 1000
	// DefaultCleanupLockKey is the PostgreSQL advisory lock key ("sgclean1")
	// that keeps two Cleaners' batches on one database from running at once.
	DefaultCleanupLockKey int64 = 0x7367636c65616e31
)

// CleanerConfig configures a Cleaner. The zero value of every field means its
// default.
type CleanerConfig struct {
	// Interval is the time between two runs of Run. 0 (default) disables
	// Run, which then returns at once; RunOnce still works, for apps that
	// schedule cleanup themselves.
	Interval time.Duration
	// Retention is how long an ended session row is kept (for audit and "your
	// past sessions" pages) before it is deleted. Default 90 days; negative
	// keeps ended rows forever.
	Retention time.Duration
	// BatchSize is the most rows one statement handles (default 1000): the
	// expiry reads the next BatchSize active sessions and ends the expired
	// ones among them; the purge deletes up to BatchSize ended rows. Each
	// batch is its own short transaction, so cleanup never holds row locks
	// on a large part of the table, and it skips rows another transaction
	// has locked (a request touching its session) rather than wait for them.
	// Above 1,000, a batch that ends more than 1,000 sessions makes every
	// Cache forget everything (migration 030's limit per transaction).
	BatchSize int
	// LockKey is the key of the transaction-scoped advisory lock that each
	// batch takes, so that Cleaners on one database take turns (default
	// DefaultCleanupLockKey). Change it only if the key collides with
	// another use of advisory locks in the database.
	LockKey int64
	// Logger receives one line per run that did something (Info) and run
	// errors (Error). Default slog.Default().
	Logger *slog.Logger
	// OnEvent, when set, receives the run's counts as events: EventExpired
	// (Reason idle_timeout or absolute_timeout, Count) and EventPurged
	// (Count), only when the count is not zero. It runs on the Cleaner's
	// goroutine and must be quick.
	OnEvent func(sessionguard.Event)
	// MeterProvider and TracerProvider, when set, receive the runs' metrics
	// (runs, duration, sessions ended and purged) and a span per run, as
	// pgstore.Config's do for a Store. Default nil: none.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// CleanupResult is what one cleanup run did.
type CleanupResult struct {
	// Ran is false when another Cleaner was at work (its batch held the
	// lock), so this one did nothing.
	Ran bool
	// Finished is true when the run walked every active session and
	// purged every ended row past Retention that it could lock. A run
	// that ran (Ran) and found another Cleaner's batch in its turn part
	// way stopped there (false, with no error): that Cleaner covers the
	// rest, with its own Retention.
	Finished bool
	Absolute int // sessions ended by their absolute timeout
	Idle     int // sessions ended by their idle timeout
	Purged   int // ended rows deleted after the retention period
	Batches  int // batches run (expire and purge), one statement each
	// LongestBatch is the longest a single batch's transaction took: the
	// longest any row lock taken by the cleanup was held.
	LongestBatch time.Duration
}

// Cleaner ends expired sessions and deletes old ended rows, in bounded
// batches, with at most one batch per database at work at a time. It is
// the scalable replacement of calling the seed's cleanup_expired_sessions,
// which ends every expired session in two unbounded statements.
type Cleaner struct {
	pool *pgxpool.Pool
	cfg  CleanerConfig
	tel  *cleanerTelemetry // nil: no metrics, no spans
	// inTurn, when set (by tests), runs in each batch's transaction right
	// after the lock is taken.
	inTurn func()
}

// NewCleaner returns a Cleaner over pool, which the caller owns.
func NewCleaner(pool *pgxpool.Pool, cfg CleanerConfig) (*Cleaner, error) {
	const op = "new cleaner"
	if pool == nil {
		return nil, invalid(op, "nil pool")
	}
	switch {
	case cfg.Interval < 0:
		return nil, invalid(op, "Interval %v is negative", cfg.Interval)
	case cfg.BatchSize < 0:
		return nil, invalid(op, "BatchSize %d is negative", cfg.BatchSize)
	case cfg.Retention > 0 && cfg.Retention < time.Second:
		return nil, invalid(op, "Retention %v is below a second", cfg.Retention)
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultCleanupRetention
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultCleanupBatchSize
	}
	if cfg.LockKey == 0 {
		cfg.LockKey = DefaultCleanupLockKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tel, err := newCleanerTelemetry(cfg.MeterProvider, cfg.TracerProvider)
	if err != nil {
		return nil, invalid(op, "MeterProvider: %v", err)
	}
	return &Cleaner{pool: pool, cfg: cfg, tel: tel}, nil
}

// Run cleans up now and then every Interval, until ctx ends; it then returns
// ctx's error. A failed run is logged and retried at the next interval. With
// Interval 0 it returns nil at once.
func (c *Cleaner) Run(ctx context.Context) error {
	if c.cfg.Interval == 0 {
		return nil
	}
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := c.RunOnce(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Logger.LogAttrs(ctx, slog.LevelError, "sessionguard: cleanup failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// The expiry walks the active sessions once per run, in id order, through
// idx_sessions_active_id (migration 025: id, partial on is_active), one page
// of BatchSize rows per statement: each page starts after the last id of the
// previous one (keyset pagination), so no statement reads again what an
// earlier one read — neither the live sessions it passed nor the entries of
// the rows it ended (dead until vacuum). Reading the due rows from the start
// of an index instead made each batch step over all of them again: ending a
// large backlog took time growing with its square.
//
// One page ends its expired rows with the revoke_reason
// cleanup_expired_sessions gives them: absolute_timeout when the absolute
// timeout has passed (whether or not the idle one has too), idle_timeout
// otherwise. The idle expiry is computed per row, so no index on
// last_activity_at is needed (there must be none: touches stay HOT). Only the
// page's expired rows are locked (looked up again by id), and the expiry is
// checked again on the row's newest version, so a session a request touched
// meanwhile stays live. Rows another transaction has locked (a request touching its
// session) are skipped, not waited for; the next run gets them.
//
// The statement returns the page's size and last id (the next page starts
// after it), then the counts of sessions ended by absolute and idle timeout.
const (
	expirePageHead = `WITH page AS (
		SELECT id, NOT (` + withinTimeoutsSQL + `) AS due
		FROM sessions s
		WHERE is_active = true`
	expirePageTail = `
		ORDER BY id
		LIMIT $1
	), batch AS (
		SELECT id FROM sessions s
		WHERE id = ANY (ARRAY(SELECT id FROM page WHERE due))
		  AND is_active = true
		  AND NOT (` + withinTimeoutsSQL + `)
		FOR UPDATE SKIP LOCKED
	), ended AS (
		UPDATE sessions s
		SET is_active = false, revoked_at = CURRENT_TIMESTAMP, ended_at = CURRENT_TIMESTAMP,
		    revoke_reason = CASE WHEN s.absolute_expires_at <= CURRENT_TIMESTAMP
		                         THEN 'absolute_timeout' ELSE 'idle_timeout' END
		FROM batch
		WHERE s.id = batch.id AND s.is_active = true
		RETURNING s.revoke_reason
	)
	SELECT (SELECT count(*) FROM page),
	       (SELECT id FROM page ORDER BY id DESC LIMIT 1),
	       count(*) FILTER (WHERE revoke_reason = 'absolute_timeout'),
	       count(*) FILTER (WHERE revoke_reason = 'idle_timeout')
	FROM ended`
	// expireFirstPageSQL reads the first $1 active sessions.
	expireFirstPageSQL = expirePageHead + expirePageTail
	// expireNextPageSQL reads the $1 active sessions after id $2.
	expireNextPageSQL = expirePageHead + `
		  AND id > $2` + expirePageTail
)

// purgeBatchSQL deletes up to $2 ended rows whose ended_at is more than $1
// seconds old, oldest first, found through idx_sessions_ended_at (the ORDER
// BY keeps the planner on that index rather than a sequential scan that would
// reread the dead rows of earlier batches).
const purgeBatchSQL = `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions
		WHERE ended_at < CURRENT_TIMESTAMP - make_interval(secs => $1) AND is_active = false
		ORDER BY ended_at
		LIMIT $2
		FOR UPDATE SKIP LOCKED
	)`

// RunOnce runs one cleanup, unless another Cleaner on the same database (any
// process) is at work: then it returns at once with Ran false. It ends every
// expired session, reading each active session once (in id order, a page of
// BatchSize per statement), then deletes ended rows older than Retention, in
// batches of BatchSize, and stops early when ctx ends. A session that expires
// or is inserted behind the walk during a run is left for the next run.
//
// Turns are taken per batch: each batch is a transaction that first takes
// the transaction-scoped advisory lock LockKey (pg_try_advisory_xact_lock),
// so two Cleaners' batches never run at once. PostgreSQL releases the lock
// with the transaction, so nothing outlives a batch: no lock to leak when a
// process dies, and none that PgBouncer in transaction-pooling mode could
// strand on a server connection (a session lock would be taken on one server
// connection and released on another). When a batch finds the lock taken,
// another Cleaner is walking the table and covers what this run has left,
// so the run stops there.
func (c *Cleaner) RunOnce(ctx context.Context) (res CleanupResult, err error) {
	ctx, observed := c.tel.startRun(ctx)
	defer observed(&res, &err)
	// What was done is reported even when a later batch fails or ctx ends.
	// (A batch that commits just as ctx ends, before its answer is read,
	// goes uncounted: its rows still record why they ended.)
	defer func() { c.report(ctx, res) }()

	turn, err := c.expire(ctx, &res)
	if err != nil || !turn {
		return res, err
	}
	for c.cfg.Retention > 0 {
		var n int64
		turn, err := c.batch(ctx, &res, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, purgeBatchSQL, int64(c.cfg.Retention/time.Second), c.cfg.BatchSize)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return res, wrapErr(ctx, "cleanup: purge", err)
		}
		if !turn {
			return res, nil
		}
		res.Purged += int(n)
		if n < int64(c.cfg.BatchSize) {
			break
		}
	}
	res.Finished = true
	return res, nil
}

// expire walks the active sessions a page at a time (see expireFirstPageSQL)
// until a page comes back short: the walk has reached the last active id. It
// reports false when a page found another Cleaner at work.
//
// The statements run in QueryExecModeExec, so PostgreSQL plans each one with
// its actual LIMIT and key. A cached generic plan would estimate LIMIT $1 as a
// tenth of the table, and might read the whole table for every page. (That
// mode also works through PgBouncer: no named prepared statement.)
func (c *Cleaner) expire(ctx context.Context, res *CleanupResult) (bool, error) {
	var after pgtype.UUID // invalid: start from the first active id
	for {
		var (
			pageRows  int
			last      pgtype.UUID
			abs, idle int
		)
		sql, args := expireFirstPageSQL, []any{pgx.QueryExecModeExec, c.cfg.BatchSize}
		if after.Valid {
			sql, args = expireNextPageSQL, append(args, after)
		}
		turn, err := c.batch(ctx, res, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, sql, args...).Scan(&pageRows, &last, &abs, &idle)
		})
		if err != nil {
			return false, wrapErr(ctx, "cleanup: expire", err)
		}
		if !turn {
			return false, nil
		}
		res.Absolute += abs
		res.Idle += idle
		if pageRows < c.cfg.BatchSize {
			return true, nil
		}
		after = last
	}
}

// batch runs one batch statement in a transaction that holds the cleanup
// lock, and counts it. It reports false, having done nothing, when another
// Cleaner holds the lock.
func (c *Cleaner) batch(ctx context.Context, res *CleanupResult, stmt func(pgx.Tx) error) (turn bool, err error) {
	start := time.Now()
	err = pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", c.cfg.LockKey).Scan(&turn); err != nil || !turn {
			return err
		}
		if c.inTurn != nil {
			c.inTurn()
		}
		return stmt(tx)
	})
	if err != nil || !turn {
		return false, err
	}
	res.Ran = true
	res.note(time.Since(start))
	return true, nil
}

func (r *CleanupResult) note(d time.Duration) {
	r.Batches++
	r.LongestBatch = max(r.LongestBatch, d)
}

// report logs a run that did something and passes its counts to OnEvent.
func (c *Cleaner) report(ctx context.Context, res CleanupResult) {
	if res.Absolute+res.Idle+res.Purged == 0 {
		return
	}
	c.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "sessionguard: cleanup",
		slog.Int("absolute_timeout", res.Absolute), slog.Int("idle_timeout", res.Idle),
		slog.Int("purged", res.Purged), slog.Int("batches", res.Batches),
		slog.Duration("longest_batch", res.LongestBatch))
	if c.cfg.OnEvent == nil {
		return
	}
	for _, e := range []sessionguard.Event{
		{Kind: sessionguard.EventExpired, Reason: sessionguard.ReasonAbsoluteTimeout, Count: res.Absolute},
		{Kind: sessionguard.EventExpired, Reason: sessionguard.ReasonIdleTimeout, Count: res.Idle},
		{Kind: sessionguard.EventPurged, Count: res.Purged},
	} {
		if e.Count > 0 {
			c.cfg.OnEvent(e)
		}
	}
}

// String describes the result for a log line.
func (r CleanupResult) String() string {
	return fmt.Sprintf("ran=%v absolute=%d idle=%d purged=%d batches=%d longest=%v",
		r.Ran, r.Absolute, r.Idle, r.Purged, r.Batches, r.LongestBatch)
}
