package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sessionguard/sessionguard"
)

// infoColumns are the columns scanInfo reads: a SessionInfo. Rows from
// before migration 027 have no auth_time; they authenticated when created.
const infoColumns = `id::text, user_id, coalesce(tenant_id, 0), app_type, coalesce(ip_address, ''),
	coalesce(user_agent, ''), created_at, last_activity_at, absolute_expires_at, idle_timeout_seconds,
	coalesce(auth_time, created_at), coalesce(acr, ''), amr`

// listLiveSQL selects the live sessions (liveSQL): active and within both
// timeouts by the database's clock. Sessions that have expired but that
// nobody has checked or cleaned up yet are left out.
const listLiveSQL = `SELECT ` + infoColumns + `
	FROM sessions s
	WHERE ` + liveSQL

// ListActive lists the live sessions of userID, most recently active first:
// what a "your active sessions" page shows.
func (s *Store) ListActive(ctx context.Context, userID int64) (_ []sessionguard.SessionInfo, err error) {
	ctx, call := s.tel.start(ctx, opListActive)
	defer func() { call.end(ctx, err) }()
	if userID <= 0 || userID > maxInt32 {
		return nil, nil
	}
	return s.list(ctx, "list active", listLiveSQL+" AND user_id = $1 ORDER BY last_activity_at DESC, id", userID)
}

// ListAllActive lists up to limit live sessions of every user, most recently
// active first: what an admin page shows. limit <= 0 means 1000.
func (s *Store) ListAllActive(ctx context.Context, limit int) (_ []sessionguard.SessionInfo, err error) {
	ctx, call := s.tel.start(ctx, opListAllActive)
	defer func() { call.end(ctx, err) }()
	if limit <= 0 {
		limit = 1000
	}
	return s.list(ctx, "list all active", listLiveSQL+" ORDER BY last_activity_at DESC, id LIMIT $1", limit)
}

func (s *Store) list(ctx context.Context, op, sql string, args ...any) ([]sessionguard.SessionInfo, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	infos, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sessionguard.SessionInfo, error) {
		return scanInfo(row)
	})
	if err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	return infos, nil
}

// scanInfo reads the infoColumns of row.
func scanInfo(row pgx.Row) (sessionguard.SessionInfo, error) {
	var (
		info     sessionguard.SessionInfo
		app      string
		idleSecs int32
	)
	err := row.Scan(&info.ID, &info.UserID, &info.TenantID, &app, &info.IP, &info.UserAgent,
		&info.CreatedAt, &info.LastActivityAt, &info.AbsoluteExpiresAt, &idleSecs,
		&info.AuthTime, &info.ACR, &info.AMR)
	info.AppType = sessionguard.AppType(app)
	info.IdleTimeout = time.Duration(idleSecs) * time.Second
	return info, err
}
