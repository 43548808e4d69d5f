package pgstore

import "context"

// Selection picks sessions by owner and id. The zero value picks every
// session of every user.
type Selection struct {
	UserID    int64  // 0: any user
	SessionID string // "": any session
}

// countActiveSQL counts the rows a revoke would end (endSQL): active ones,
// live or past a timeout but not yet cleaned up.
const countActiveSQL = `SELECT count(*) FROM sessions
	WHERE is_active = true
	  AND ($1::bigint IS NULL OR user_id = $1)
	  AND ($2::uuid IS NULL OR id = $2)`

// CountActive counts the active sessions of sel: what RevokeAll
// (sel.UserID), RevokeSession (sel.SessionID) or RevokeEveryone (the zero
// Selection) would end now. A confirmation prompt shows it before the
// revoke, which reports what it did end. It only reads. A user id that
// cannot exist or a malformed session id counts 0, as the revokes end
// nothing for them.
func (s *Store) CountActive(ctx context.Context, sel Selection) (_ int, err error) {
	ctx, call := s.tel.start(ctx, opCountActive)
	defer func() { call.end(ctx, err) }()
	var userID, sessionID any
	if sel.UserID != 0 {
		if sel.UserID < 0 || sel.UserID > maxInt32 {
			return 0, nil
		}
		userID = sel.UserID
	}
	if sel.SessionID != "" {
		if !validUUID(sel.SessionID) {
			return 0, nil
		}
		sessionID = sel.SessionID
	}
	var n int
	if err = s.pool.QueryRow(ctx, countActiveSQL, userID, sessionID).Scan(&n); err != nil {
		return 0, wrapErr(ctx, "count active", err)
	}
	return n, nil
}
