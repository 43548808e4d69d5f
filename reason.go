package sessionguard

// Reasons a session ended, as stored in sessions.revoke_reason. The first six are
// the seed's; an application may record its own (at most 50 bytes).
// ReasonSessionLimit ends the least recently active session of a user who
// signed in once more than a SessionLimit allows.
const (
	ReasonLogout          = "logout"
	ReasonIdleTimeout     = "idle_timeout"
	ReasonAbsoluteTimeout = "absolute_timeout"
	ReasonAdminRevoke     = "admin_revoke"
	ReasonPasswordChange  = "password_change"
	ReasonCleanupStale    = "cleanup_stale"
	ReasonSessionLimit    = "session_limit"
)
