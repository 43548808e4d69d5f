package sessionguard

import "time"

// NewSession describes a session to create for a freshly issued token.
type NewSession struct {
	ID        string // optional sessions.id (UUID text); generated when empty. A JWT may carry it in a session-id claim.
	TokenHash string // hex SHA-256 of the token: 64 lowercase hex characters
	UserID    int64
	TenantID  int64 // NoTenant for none
	AppType   AppType
	IP        string // client address, at most 45 bytes; empty for unknown
	UserAgent string // truncated to 512 bytes

	IdleTimeout     time.Duration // 0 means the seed's 4 h; whole seconds
	AbsoluteTimeout time.Duration // 0 means the seed's 8 h; whole seconds

	// ACR and AMR record how the user authenticated (see
	// CheckAuthentication): an authentication context class such as "aal2",
	// and methods such as "pwd", "otp", "hwk" (RFC 8176). Empty: not recorded.
	ACR string
	AMR []string
	// AuthTime is when the user authenticated, when that was before the
	// session's creation: a session opened for an identity provider's token
	// was authenticated when the provider last asked for credentials (OIDC's
	// "auth_time"), not when the application recorded the token, and step-up
	// routes must see that age. Zero means the creation; a time after the
	// database's clock is taken as the creation.
	AuthTime time.Time

	// Limit caps the user's live sessions of AppType; the zero value sets
	// none. It is applied atomically with the insert.
	Limit SessionLimit
}

// Reauthentication describes a re-authentication of a live session: the
// user proved who they are again, and the session gets a new token (ASVS
// 7.2.4) while keeping its id and history.
type Reauthentication struct {
	SessionID    string // the session the caller authenticated; the rotation applies only to it
	OldTokenHash string // hex SHA-256 of the token the request carried
	NewTokenHash string // hex SHA-256 of a freshly issued token
	ACR          string // as in NewSession; replaces the recorded one
	AMR          []string
	// OldTwinHash is the hex SHA-256 of the old token's other string, when
	// it has one that verifies as well (an ECDSA JWT re-signed with its
	// signature's other s), retired with it; "" when it has none.
	OldTwinHash string
	// AuthTime is when the user authenticated, when that was before the
	// re-authentication is recorded (an identity provider's "auth_time"),
	// as NewSession.AuthTime. Zero means now.
	AuthTime time.Time
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
	AuthTime          time.Time // the last sign-in or re-authentication
	ACR               string    // how, when recorded
	AMR               []string
}
