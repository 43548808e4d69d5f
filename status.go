package sessionguard

import "time"

// State is the outcome of checking a token hash against the sessions table.
type State string

const (
	StateValid       State = "valid"            // active, within both timeouts and the scope
	StateUnknown     State = "unknown"          // no row for this hash
	StateIdle        State = "idle_timeout"     // ended (now or before) by the idle timeout
	StateAbsolute    State = "absolute_timeout" // ended (now or before) by the absolute timeout
	StateRevoked     State = "revoked"          // ended for another reason; see Status.EndReason
	StateWrongApp    State = "wrong_app"        // alive, but of another app type than the scope asks
	StateWrongTenant State = "wrong_tenant"     // alive, but of another tenant than the scope asks
)

// Scope narrows which sessions a check accepts. The zero Scope accepts any.
type Scope struct {
	AppType  AppType // "" accepts any app type
	TenantID int64   // NoTenant accepts any tenant; otherwise the session's tenant must match
}

// Status is what Store.Validate and Store.Peek report for one token hash.
// Only a Status whose State is StateValid authenticates a request; for the
// others, the identifying fields are filled when a row exists (for audit),
// never to be trusted as a sign-in.
type Status struct {
	State     State
	EndReason string // sessions.revoke_reason when the session has ended, e.g. "logout"

	SessionID string // the sessions.id UUID, canonical text form
	UserID    int64
	TenantID  int64 // NoTenant when the session has none
	AppType   AppType

	CreatedAt         time.Time
	LastActivityAt    time.Time // after this check's touch, if it touched
	IdleExpiresAt     time.Time // LastActivityAt + the session's idle timeout
	AbsoluteExpiresAt time.Time
	IdleTimeout       time.Duration // the session's own idle timeout
	CheckedAt         time.Time     // the database clock when the check ran

	// AuthTime is when the user last proved who they are (sign-in or
	// re-authentication); ACR and AMR say how, when recorded. A route that
	// needs a recent or strong authentication compares them.
	AuthTime time.Time
	ACR      string
	AMR      []string

	// EndedNow is true when this check found the session past a timeout
	// and recorded its end (Validate only): the one moment to report it as
	// expired. Later checks of the session report the same State without it.
	// (A store that skips its read, such as pgstore with a negative
	// TouchInterval, cannot tell: every timeout it reports has EndedNow.)
	EndedNow bool
}

// Valid reports whether the status authenticates a request.
func (s Status) Valid() bool { return s.State == StateValid }

// IdleRemaining is the whole time left before the idle timeout, as of CheckedAt.
func (s Status) IdleRemaining() time.Duration { return remaining(s.IdleExpiresAt, s.CheckedAt) }

// AbsoluteRemaining is the whole time left before the absolute timeout, as of CheckedAt.
func (s Status) AbsoluteRemaining() time.Duration {
	return remaining(s.AbsoluteExpiresAt, s.CheckedAt)
}

// AuthAge is the time since AuthTime, as of CheckedAt.
func (s Status) AuthAge() time.Duration { return s.CheckedAt.Sub(s.AuthTime) }

// remaining truncates to whole seconds, so that a client is never told it has
// more time than it has.
func remaining(until, now time.Time) time.Duration {
	d := until.Sub(now).Truncate(time.Second)
	if d < 0 {
		return 0
	}
	return d
}
