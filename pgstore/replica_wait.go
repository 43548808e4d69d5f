package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard"
)

// replayPollInterval is how often a revoke asks the replica how far it has
// replayed.
const replayPollInterval = 5 * time.Millisecond

// primaryPositionSQL is where the primary's WAL ends now: past the commit
// record of every transaction that has returned, even with asynchronous
// commit (pg_current_wal_lsn, the written position, may still lag it).
const primaryPositionSQL = `SELECT pg_current_wal_insert_lsn()::text`

// replayedSQL reports whether the replica has replayed up to $1, or is not
// in recovery (then none of its answers is used: replica_primary.go).
const replayedSQL = `SELECT NOT pg_is_in_recovery() OR coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`

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
		return wrapErr(op, fmt.Errorf("%w: primary WAL position: %w", sessionguard.ErrReplicaBehind, err))
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
		var done bool
		err := s.readPool.QueryRow(ctx, replayedSQL, pos).Scan(&done)
		if err == nil && done {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return wrapErr(op, fmt.Errorf("%w within %v: %w", sessionguard.ErrReplicaBehind, s.replayWait, err))
		case <-tick.C:
		}
	}
}

// queryRower is what primaryPosition needs: the pool, or the Cache
// listener's own connection.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// primaryPosition asks the primary where its WAL ends.
func (s *Store) primaryPosition(ctx context.Context, q queryRower) (string, uint64, error) {
	var pos string
	if err := q.QueryRow(ctx, primaryPositionSQL).Scan(&pos); err != nil {
		return "", 0, err
	}
	lsn, err := parseLSN(pos)
	return pos, lsn, err
}
