package pgstore

import "context"

// Cleanup runs the seed's cleanup_expired_sessions: every active session past
// its absolute or idle timeout is ended with revoke_reason absolute_timeout or
// idle_timeout. It reports how many sessions it ended.
func (s *Store) Cleanup(ctx context.Context) (_ int, err error) {
	ctx, call := s.tel.start(ctx, opCleanup)
	defer func() { call.end(ctx, err) }()
	var n int32
	if err := s.pool.QueryRow(ctx, "SELECT cleanup_expired_sessions()").Scan(&n); err != nil {
		return 0, wrapErr("cleanup", err)
	}
	return int(n), nil
}
