package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionguard/sessionguard"
)

// replayPollInterval is how often a revoke asks the replica how far it has
// replayed.
const replayPollInterval = 5 * time.Millisecond

// primaryPositionSQL is where the primary's WAL ends now: past the commit
// record of every transaction that has returned, even with asynchronous
// commit (pg_current_wal_lsn, the written position, may still lag it); and
// the name of its WAL file, which begins with the primary's timeline.
//
// When the last record ended exactly at a WAL page's end, the insert
// position is where the next record will go, past the next page's header
// (24 bytes, 40 on a segment's first page), while a replica that replayed
// that last record reports the page's end. A fence there was never passed
// until the primary wrote again: on an idle primary every replica read went
// to the primary and every revoke waited out ReplayWait (TestReplicaFallbacks
// after migration 038, whose WAL ended at a page's end). The position is
// taken back to the page's end then.
const primaryPositionSQL = `SELECT (l - CASE
		WHEN o.file_offset = 40 THEN 40
		WHEN o.file_offset % current_setting('wal_block_size')::int = 24 THEN 24
		ELSE 0 END)::text, o.file_name
	FROM pg_current_wal_insert_lsn() l, pg_walfile_name_offset(l) o`

// replayedSQL reports whether the replica has replayed up to $1 on timeline
// $2 or a later one, or is not in recovery (then none of its answers is
// used: replica_primary.go). A position alone proves nothing across a
// failover: a replica left on the old primary's timeline may have replayed
// further than the promoted one has written (replicaTimelineSQL).
//
// The second column says the replica, in recovery, has made no restartpoint
// on timeline $2 yet: only a restartpoint changes that, minutes away
// (checkpoint_timeout) unless an operator runs CHECKPOINT, so waiting out
// ReplayWait would only make every revoke after a failover ten seconds late.
const replayedSQL = `SELECT NOT pg_is_in_recovery() OR (coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)
	AND ` + replicaTimelineSQL + ` >= $2), pg_is_in_recovery() AND ` + replicaTimelineSQL + ` < $2`

// replicaTimelineSQL is the timeline of the replica's last restartpoint:
// one it has replayed WAL of. (pg_stat_wal_receiver would tell the timeline
// it receives at once, but only to privileged roles.) After a failover a
// replica that follows the new primary reaches the new timeline with its
// first restartpoint on it (checkpoint_timeout; a CHECKPOINT on the standby
// makes one at once); until then its answers do not count where a
// revocation on the new timeline may matter (replicaAnswer).
const replicaTimelineSQL = `(SELECT timeline_id FROM pg_control_checkpoint())`

// awaitReplay runs after a revocation through this Store committed: it
// raises this instance's fence to the primary's WAL position (the fence of
// tokenHash's session alone when the revocation ended that one, "" for
// all), so no "valid" answer of the replica from before the revocation
// counts here, and waits
// until the replica has replayed that position, so none counts on any
// instance either. Without a ReadPool it does nothing.
func (s *Store) awaitReplay(ctx context.Context, op, tokenHash string) error {
	if s.readPool == nil {
		return nil
	}
	asked := time.Now()
	pos, lsn, err := s.primaryPosition(ctx, s.pool)
	if err != nil {
		// The revocation committed, at a position unknown: read the primary
		// here until a later position is known.
		s.fence.lost()
		return wrapErr(ctx, op, fmt.Errorf("%w: primary WAL position: %w", sessionguard.ErrReplicaBehind, driverErr(ctx, err)))
	}
	if tokenHash != "" {
		s.fence.resolve(tokenHash, lsn)
		s.fence.coverLost(lsn, asked)
	} else {
		s.fence.raise(lsn, asked)
	}

	ctx, cancel := context.WithTimeout(ctx, s.replayWait)
	defer cancel()
	tick := time.NewTicker(replayPollInterval)
	defer tick.Stop()
	for {
		var done, offTimeline bool
		timeline := s.primaryTimeline.Load()
		err := s.readPool.QueryRow(ctx, replayedSQL, pos, int64(timeline)).Scan(&done, &offTimeline)
		if err == nil && done {
			return nil
		}
		if err == nil && offTimeline {
			return wrapErr(ctx, op, fmt.Errorf("%w: the replica has made no restartpoint on the primary's timeline %d yet (after a failover: CHECKPOINT on the primary, then on the replica)",
				sessionguard.ErrReplicaBehind, timeline))
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return wrapErr(ctx, op, fmt.Errorf("%w within %v: %w", sessionguard.ErrReplicaBehind, s.replayWait, driverErr(ctx, err)))
		case <-tick.C:
		}
	}
}

// queryRower is what primaryPosition needs: the pool, or the Cache
// listener's own connection.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// primaryPosition asks the primary where its WAL ends, and records its
// timeline.
func (s *Store) primaryPosition(ctx context.Context, q queryRower) (string, uint64, error) {
	var pos, walFile string
	if err := q.QueryRow(ctx, primaryPositionSQL).Scan(&pos, &walFile); err != nil {
		return "", 0, err
	}
	lsn, err := parseLSN(pos)
	if err != nil {
		return "", 0, err
	}
	timeline, err := walFileTimeline(walFile)
	if err != nil {
		return "", 0, err
	}
	s.sawPrimaryTimeline(timeline)
	return pos, lsn, nil
}

// primaryTimelineRecheck is how often the read path asks the primary for
// its timeline (learnPrimaryTimeline).
const primaryTimelineRecheck = time.Second

// primaryTimelineSQL is the primary's timeline, as the first eight hex
// digits of its WAL file's name.
const primaryTimelineSQL = `SELECT pg_walfile_name(pg_current_wal_insert_lsn())`

// learnPrimaryTimeline asks the primary for its timeline, at most once per
// primaryTimelineRecheck, before a read of the replica. A revoke learns it
// too, but a Store that has made none since a failover (or started after
// it) must not take a replica left on the old timeline for caught up:
// another instance's revoke returned ErrReplicaBehind, and that replica
// never replays it (TestReplicaLeftOnTheOldTimeline). An error leaves the
// timeline as it was (unknown at first: then no "valid" of the replica
// counts, replicaAnswer), to be asked again a recheck later.
func (s *Store) learnPrimaryTimeline(ctx context.Context) {
	now := time.Now().UnixNano()
	last := s.primaryTimelineAt.Load()
	if now-last < int64(primaryTimelineRecheck) || !s.primaryTimelineAt.CompareAndSwap(last, now) {
		return
	}
	var walFile string
	if err := s.pool.QueryRow(ctx, primaryTimelineSQL).Scan(&walFile); err != nil {
		return
	}
	if timeline, err := walFileTimeline(walFile); err == nil {
		s.sawPrimaryTimeline(timeline)
	}
}

// walFileTimeline reads the timeline from a WAL file's name.
func walFileTimeline(walFile string) (uint32, error) {
	if len(walFile) < 8 {
		return 0, fmt.Errorf("pgstore: malformed WAL file name %q", walFile)
	}
	timeline, err := strconv.ParseUint(walFile[:8], 16, 32)
	if err != nil {
		return 0, fmt.Errorf("pgstore: malformed WAL file name %q", walFile)
	}
	return uint32(timeline), nil
}

// sawPrimaryTimeline raises the primary timeline the replica must have
// reached to the one the primary reported: timelines only move forward.
func (s *Store) sawPrimaryTimeline(timeline uint32) {
	for {
		known := s.primaryTimeline.Load()
		if timeline <= known || s.primaryTimeline.CompareAndSwap(known, timeline) {
			return
		}
	}
}

// endingFailed records, with a ReadPool, what err, the error of a statement
// that ends sessions or rotates a token out, leaves unknown: whether it
// committed. PostgreSQL's own error (a *pgconn.PgError) ended nothing, nor
// did one pgx raised before sending anything (pgconn.SafeToRetry), nor a
// statement that found nothing to end (pgx.ErrNoRows); any other (the
// connection lost, the context ended while the statement ran) may have come
// after the commit, at a position the caller never learned. Then, as when
// awaitReplay cannot read the primary's position, this instance's replica
// answers nothing "valid" until a later position is known (fence.lost): a
// retry that finds the session ended (false, nil) sets no fence.
func (s *Store) endingFailed(err error) {
	var pgErr *pgconn.PgError
	if err == nil || s.readPool == nil || errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pgErr) || pgconn.SafeToRetry(err) {
		return
	}
	s.fence.lost()
}
