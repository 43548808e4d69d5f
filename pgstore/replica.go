package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/sessionguard/sessionguard"
)

// replicaPositionSQL is how far the read replica has replayed, NULL when it
// is not in recovery (a promoted standby, or a primary given as ReadPool):
// then no answer of it is used (replica_primary.go); and whether the
// statement after it takes a snapshot of its own (READ COMMITTED).
//
// replicaAnswer sends it before readSQL, in one round trip: the position
// must be one the row's snapshot already contains. Read in the row's own
// statement it came after that statement's snapshot, and the replica could
// replay a revocation in between: a position past the fence with the row
// from before it (TestReplicaReplayPositionPredatesTheRow). At READ
// COMMITTED each statement of the batch takes its own snapshot, so
// readSQL's is taken after the position was read, and replay only moves
// forward. The batch is one transaction until its Sync, though: under
// REPEATABLE READ (a ReadPool whose default_transaction_isolation says so)
// readSQL reuses the snapshot this statement took before it read the
// position, so such a ReadPool is not used (readPoolUsable,
// TestReplicaReplayPositionPredatesTheRowUnderRepeatableRead).
//
// The third column is the replica's timeline (replicaTimelineSQL): its
// position counts only on the primary's timeline or a later one. On an
// older one it is on another history (a replica left behind by a
// failover), and proves no revocation replayed: none of its answers is
// used (readPoolUsable, TestReplicaLeftOnTheOldTimeline).
const replicaPositionSQL = `SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END,
	current_setting('transaction_isolation') = 'read committed', ` + replicaTimelineSQL

// ReplicaStats counts how the read path used Config.ReadPool.
type ReplicaStats struct {
	Served    uint64 // checks answered by the replica alone
	Fallbacks uint64 // checks the replica could not answer alone, which went to the primary
	Errors    uint64 // replica queries that failed (those went to the primary too)
}

// replicaCounts are a Store's ReplicaStats, kept apart from it so that its
// metrics keep counting them once the Store is dropped and collected
// (weakGroup.release): a counter must never go down.
type replicaCounts struct {
	served, fallbacks, errors atomic.Uint64
}

func (n *replicaCounts) stats() ReplicaStats {
	return ReplicaStats{Served: n.served.Load(), Fallbacks: n.fallbacks.Load(), Errors: n.errors.Load()}
}

// ReplicaStats reports how often the read replica answered. All zero
// without a ReadPool.
func (s *Store) ReplicaStats() ReplicaStats {
	return s.replica.stats()
}

// replicaAnswer asks the read replica for the status of tokenHash and
// reports ok only when that answer needs no primary: the session ended
// (ended rows never come back), or, from a replica the fence admits, it is
// of another app or tenant (which never changes) or "valid" with no write
// due. Everything else goes to the primary: a session the replica does not
// have yet, a timeout it sees (a touch may not have reached it), a touch
// to write, a replica behind the fence, an error.
func (s *Store) replicaAnswer(ctx context.Context, tokenHash string, scope sessionguard.Scope, touch bool) (sessionguard.Status, bool) {
	if s.skipsReadPool() {
		s.replica.fallbacks.Add(1)
		return sessionguard.Status{}, false
	}
	var (
		row      sessionRow
		replay   *string
		fresh    bool  // readSQL takes its own snapshot, after the position
		timeline int64 // of the replica's replayed WAL (replicaTimelineSQL)
	)
	s.learnPrimaryTimeline(ctx)
	var b pgx.Batch
	b.Queue(replicaPositionSQL)
	b.Queue(readSQL, tokenHash)
	readCtx, cancel := context.WithTimeout(ctx, s.replicaTimeout)
	br := s.readPool.SendBatch(readCtx, &b)
	err := br.QueryRow().Scan(&replay, &fresh, &timeline)
	if err == nil {
		err = br.QueryRow().Scan(row.scanTargets()...)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	cancel()
	if err != nil {
		if !errors.Is(err, pgx.ErrNoRows) {
			s.replica.errors.Add(1)
			if ctx.Err() == nil {
				// The replica's fault (its timeout, or an error), not the
				// caller's end: try it again only after a while.
				s.readPoolFailed(ctx, err)
			}
		}
		s.replica.fallbacks.Add(1)
		return sessionguard.Status{}, false
	}
	if !s.readPoolUsable(ctx, replay != nil, fresh, timeline) {
		s.replica.fallbacks.Add(1)
		return sessionguard.Status{}, false
	}
	st, writeDue := row.decide(scope, s.TouchInterval())
	final := false
	switch st.State {
	case sessionguard.StateValid, sessionguard.StateWrongApp, sessionguard.StateWrongTenant:
		// An active row, as current as the fence admits: a revocation the
		// replica has not replayed ended it, and the primary says so before
		// the scope (TestReplicaOutOfScopeBehindARevocation). With the
		// primary's timeline unknown (it did not answer
		// learnPrimaryTimeline yet), the replica may be one a failover left
		// behind: its answer waits.
		replayed, perr := parseLSN(*replay)
		known := s.primaryTimeline.Load() != 0
		final = (!touch || !writeDue) && perr == nil && known && s.fence.admits(tokenHash, replayed)
	default:
		// Ended is final; an expiry seen only on the clock is not (a touch
		// may not have been replayed yet), and Validate must record it.
		final = !row.active
	}
	if !final {
		s.replica.fallbacks.Add(1)
		return sessionguard.Status{}, false
	}
	s.replica.served.Add(1)
	return st, true
}

// parseLSN reads PostgreSQL's text form of a WAL position, "16/B374D848".
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("pgstore: malformed LSN %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("pgstore: malformed LSN %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("pgstore: malformed LSN %q", s)
	}
	return h<<32 | l, nil
}

// readReplica is replicaAnswer when the Store has a ReadPool.
func (s *Store) readReplica(ctx context.Context, tokenHash string, scope sessionguard.Scope, touch bool) (sessionguard.Status, bool) {
	if s.readPool == nil {
		return sessionguard.Status{}, false
	}
	return s.replicaAnswer(ctx, tokenHash, scope, touch)
}
