package pgstore

import (
	"time"

	"github.com/sessionguard/sessionguard"
)

// sessionRow is what readSQL reads: a sessions row and the database clock.
type sessionRow struct {
	active            bool
	revokeReason      *string // NULL while active
	id                string
	userID            int64
	tenantID          *int64 // NULL without a tenant
	appType           string
	createdAt         time.Time
	lastActivityAt    time.Time
	idleSeconds       int32
	absoluteExpiresAt time.Time
	authTime          time.Time
	acr               string
	amr               []string
	now               time.Time
}

// scanTargets are the destinations of readColumns, in order.
func (r *sessionRow) scanTargets() []any {
	return []any{&r.active, &r.revokeReason, &r.id, &r.userID, &r.tenantID, &r.appType,
		&r.createdAt, &r.lastActivityAt, &r.idleSeconds, &r.absoluteExpiresAt, &r.authTime, &r.acr, &r.amr, &r.now}
}

// decide gives, for a row read without a lock, the answer sessionguard_check
// (migrations 023, 024) gives for it without a touch, and whether a Validate
// must write: an expiry to record, or a live in-scope session whose last
// touch is at least touchInterval old. The rules are the function's, in its
// order — ended, absolute before idle, app type, tenant — and
// TestReadPathMatchesTheFunction holds the two to the same answers.
func (r sessionRow) decide(scope sessionguard.Scope, touchInterval time.Duration) (st sessionguard.Status, writeDue bool) {
	st.CheckedAt = r.now
	st.SessionID = r.id
	st.UserID = r.userID
	st.TenantID = deref(r.tenantID)
	st.AppType = sessionguard.AppType(r.appType)
	st.CreatedAt = r.createdAt
	st.LastActivityAt = r.lastActivityAt
	st.AbsoluteExpiresAt = r.absoluteExpiresAt
	st.IdleTimeout = time.Duration(r.idleSeconds) * time.Second
	st.IdleExpiresAt = st.LastActivityAt.Add(st.IdleTimeout)
	st.AuthTime, st.ACR, st.AMR = r.authTime, r.acr, r.amr

	switch {
	case !r.active:
		st.EndReason = deref(r.revokeReason)
		st.State = endedState(st.EndReason)
		return st, false
	case !r.now.Before(st.AbsoluteExpiresAt):
		st.State, st.EndReason = sessionguard.StateAbsolute, sessionguard.ReasonAbsoluteTimeout
		return st, true
	case !r.now.Before(st.IdleExpiresAt):
		st.State, st.EndReason = sessionguard.StateIdle, sessionguard.ReasonIdleTimeout
		return st, true
	case scope.AppType != "" && st.AppType != scope.AppType:
		st.State = sessionguard.StateWrongApp
		return st, false
	case scope.TenantID != sessionguard.NoTenant && (r.tenantID == nil || st.TenantID != scope.TenantID):
		st.State = sessionguard.StateWrongTenant
		return st, false
	}
	st.State = sessionguard.StateValid
	return st, r.now.Sub(st.LastActivityAt) >= touchInterval
}

// endedState is the State of a session that ended with reason.
func endedState(reason string) sessionguard.State {
	switch reason {
	case sessionguard.ReasonIdleTimeout:
		return sessionguard.StateIdle
	case sessionguard.ReasonAbsoluteTimeout:
		return sessionguard.StateAbsolute
	}
	return sessionguard.StateRevoked
}
