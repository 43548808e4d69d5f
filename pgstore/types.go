package pgstore

import "time"

// AppType says which application a session belongs to. The seed stores it in
// sessions.app_type; a session of one app type never opens routes of another.
type AppType string

const (
	ControlPanel AppType = "control_panel" // staff, the seed's default
	TenantApp    AppType = "tenant_app"    // customers, bound to one tenant
)

// Valid reports whether t is one of the app types the schema knows.
func (t AppType) Valid() bool { return t == ControlPanel || t == TenantApp }

// NoTenant is the TenantID of a session that belongs to no tenant (a
// control-panel session, for instance). Tenant ids are positive.
const NoTenant int64 = 0

// Reasons a session ended, as stored in sessions.revoke_reason. The first six are
// the seed's; an application may record its own (at most 50 bytes).
const (
	ReasonLogout          = "logout"
	ReasonIdleTimeout     = "idle_timeout"
	ReasonAbsoluteTimeout = "absolute_timeout"
	ReasonAdminRevoke     = "admin_revoke"
	ReasonPasswordChange  = "password_change"
	ReasonCleanupStale    = "cleanup_stale"
)

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

// Status is what Validate and Peek report for one token hash. Only a Status
// whose State is StateValid authenticates a request; for the others, the
// identifying fields are filled when a row exists (for audit), never to be
// trusted as a sign-in.
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

	// EndedNow is true when this check found the session past a timeout
	// and recorded its end (Validate only): the one moment to report it as
	// expired. Later checks of the session report the same State without it.
	// (With a negative Config.TouchInterval, Validate skips its read and
	// cannot tell: every timeout it reports has EndedNow.)
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

// remaining truncates to whole seconds, so that a client is never told it has
// more time than it has.
func remaining(until, now time.Time) time.Duration {
	d := until.Sub(now).Truncate(time.Second)
	if d < 0 {
		return 0
	}
	return d
}

// NewSession describes a session to create for a freshly issued token.
type NewSession struct {
	ID        string // optional sessions.id (UUID text); generated when empty. A JWT carries it as "sid".
	TokenHash string // hex SHA-256 of the token: 64 lowercase hex characters
	UserID    int64
	TenantID  int64 // NoTenant for none
	AppType   AppType
	IP        string // client address, at most 45 bytes; empty for unknown
	UserAgent string // truncated to 512 bytes

	IdleTimeout     time.Duration // 0 means the seed's 4 h; whole seconds
	AbsoluteTimeout time.Duration // 0 means the seed's 8 h; whole seconds
}

// SessionInfo is one row of a user's session list: what a "your active
// sessions" page shows. It never carries the token hash.
type SessionInfo struct {
	ID                string
	UserID            int64
	TenantID          int64
	AppType           AppType
	IP                string
	UserAgent         string
	CreatedAt         time.Time
	LastActivityAt    time.Time
	AbsoluteExpiresAt time.Time
	IdleTimeout       time.Duration
}
