package pgstore

import (
	"context"
	"log/slog"
	"time"
)

// defaultNotReplicaRecheck is how long reads skip a ReadPool that is of no
// use (readPoolUsable), before they ask it again.
const defaultNotReplicaRecheck = time.Second

// A ReadPool is of no use to the Store in four cases, and then none of its
// answers is used: reads go to the primary, and skip the ReadPool for a
// second before they ask it again, so that it costs one extra query a
// second, not one per read.
//
//   - A read of it failed or took longer than Config.ReplicaTimeout: a
//     server down, unreachable or overloaded, or whose replay holds a lock
//     a reader waits for (readPoolFailed). Without the pause every check
//     would wait for it again.
//   - Its server is not in recovery: no replica of the primary this Store
//     writes to, as far as the Store can tell. A standby promoted after a
//     failover (then the primary pool has moved to it too, and reading the
//     primary costs nothing more), or one promoted while the primary lives
//     on (a disaster-recovery drill, a split brain), which never sees a
//     revocation made after its promotion.
//   - Its transactions are not READ COMMITTED (a default_transaction_isolation
//     of repeatable read): the row's statement then reuses the snapshot the
//     position statement took before it read the position (replicaPositionSQL).
//   - Its last restartpoint is on a timeline older than the primary's: after
//     a failover, until it has made one on the new timeline (or for good, a
//     standby left on the old one), its position proves nothing
//     (replicaTimelineSQL). Without an operator's CHECKPOINT that takes
//     minutes, so the warning names it.

// skipsReadPool reports whether a read found the ReadPool of no use lately.
func (s *Store) skipsReadPool() bool {
	return time.Now().UnixNano() < s.notReplicaUntil.Load()
}

// readPoolUsable records what a read of the ReadPool found (its server in
// recovery, its transactions READ COMMITTED, the timeline of its last
// restartpoint), logging a change, and reports whether its answer may be
// used.
func (s *Store) readPoolUsable(ctx context.Context, inRecovery, readCommitted bool, timeline int64) bool {
	primaryTimeline := int64(s.primaryTimeline.Load())
	onTimeline := timeline >= primaryTimeline
	if inRecovery && readCommitted && onTimeline {
		if s.notReplica.CompareAndSwap(true, false) {
			s.logger.LogAttrs(ctx, slog.LevelInfo, "pgstore: the read pool is usable again; reads use it")
		}
		return true
	}
	switch {
	case !inRecovery:
		s.skipReadPool(ctx, "pgstore: the read pool's server is not in recovery (a promoted standby?); reads go to the primary until it is")
	case !readCommitted:
		s.skipReadPool(ctx, "pgstore: the read pool's transactions are not READ COMMITTED (default_transaction_isolation); reads go to the primary until they are")
	default:
		s.skipReadPool(ctx, "pgstore: the read pool's server has made no restartpoint on the primary's timeline yet "+
			"(after a failover: run CHECKPOINT on the new primary, then on it); reads go to the primary until it has",
			slog.Int64("replica_timeline", timeline), slog.Int64("primary_timeline", primaryTimeline))
	}
	return false
}

// readPoolFailed records that a read of the ReadPool failed or timed out
// (Config.ReplicaTimeout) while its caller was still waiting.
func (s *Store) readPoolFailed(ctx context.Context, err error) {
	s.skipReadPool(ctx, "pgstore: a read of the read pool failed or took longer than ReplicaTimeout; reads go to the primary until it answers again",
		slog.String("error", wrapErr(ctx, "replica read", err).Error()))
}

// skipReadPool makes reads skip the ReadPool for notReplicaRecheck, logging
// why when it was in use until now.
func (s *Store) skipReadPool(ctx context.Context, msg string, attrs ...slog.Attr) {
	s.notReplicaUntil.Store(time.Now().Add(s.notReplicaRecheck).UnixNano())
	if s.notReplica.CompareAndSwap(false, true) {
		s.logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	}
}
