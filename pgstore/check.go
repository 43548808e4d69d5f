package pgstore

import (
	"context"
	"time"
)

// checkSQL calls sessionguard_check (migrations 023, 024): the state, the
// reason a session ended, and the row's timing, in one round trip. It is the
// only path that writes: it records an expiry it finds and touches.
const checkSQL = `SELECT state, end_reason, session_id::text, user_id, tenant_id, app_type,
	created_at, last_activity_at, idle_timeout_seconds, absolute_expires_at, checked_at
	FROM sessionguard_check($1, $2, $3, $4, $5)`

// readSQL answers what sessionguard_check answers, without writing, as one
// plain indexed SELECT, and says whether a Validate must write (write_due: an
// expiry to record, or a touch at least the touch interval old). In the steady
// state of a busy session nothing is due, and this statement is the whole
// check: a plain SELECT costs PostgreSQL markedly less than a PL/pgSQL call
// (BENCHMARKS.md). When a write is due, Validate calls sessionguard_check,
// which decides again under the row lock.
const readSQL = `SELECT
	CASE
		WHEN s.id IS NULL THEN 'unknown'
		WHEN NOT s.is_active THEN CASE s.revoke_reason
			WHEN 'idle_timeout' THEN 'idle_timeout' WHEN 'absolute_timeout' THEN 'absolute_timeout' ELSE 'revoked' END
		WHEN n.now >= s.absolute_expires_at THEN 'absolute_timeout'
		WHEN n.now >= s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) THEN 'idle_timeout'
		WHEN $2::varchar IS NOT NULL AND s.app_type IS DISTINCT FROM $2::varchar THEN 'wrong_app'
		WHEN $3::integer IS NOT NULL AND s.tenant_id IS DISTINCT FROM $3::integer THEN 'wrong_tenant'
		ELSE 'valid'
	END,
	CASE
		WHEN NOT s.is_active THEN s.revoke_reason
		WHEN n.now >= s.absolute_expires_at THEN 'absolute_timeout'
		WHEN n.now >= s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) THEN 'idle_timeout'
	END,
	s.id::text, s.user_id, s.tenant_id, s.app_type, s.created_at, s.last_activity_at,
	s.idle_timeout_seconds, s.absolute_expires_at, n.now,
	coalesce(s.is_active AND (
		n.now >= s.absolute_expires_at
		OR n.now >= s.last_activity_at + make_interval(secs => s.idle_timeout_seconds)
		OR (($2::varchar IS NULL OR s.app_type = $2::varchar)
			AND ($3::integer IS NULL OR s.tenant_id = $3::integer)
			AND n.now - s.last_activity_at >= make_interval(secs => $4::integer))), false)
	FROM (SELECT CURRENT_TIMESTAMP AS now) n
	LEFT JOIN sessions s ON s.session_token_hash = $1`

// Validate checks the session of tokenHash for one request and records the
// activity. It reports why a session is not valid, records
// an expiry it discovers (revoke_reason idle_timeout or absolute_timeout, as
// get_session_status does), and moves last_activity_at to now when it is at
// least the touch interval old. The idle time it reports is the time left
// after that touch. It never revives a revoked or expired session.
//
// A session outside scope is reported as StateWrongApp or StateWrongTenant
// and is not touched.
//
// It costs one round trip, a plain SELECT, when no write is due; two when one
// is (a live session's touch, at most once per touch interval, or an expiry
// to record); and one, the writing call, with a touch interval of 0.
func (s *Store) Validate(ctx context.Context, tokenHash string, scope Scope) (Status, error) {
	return s.check(ctx, "validate", tokenHash, scope, true)
}

// Peek reports what Validate would, but writes nothing: it neither extends the
// session nor records an expiry it sees (the next Validate or the cleanup
// does). Use it for "how long is left?" requests, which must never keep a
// session alive, and where a read replica should answer.
func (s *Store) Peek(ctx context.Context, tokenHash string, scope Scope) (Status, error) {
	return s.check(ctx, "peek", tokenHash, scope, false)
}

func (s *Store) check(ctx context.Context, op, tokenHash string, scope Scope, touch bool) (Status, error) {
	if !validHash(tokenHash) {
		return Status{}, invalid(op, "token hash is not 64 lowercase hex characters")
	}
	if scope.AppType != "" && !scope.AppType.Valid() {
		return Status{}, invalid(op, "scope app type %q is neither %q nor %q", scope.AppType, ControlPanel, TenantApp)
	}
	if scope.TenantID < 0 || scope.TenantID > maxInt32 {
		return Status{}, invalid(op, "scope tenant id %d out of range", scope.TenantID)
	}
	var appType *string
	if scope.AppType != "" {
		v := string(scope.AppType)
		appType = &v
	}

	var (
		st        Status
		state     string
		endReason *string
		sessionID *string
		userID    *int64
		tenantID  *int64
		app       *string
		created   *time.Time
		lastSeen  *time.Time
		idleSecs  *int32
		absolute  *time.Time
	)
	tenant := nullIfZero(scope.TenantID)
	// Every Validate writes with an interval of 0: skip the read.
	writeDue := touch && s.touchIntervalSeconds == 0
	var err error
	if !writeDue {
		err = s.pool.QueryRow(ctx, readSQL, tokenHash, appType, tenant, s.touchIntervalSeconds).
			Scan(&state, &endReason, &sessionID, &userID, &tenantID, &app, &created, &lastSeen, &idleSecs, &absolute, &st.CheckedAt, &writeDue)
	}
	if err == nil && touch && writeDue {
		err = s.pool.QueryRow(ctx, checkSQL, tokenHash, touch, s.touchIntervalSeconds, appType, tenant).
			Scan(&state, &endReason, &sessionID, &userID, &tenantID, &app, &created, &lastSeen, &idleSecs, &absolute, &st.CheckedAt)
	}
	if err != nil {
		return Status{}, wrapErr(op, err)
	}
	st.State = State(state)
	st.EndReason = deref(endReason)
	st.SessionID = deref(sessionID)
	st.UserID = deref(userID)
	st.TenantID = deref(tenantID)
	st.AppType = AppType(deref(app))
	st.CreatedAt = deref(created)
	st.LastActivityAt = deref(lastSeen)
	st.AbsoluteExpiresAt = deref(absolute)
	st.IdleTimeout = time.Duration(deref(idleSecs)) * time.Second
	if lastSeen != nil {
		st.IdleExpiresAt = st.LastActivityAt.Add(st.IdleTimeout)
	}
	return st, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
