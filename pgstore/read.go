package pgstore

import "time"

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
	now               time.Time
}

// decide gives, for a row read without a lock, the answer sessionguard_check
// (migrations 023, 024) gives for it without a touch, and whether a Validate
// must write: an expiry to record, or a live in-scope session whose last
// touch is at least touchInterval old. The rules are the function's, in its
// order — ended, absolute before idle, app type, tenant — and
// TestReadPathMatchesTheFunction holds the two to the same answers.
func (r sessionRow) decide(scope Scope, touchInterval time.Duration) (st Status, writeDue bool) {
	st.CheckedAt = r.now
	st.SessionID = r.id
	st.UserID = r.userID
	st.TenantID = deref(r.tenantID)
	st.AppType = AppType(r.appType)
	st.CreatedAt = r.createdAt
	st.LastActivityAt = r.lastActivityAt
	st.AbsoluteExpiresAt = r.absoluteExpiresAt
	st.IdleTimeout = time.Duration(r.idleSeconds) * time.Second
	st.IdleExpiresAt = st.LastActivityAt.Add(st.IdleTimeout)

	switch {
	case !r.active:
		st.EndReason = deref(r.revokeReason)
		st.State = endedState(st.EndReason)
		return st, false
	case !r.now.Before(st.AbsoluteExpiresAt):
		st.State, st.EndReason = StateAbsolute, ReasonAbsoluteTimeout
		return st, true
	case !r.now.Before(st.IdleExpiresAt):
		st.State, st.EndReason = StateIdle, ReasonIdleTimeout
		return st, true
	case scope.AppType != "" && st.AppType != scope.AppType:
		st.State = StateWrongApp
		return st, false
	case scope.TenantID != NoTenant && (r.tenantID == nil || st.TenantID != scope.TenantID):
		st.State = StateWrongTenant
		return st, false
	}
	st.State = StateValid
	return st, r.now.Sub(st.LastActivityAt) >= touchInterval
}

// endedState is the State of a session that ended with reason.
func endedState(reason string) State {
	switch reason {
	case ReasonIdleTimeout:
		return StateIdle
	case ReasonAbsoluteTimeout:
		return StateAbsolute
	}
	return StateRevoked
}
