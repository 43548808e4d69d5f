package pgstore

import (
	"context"
	"log/slog"
	"time"
)

// scsCleanupBatch bounds the rows one cleanup statement deletes, so that a
// large backlog never holds locks on many rows at once.
const scsCleanupBatch = 1000

// DeleteExpired deletes the data rows whose scs expiry has passed and reports
// how many. Several instances may run it at once: each skips the rows
// another is deleting.
//
// Data of a sessionguard session that ended is deleted when the session ends
// (migration 026's trigger). Data of a session that timed out but was never
// marked ended stays, unreachable (Find reports not found), until its scs
// expiry or until Store.Cleanup marks the session ended, whichever is first.
func (s *SCSStore) DeleteExpired(ctx context.Context) (total int, err error) {
	ctx, call := s.store.tel.start(ctx, opSCSDeleteExpired)
	defer func() { call.endDeleted(ctx, total, err) }()
	for {
		tag, execErr := s.store.pool.Exec(ctx, `DELETE FROM sessionguard_scs_data WHERE token_hash IN (
			SELECT token_hash FROM sessionguard_scs_data
			WHERE expiry <= CURRENT_TIMESTAMP
			ORDER BY expiry
			LIMIT $1
			FOR UPDATE SKIP LOCKED)`, scsCleanupBatch)
		if execErr != nil {
			return total, wrapErr(ctx, "scs delete expired", execErr)
		}
		n := int(tag.RowsAffected())
		total += n
		if n < scsCleanupBatch {
			return total, nil
		}
	}
}

// Run calls DeleteExpired now and then every SCSConfig.CleanupInterval,
// until ctx ends; it then returns ctx's error. A failed pass is logged
// (SCSConfig.Logger) and the next one runs as planned. With CleanupInterval
// 0 it returns nil at once. Run it in its own goroutine, as Cleaner.Run and
// Cache.Run:
//
//	go scsStore.Run(ctx)
func (s *SCSStore) Run(ctx context.Context) error {
	if s.cleanupInterval == 0 {
		return nil
	}
	t := time.NewTicker(s.cleanupInterval)
	defer t.Stop()
	for {
		if _, err := s.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
			s.logger.LogAttrs(ctx, slog.LevelError, "pgstore: scs cleanup failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
