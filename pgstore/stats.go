package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sessionguard/sessionguard"
)

// Stats is the sessions table at one moment of the database's clock: what an
// operator reads to see whether sessions end as they should.
type Stats struct {
	// At is that moment.
	At time.Time
	// Scopes counts the active sessions of each app type and tenant, in
	// that order.
	Scopes []ScopeStats
	// Ended counts the sessions ended in the period Stats was asked for, by
	// reason, the most frequent first.
	Ended []ReasonCount
	// OldestLive is the live session created first; its ID is "" when no
	// session is live. A long-lived one is a client that never lets go.
	OldestLive sessionguard.SessionInfo
}

// ScopeStats counts the active sessions of one app type and tenant.
type ScopeStats struct {
	AppType  sessionguard.AppType
	TenantID int64 // sessionguard.NoTenant for sessions without a tenant
	// Live sessions are active and within both timeouts (liveSQL).
	Live int
	// AwaitingCleanup sessions are still marked active but past a timeout:
	// no request or Cleaner has ended them yet. A number that keeps growing
	// means no Cleaner runs.
	AwaitingCleanup int
}

// ReasonCount is how many sessions ended with one revoke_reason ("" when the
// row has none).
type ReasonCount struct {
	Reason string
	Count  int
}

// The statistics' statements, each on the sessions row s. CURRENT_TIMESTAMP
// is the transaction's start, so all three see one moment.
const (
	scopeStatsSQL = `SELECT app_type, coalesce(tenant_id, 0),
		count(*) FILTER (WHERE ` + liveSQL + `), count(*) FILTER (WHERE NOT ` + liveSQL + `)
	FROM sessions s WHERE is_active = true
	GROUP BY 1, 2 ORDER BY 1, 2`
	endedByReasonSQL = `SELECT coalesce(revoke_reason, ''), count(*)
	FROM sessions
	WHERE is_active = false AND ended_at > CURRENT_TIMESTAMP - make_interval(secs => $1)
	GROUP BY 1 ORDER BY 2 DESC, 1`
	oldestLiveSQL = listLiveSQL + ` ORDER BY created_at, id LIMIT 1`
	nowSQL        = `SELECT CURRENT_TIMESTAMP`
)

// Stats reads the statistics of the sessions table, counting the sessions
// ended in the last since (whole seconds, at least one). It only reads, in
// one read-only, repeatable-read transaction.
func (s *Store) Stats(ctx context.Context, since time.Duration) (_ Stats, err error) {
	ctx, call := s.tel.start(ctx, opStats)
	defer func() { call.end(ctx, err) }()
	const op = "stats"
	if since < time.Second {
		return Stats{}, invalid(op, "period %v is below a second", since)
	}
	var st Stats
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err = pgx.BeginTxFunc(ctx, s.pool, opts, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, nowSQL).Scan(&st.At); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, scopeStatsSQL)
		if err != nil {
			return err
		}
		if st.Scopes, err = pgx.CollectRows(rows, scanScopeStats); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, endedByReasonSQL, int64(since/time.Second))
		if err != nil {
			return err
		}
		if st.Ended, err = pgx.CollectRows(rows, pgx.RowToStructByPos[ReasonCount]); err != nil {
			return err
		}
		st.OldestLive, err = scanInfo(tx.QueryRow(ctx, oldestLiveSQL))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return Stats{}, wrapErr(ctx, op, err)
	}
	return st, nil
}

func scanScopeStats(row pgx.CollectableRow) (ScopeStats, error) {
	var (
		sc  ScopeStats
		app string
	)
	err := row.Scan(&app, &sc.TenantID, &sc.Live, &sc.AwaitingCleanup)
	sc.AppType = sessionguard.AppType(app)
	return sc, err
}
