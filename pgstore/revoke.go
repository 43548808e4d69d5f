package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sessionguard/sessionguard"
)

// endSQL is the one way a session ends: every revoke method below narrows
// which active rows it applies to. Ended rows are never touched again.
const endSQL = `UPDATE sessions
	SET is_active = false, revoked_at = CURRENT_TIMESTAMP, ended_at = CURRENT_TIMESTAMP, revoke_reason = $1
	WHERE is_active = true AND `

// endInOrder is endSQL for the sessions that where (a condition on the
// sessions row s) selects, when they may be many: it first locks them in
// token hash order, the order writeBatch locks its rows in, and only then
// ends them. Two statements that take their rows in one order never wait
// for each other in a cycle; in whatever order the plan gave (the table's,
// an index's), a revocation and a touch batch of the same user's sessions
// could, and PostgreSQL broke that deadlock by failing one of them: a
// RevokeAll that returned 40P01 having ended nothing
// (TestMultiRowEndsNeverDeadlockWithTouchBatches). COLLATE "C" compares
// bytes, as the batch's sort does, whatever the database's collation.
func endInOrder(where string) string {
	return `WITH doomed AS MATERIALIZED (
		SELECT s.id FROM sessions s
		WHERE s.is_active = true AND ` + where + `
		ORDER BY s.session_token_hash COLLATE "C"
		FOR NO KEY UPDATE)
	` + endSQL + `id IN (SELECT id FROM doomed)`
}

// ended logs what a revocation ended and, with a read replica, waits until
// the replica has replayed it (awaitReplay): the revocation is committed
// either way, so the count is returned with any error. tokenHash is the
// session's when the revocation ended that one alone, else "".
func (s *Store) ended(ctx context.Context, op, tokenHash string, e sessionguard.Event) error {
	s.emit(ctx, e)
	return s.awaitReplay(ctx, op, tokenHash)
}

// Revoke ends the session of tokenHash (the seed's revoke_session), recording
// reason, e.g. sessionguard.ReasonLogout. It reports false when no active session has that
// hash; a hash a re-authentication rotated out has none (SignOut follows it).
// Like every revoke method, it logs an EventRevoked for what it ended.
func (s *Store) Revoke(ctx context.Context, tokenHash, reason string) (ended bool, err error) {
	ctx, call := s.tel.start(ctx, opRevoke)
	defer func() { call.endCount(ctx, boolCount(ended), err) }()
	const op = "revoke"
	if !validHash(tokenHash) {
		return false, invalid(op, "token hash is not 64 lowercase hex characters")
	}
	if !validReason(reason) {
		return false, invalid(op, "reason must be 1 to 50 bytes of text")
	}
	// revoke_session's update, returning who it ended for the audit event.
	e := sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: reason, Count: 1}
	err = s.ending(func() error {
		return s.pool.QueryRow(ctx, endByHashSQL, reason, tokenHash).Scan(&e.SessionID, &e.UserID, &e.TenantID, &e.AppType)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrapErr(ctx, op, err)
	}
	return true, s.ended(ctx, op, tokenHash, e)
}

// endByHashSQL ends the active session of token hash $2 with reason $1 and
// returns who it ended.
const endByHashSQL = endSQL + "session_token_hash = $2 RETURNING id::text AS id, user_id, coalesce(tenant_id, 0) AS tenant, app_type"

// endRetiredSQL ends, with reason $1, the active session that a
// re-authentication rotated token hash $2 out of (migration 031), and
// returns who it ended and the hash the session holds now. By the session's
// id: a rotation that commits while this waits for the row leaves the id
// as it was.
const endRetiredSQL = endSQL + `id = (SELECT r.session_id FROM sessionguard_retired_tokens r WHERE r.token_hash = $2)
	RETURNING id::text, user_id, coalesce(tenant_id, 0), app_type, session_token_hash`

// SignOut is the user's own sign-out (sessionguard.Store.SignOut): it ends,
// with reason "logout", the active session of tokenHash or, when a
// re-authentication rotated tokenHash out, the session it was rotated out
// of, and reports false when there was none. Only the sign-out follows a
// retired hash: Revoke, and SCSStore's Delete (scs's RenewToken and
// Destroy), end nothing by it, and Validate, Peek, Reauthenticate and
// Create never take it.
//
// A sign-out that races the rotation is never lost: the first statement
// finds the session under tokenHash (waiting for a rotation that holds the
// row, and then finding the hash gone) or not at all, and the second, which
// starts after the rotation has committed, finds the retired hash. At a
// stricter isolation level than READ COMMITTED, a statement that waited
// for the row fails (40001) instead, and the two start over
// (TestSignOutRacingTheRotation). The second statement is sent only when
// the first saw the hash live or retired: a hash no session had costs one
// (signOutByHashSQL). The first reads sessionguard_retired_tokens, on
// which the application's role needs SELECT (README, "Roles"). The
// session ends as Revoke ends it: an EventRevoked, every Cache notified
// with the hash it holds now, and with a read replica, awaited there under
// that hash.
func (s *Store) SignOut(ctx context.Context, tokenHash string) (ended bool, err error) {
	_, ended, err = s.signOut(ctx, tokenHash)
	return ended, err
}

// signOut is SignOut, and reports the hash the ended session held when it
// ended (tokenHash, or its successor's), for Cache to forget it at once.
func (s *Store) signOut(ctx context.Context, tokenHash string) (held string, ended bool, err error) {
	ctx, call := s.tel.start(ctx, opSignOut)
	defer func() { call.endCount(ctx, boolCount(ended), err) }()
	const op = "sign out"
	if !validHash(tokenHash) {
		return "", false, invalid(op, "token hash is not 64 lowercase hex characters")
	}
	var e sessionguard.Event
	err = s.ending(func() (err error) {
		e, held, err = s.signOutOnce(ctx, tokenHash)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrapErr(ctx, op, err)
	}
	return held, true, s.ended(ctx, op, held, e)
}

// retrySerialization runs once, whose statements are each their own
// transaction, and runs it again, up to serializationAttempts times in all,
// while it fails with a serialization failure. Under a pool whose
// default_transaction_isolation is REPEATABLE READ or SERIALIZABLE, a
// revocation that waited for a write of its row (a touch, a rotation)
// fails so once that write commits, where READ COMMITTED would have read
// the row's new version; a new try reads with a snapshot taken after it
// (TestRevokeRacingATouch, TestSignOutRacingTheRotation). Every revoke
// method, SignOut, a touch (writeOne) and SCSStore's Commit and Delete go
// through it.
func retrySerialization(once func() error) error {
	for attempt := 1; ; attempt++ {
		err := once()
		if !isSerializationFailure(err) || attempt == serializationAttempts {
			return err
		}
	}
}

// serializationAttempts bounds retrySerialization: a third failure in a row
// means the row is written without pause, and the caller hears of it.
const serializationAttempts = 3

// isSerializationFailure reports whether err is PostgreSQL's 40001: a
// statement of a REPEATABLE READ or SERIALIZABLE transaction found its row
// changed after its snapshot. Nothing it did remains; it may be sent again.
func isSerializationFailure(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40001"
}

// signOutOnce is one try of signOut's two statements, each its own
// transaction, for retrySerialization: a statement that waited for a write
// of the session's row (the rotation it races, the new token's touch, a
// second rotation) may fail with 40001, having changed nothing.
func (s *Store) signOutOnce(ctx context.Context, tokenHash string) (e sessionguard.Event, held string, err error) {
	e = sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: sessionguard.ReasonLogout, Count: 1}
	held = tokenHash
	var ended, follow bool
	err = s.pool.QueryRow(ctx, signOutByHashSQL, sessionguard.ReasonLogout, tokenHash).
		Scan(&ended, &follow, &e.SessionID, &e.UserID, &e.TenantID, &e.AppType)
	switch {
	case err != nil || ended:
		return e, held, err
	case !follow:
		return e, held, pgx.ErrNoRows
	}
	err = s.pool.QueryRow(ctx, endRetiredSQL, sessionguard.ReasonLogout, tokenHash).
		Scan(&e.SessionID, &e.UserID, &e.TenantID, &e.AppType, &held)
	return e, held, err
}

// signOutByHashSQL is signOut's first statement: endByHashSQL, which ends
// the active session of token hash $2 with reason $1, in one row that
// says whether it ended one (and whom) and, when not, whether the second
// statement (endRetiredSQL) may find one: only when, in this statement's
// snapshot, a live session had the hash (a rotation of it may have
// committed while the UPDATE waited for the row: the row it then read no
// longer had the hash) or a re-authentication had retired it. A hash no
// session had, or an ended session's, costs one statement: a flood of
// sign-outs with random tokens, open to anyone, sends one per token, as it
// did before SignOut followed retired hashes.
const signOutByHashSQL = `WITH ended AS (` + endByHashSQL + `)
	SELECT e.id IS NOT NULL,
		e.id IS NULL AND (
			EXISTS (SELECT 1 FROM sessions s WHERE s.session_token_hash = $2 AND s.is_active = true)
			OR EXISTS (SELECT 1 FROM sessionguard_retired_tokens r WHERE r.token_hash = $2)),
		coalesce(e.id, ''), coalesce(e.user_id, 0), coalesce(e.tenant, 0), coalesce(e.app_type, '')
	FROM (VALUES (true)) AS one (row) LEFT JOIN ended e ON true`

// ending runs once, whose statements end sessions, through
// retrySerialization, and records with endingFailed what its error leaves
// unknown. Every method that ends sessions by a statement of its own goes
// through it (or endRows).
func (s *Store) ending(once func() error) error {
	err := retrySerialization(once)
	s.endingFailed(err)
	return err
}

// endRows is exec for a statement that ends sessions: its error goes to
// endingFailed, as ending's does.
func (s *Store) endRows(ctx context.Context, sql string, args ...any) (int, error) {
	n, err := s.exec(ctx, sql, args...)
	s.endingFailed(err)
	return n, err
}

// exec runs sql, a statement of its own that writes (or deletes scs data,
// or, through endRows, ends sessions), through retrySerialization, and
// reports how many rows it changed.
func (s *Store) exec(ctx context.Context, sql string, args ...any) (int, error) {
	var n int
	err := retrySerialization(func() error {
		tag, err := s.pool.Exec(ctx, sql, args...)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// RevokeSession ends the session with id sessionID whoever owns it, e.g. with
// sessionguard.ReasonAdminRevoke from an admin page. It reports false when no active
// session has that id (a malformed id included).
func (s *Store) RevokeSession(ctx context.Context, sessionID, reason string) (ended bool, err error) {
	ctx, call := s.tel.start(ctx, opRevokeSession)
	defer func() { call.endCount(ctx, boolCount(ended), err) }()
	const op = "revoke session"
	if !validReason(reason) {
		return false, invalid(op, "reason must be 1 to 50 bytes of text")
	}
	if !validUUID(sessionID) {
		return false, nil
	}
	e := sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: reason, Count: 1, SessionID: sessionID}
	var tokenHash string // for the read replica's fence; never logged
	err = s.ending(func() error {
		return s.pool.QueryRow(ctx, endSQL+"id = $2 RETURNING user_id, coalesce(tenant_id, 0), app_type, session_token_hash", reason, sessionID).
			Scan(&e.UserID, &e.TenantID, &e.AppType, &tokenHash)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrapErr(ctx, op, err)
	}
	return true, s.ended(ctx, op, tokenHash, e)
}

// RevokeUserSession ends the session with id sessionID only if it belongs to
// userID: the check a "your sessions" page needs so that one user cannot end
// another's session by guessing ids. It reports false otherwise.
func (s *Store) RevokeUserSession(ctx context.Context, userID int64, sessionID, reason string) (ended bool, err error) {
	ctx, call := s.tel.start(ctx, opRevokeUserSession)
	defer func() { call.endCount(ctx, boolCount(ended), err) }()
	const op = "revoke user session"
	if !validReason(reason) {
		return false, invalid(op, "reason must be 1 to 50 bytes of text")
	}
	if !validUUID(sessionID) || userID <= 0 || userID > maxInt32 {
		return false, nil
	}
	n, err := s.endRows(ctx, endSQL+"id = $2 AND user_id = $3", reason, sessionID, userID)
	if err != nil {
		return false, wrapErr(ctx, op, err)
	}
	if n == 0 {
		return false, nil
	}
	return true, s.ended(ctx, op, "", sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: reason, Count: 1, SessionID: sessionID, UserID: userID})
}

// RevokeAll ends every active session of userID (what the seed's
// revoke_all_user_sessions does, with endInOrder's locking), e.g. with sessionguard.ReasonPasswordChange or when an account
// is disabled (reason "account_disabled"), and reports how many it ended.
func (s *Store) RevokeAll(ctx context.Context, userID int64, reason string) (n int, err error) {
	ctx, call := s.tel.start(ctx, opRevokeAll)
	defer func() { call.endCount(ctx, n, err) }()
	const op = "revoke all"
	if !validReason(reason) {
		return 0, invalid(op, "reason must be 1 to 50 bytes of text")
	}
	if userID <= 0 || userID > maxInt32 {
		return 0, nil
	}
	n, err = s.endRows(ctx, endInOrder("s.user_id = $2"), reason, userID)
	if err != nil {
		return 0, wrapErr(ctx, op, err)
	}
	if n > 0 {
		return n, s.ended(ctx, op, "", sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: reason, Count: n, UserID: userID})
	}
	return 0, nil
}

// RevokeAllExcept ends every active session of userID but keepSessionID — "sign
// out everywhere else", or a password change that keeps the session that made
// it — and reports how many it ended.
func (s *Store) RevokeAllExcept(ctx context.Context, userID int64, keepSessionID, reason string) (ended int, err error) {
	ctx, call := s.tel.start(ctx, opRevokeAllExcept)
	defer func() { call.endCount(ctx, ended, err) }()
	const op = "revoke all except"
	if !validReason(reason) {
		return 0, invalid(op, "reason must be 1 to 50 bytes of text")
	}
	if !validUUID(keepSessionID) {
		return 0, invalid(op, "session id to keep is not a UUID")
	}
	if userID <= 0 || userID > maxInt32 {
		return 0, nil
	}
	n, err := s.endRows(ctx, endInOrder("s.user_id = $2 AND s.id <> $3"), reason, userID, keepSessionID)
	if err != nil {
		return 0, wrapErr(ctx, op, err)
	}
	if n > 0 {
		return n, s.ended(ctx, op, "", sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: reason, Count: n, UserID: userID})
	}
	return 0, nil
}

// RevokeEveryone ends every active session of every user — the emergency
// switch after a leaked signing key or a breach — and reports how many it
// ended. It is one statement over the active rows (bounded by the absolute
// timeout), which it locks in endInOrder's order; with the cache's
// notifications, every instance forgets them too (past 1,000 sessions, by
// one notification that empties every cache: migration 030).
func (s *Store) RevokeEveryone(ctx context.Context, reason string) (ended int, err error) {
	ctx, call := s.tel.start(ctx, opRevokeEveryone)
	defer func() { call.endCount(ctx, ended, err) }()
	const op = "revoke everyone"
	if !validReason(reason) {
		return 0, invalid(op, "reason must be 1 to 50 bytes of text")
	}
	n, err := s.endRows(ctx, endInOrder("true"), reason)
	if err != nil {
		return 0, wrapErr(ctx, op, err)
	}
	if n > 0 {
		return n, s.ended(ctx, op, "", sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: reason, Count: n})
	}
	return 0, nil
}
