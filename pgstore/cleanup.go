package pgstore

import "context"

// cleanupAttempts bounds how often Cleanup sends cleanup_expired_sessions.
// Its UPDATEs lock the expired rows in the order the plan gives, not in the
// touch batch's (writeBatch), so a batch that records the same expiries may
// meet it in a deadlock; when PostgreSQL fails the cleanup to break it,
// nothing of it remains and it is sent again
// (TestMultiRowEndsNeverDeadlockWithTouchBatches). So it is after a
// serialization failure (a pool at REPEATABLE READ or SERIALIZABLE whose
// cleanup waited for another write of a row: TestCleanupRacingARevoke).
const cleanupAttempts = 3

// Cleanup runs the seed's cleanup_expired_sessions: every active session past
// its absolute or idle timeout is ended with revoke_reason absolute_timeout or
// idle_timeout. It reports how many sessions it ended.
func (s *Store) Cleanup(ctx context.Context) (_ int, err error) {
	ctx, call := s.tel.start(ctx, opCleanup)
	defer func() { call.end(ctx, err) }()
	var n int32
	for range cleanupAttempts {
		err = s.pool.QueryRow(ctx, "SELECT cleanup_expired_sessions()").Scan(&n)
		if !isDeadlock(err) && !isSerializationFailure(err) {
			break
		}
	}
	if err != nil {
		return 0, wrapErr(ctx, "cleanup", err)
	}
	return int(n), nil
}
