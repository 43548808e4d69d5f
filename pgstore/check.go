package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sessionguard/sessionguard"
)

// checkSQL calls sessionguard_check (migrations 023, 024): the state, the
// reason a session ended, and the row's timing, in one round trip. It is the
// only path that writes: it records an expiry it finds and touches.
//
// The function predates migration 027: the authentication columns come from
// the row of the session it reports, joined by id (authJoin). (Read in the
// statement's snapshot, they are never newer than the function's answer; a
// rotation changes the hash, which the function looks up, so a stale join can
// only make the authentication look older than it is.)
const checkSQL = `SELECT ` + checkColumns + ` FROM sessionguard_check($1, $2, $3, $4, $5) c` + authJoin

// checkColumns are what checkSQL and writeBatchSQL read of
// sessionguard_check's answer c and the session row s (authJoin), in the
// order scanCheck reads them.
const checkColumns = `c.state, c.end_reason, c.session_id::text, c.user_id, c.tenant_id, c.app_type,
	c.created_at, c.last_activity_at, c.idle_timeout_seconds, c.absolute_expires_at, c.checked_at,
	coalesce(s.auth_time, s.created_at), coalesce(s.acr, ''), s.amr`

// authJoin joins the session row s that sessionguard_check's answer c
// reports, for the authentication columns of migration 027.
const authJoin = ` LEFT JOIN sessions s ON s.id = c.session_id`

// readSQL reads the row a check needs, and the database clock, in one plain
// SELECT (live sessions through migration 029's index: lookup.go). In the
// steady state of a busy session nothing is due, and this statement is the
// whole check: a plain SELECT costs PostgreSQL markedly
// less than a PL/pgSQL call or one that computes the state itself
// (BENCHMARKS.md). decide (read.go) turns the row into the answer
// sessionguard_check would give; when that answer says a write is due,
// Validate calls sessionguard_check, which decides again under the row lock.
var readSQL = liveFirstSQL(readColumns)

// readColumns are what readSQL and readBatchSQL read, in the order of
// sessionRow.scanTargets. Rows from before migration 027 have no auth_time:
// they were authenticated when they were created.
const readColumns = `is_active, revoke_reason, id::text, user_id, tenant_id, app_type,
	created_at, last_activity_at, idle_timeout_seconds, absolute_expires_at,
	coalesce(auth_time, created_at), coalesce(acr, ''), amr, CURRENT_TIMESTAMP`

// Validate checks the session of tokenHash for one request and records the
// activity. It reports why a session is not valid, records
// an expiry it discovers (revoke_reason idle_timeout or absolute_timeout, as
// get_session_status does), and moves last_activity_at to now when it is at
// least the touch interval old. The idle time it reports is the time left
// after that touch. It never revives a revoked or expired session.
//
// A session outside scope is reported as sessionguard.StateWrongApp or StateWrongTenant
// and is not touched.
//
// It costs one round trip, a plain SELECT, when no write is due; two when one
// is (a live session's touch, at most once per touch interval, or an expiry
// to record); and one, the writing call, with a negative
// Config.TouchInterval (every Validate writes; TouchInterval reports 0).
func (s *Store) Validate(ctx context.Context, tokenHash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	ctx, call := s.tel.start(ctx, opValidate)
	st, err := s.check(ctx, "validate", tokenHash, scope, true)
	call.endCheck(ctx, st, err)
	return st, err
}

// Peek reports what Validate would, but writes nothing: it neither extends the
// session nor records an expiry it sees (the next Validate or the cleanup
// does). Use it for "how long is left?" requests, which must never keep a
// session alive, and where a read replica should answer.
func (s *Store) Peek(ctx context.Context, tokenHash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	ctx, call := s.tel.start(ctx, opPeek)
	st, err := s.check(ctx, "peek", tokenHash, scope, false)
	call.endCheck(ctx, st, err)
	return st, err
}

func (s *Store) check(ctx context.Context, op, tokenHash string, scope sessionguard.Scope, touch bool) (sessionguard.Status, error) {
	if !validHash(tokenHash) {
		return sessionguard.Status{}, invalid(op, "token hash is not 64 lowercase hex characters")
	}
	if scope.AppType != "" && !scope.AppType.Valid() {
		return sessionguard.Status{}, invalid(op, "scope app type %q is neither %q nor %q", scope.AppType, sessionguard.ControlPanel, sessionguard.TenantApp)
	}
	if scope.TenantID < 0 || scope.TenantID > maxInt32 {
		return sessionguard.Status{}, invalid(op, "scope tenant id %d out of range", scope.TenantID)
	}
	var (
		st       sessionguard.Status
		writeDue bool
		err      error
	)
	if touch && s.touchIntervalSeconds == 0 {
		// Every Validate writes with an interval of 0: skip the read.
		writeDue = true
	} else if rst, ok := s.readReplica(ctx, tokenHash, scope, touch); ok {
		st = rst
	} else {
		var row sessionRow
		row, err = s.readRow(ctx, tokenHash)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// No such session. (CheckedAt is the local clock here: nothing
			// is timed against it.)
			st, err = sessionguard.Status{State: sessionguard.StateUnknown, CheckedAt: time.Now()}, nil
		case err == nil:
			st, writeDue = row.decide(scope, s.TouchInterval())
		}
	}
	if err == nil && touch && writeDue {
		// A timeout the read found on an active row is recorded by this
		// call. Without a read (touch interval 0) that is unknown, and every
		// timeout reported counts as found now.
		foundExpired := st.State == sessionguard.StateIdle || st.State == sessionguard.StateAbsolute || st.State == ""
		st, err = s.callCheck(ctx, tokenHash, scope)
		st.EndedNow = foundExpired && (st.State == sessionguard.StateIdle || st.State == sessionguard.StateAbsolute)
	}
	if err != nil {
		return sessionguard.Status{}, wrapErr(ctx, op, err)
	}
	return st, nil
}

// callCheck runs sessionguard_check with a touch: the path that writes
// (through the batcher when batching is on). Its arguments are built here,
// not in check: a read that finds nothing due allocates none of them.
func (s *Store) callCheck(ctx context.Context, tokenHash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	var appType *string
	if scope.AppType != "" {
		v := string(scope.AppType)
		appType = &v
	}
	tenant := nullIfZero(scope.TenantID)
	r := writeRequest{tokenHash, appType, tenant}
	if s.writes != nil {
		return s.writes.do(ctx, r)
	}
	return s.writeOne(ctx, r)
}

// scanCheck reads one answer of sessionguard_check (checkSQL's columns).
func scanCheck(row pgx.Row) (sessionguard.Status, error) {
	var (
		st        sessionguard.Status
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
		authTime  *time.Time
		acr       *string
	)
	err := row.Scan(&state, &endReason, &sessionID, &userID, &tenantID, &app, &created, &lastSeen, &idleSecs, &absolute, &st.CheckedAt,
		&authTime, &acr, &st.AMR)
	if err != nil {
		return sessionguard.Status{}, err
	}
	st.State = sessionguard.State(state)
	st.EndReason = deref(endReason)
	st.SessionID = deref(sessionID)
	st.UserID = deref(userID)
	st.TenantID = deref(tenantID)
	st.AppType = sessionguard.AppType(deref(app))
	st.CreatedAt = deref(created)
	st.LastActivityAt = deref(lastSeen)
	st.AbsoluteExpiresAt = deref(absolute)
	st.IdleTimeout = time.Duration(deref(idleSecs)) * time.Second
	st.AuthTime = deref(authTime)
	st.ACR = deref(acr)
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
