package pgstore

import (
	"context"
	"log/slog"
	"time"
)

// defaultNotReplicaRecheck is how long reads skip a ReadPool whose server
// said it is not in recovery, before they ask it again.
const defaultNotReplicaRecheck = time.Second

// A ReadPool's server that is not in recovery is no replica of the primary
// this Store writes to, as far as the Store can tell: a standby promoted
// after a failover (then the primary pool has moved to it too, and reading
// the primary costs nothing more), or one promoted while the primary lives
// on (a disaster-recovery drill, a split brain), which never sees a
// revocation made after its promotion. Its answers are therefore never
// used: reads go to the primary, and skip the ReadPool for
// a second before they ask it again, so that a promotion costs one
// extra query a second, not one per read.

// skipsReadPool reports whether the ReadPool's server said lately that it
// is not in recovery.
func (s *Store) skipsReadPool() bool {
	return time.Now().UnixNano() < s.notReplicaUntil.Load()
}

// readPoolInRecovery records what a read of the ReadPool found, logging a
// change, and reports whether its answer may be used.
func (s *Store) readPoolInRecovery(ctx context.Context, inRecovery bool) bool {
	if inRecovery {
		if s.notReplica.CompareAndSwap(true, false) {
			s.logger.LogAttrs(ctx, slog.LevelInfo, "pgstore: the read pool's server is in recovery again; reads use it")
		}
		return true
	}
	s.notReplicaUntil.Store(time.Now().Add(s.notReplicaRecheck).UnixNano())
	if s.notReplica.CompareAndSwap(false, true) {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "pgstore: the read pool's server is not in recovery (a promoted standby?); reads go to the primary until it is")
	}
	return false
}
