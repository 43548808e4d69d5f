package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/sessionguard/sessionguard"
)

// limitLockSQL takes the transaction-scoped advisory lock of one user and app
// type. Sign-ins of that user in that app type queue on it, so each one
// counts the live sessions after the previous one committed; other users are
// not held up. A transaction-scoped lock is released by COMMIT or ROLLBACK,
// so it never outlives the transaction on a pooled server connection (a
// session-level lock would, which PgBouncer's transaction mode rules out).
// The two-key form keeps clear of the one-key locks of schema.Migrate and
// the Cleaner (PostgreSQL keeps the two key spaces apart).
const limitLockSQL = `SELECT pg_advisory_xact_lock(hashtext('sessionguard.session_limit.' || $1::text), $2::integer)`

// countLiveSQL counts the user's live sessions of the app type.
const countLiveSQL = `SELECT count(*) FROM sessions s WHERE s.user_id = $1 AND s.app_type = $2 AND ` + liveSQL

// evictSQL ends all but the $4 most recently active live sessions of the user
// in the app type, with reason $1, locking them in endInOrder's order.
// "Recently active" is last_activity_at, which Validate writes at most once
// per touch interval: sessions active within the same interval may be told
// apart by their ids instead.
var evictSQL = endInOrder(`s.id IN (
		SELECT s.id FROM sessions s WHERE s.user_id = $2 AND s.app_type = $3 AND `+liveSQL+`
		ORDER BY s.last_activity_at DESC, s.id DESC OFFSET $4)`) + `
	RETURNING id::text, coalesce(tenant_id, 0)`

// createLimited inserts a session within limit, in one transaction under the
// user's lock. It returns the events of the sessions it ended to make room,
// to be emitted once the transaction committed.
//
// The transaction is READ COMMITTED whatever the pool's
// default_transaction_isolation, as Reauthenticate's is: the count and the
// eviction must read what the previous sign-in committed while this one
// waited for the lock. At REPEATABLE READ the snapshot is the first
// statement's, taken before that wait: sign-ins counted without each
// other (22 live sessions at a limit of 3), and at SERIALIZABLE most
// failed (TestSessionLimitUnderConcurrentSignIns).
func (s *Store) createLimited(ctx context.Context, userID int64, app sessionguard.AppType, limit sessionguard.SessionLimit, args []any) (sessionguard.SessionInfo, []sessionguard.Event, error) {
	var (
		info    sessionguard.SessionInfo
		evicted []sessionguard.Event
	)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, limitLockSQL, string(app), userID); err != nil {
			return err
		}
		if limit.AtLimit == sessionguard.RefuseNewSession {
			var live int64
			if err := tx.QueryRow(ctx, countLiveSQL, userID, string(app)).Scan(&live); err != nil {
				return err
			}
			if live >= int64(limit.Max) {
				return sessionguard.ErrSessionLimit
			}
		} else {
			rows, err := tx.Query(ctx, evictSQL, sessionguard.ReasonSessionLimit, userID, string(app), limit.Max-1)
			if err != nil {
				return err
			}
			evicted, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (sessionguard.Event, error) {
				e := sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: sessionguard.ReasonSessionLimit,
					Count: 1, UserID: userID, AppType: app}
				return e, row.Scan(&e.SessionID, &e.TenantID)
			})
			if err != nil {
				return err
			}
		}
		var err error
		info, err = scanInfo(tx.QueryRow(ctx, insertSQL, args...))
		return err
	})
	if limit.AtLimit != sessionguard.RefuseNewSession {
		// The transaction ends the least recently active sessions: an
		// error of unknown outcome may have come after it committed.
		s.endingFailed(err)
	}
	return info, evicted, err
}
