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
