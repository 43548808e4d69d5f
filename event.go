package sessionguard

import "log/slog"

// EventKind names what happened to a session, for an audit log or a metric.
type EventKind string

// Event kinds. Activity (a touch) is deliberately not an event: it happens on
// every request and says nothing an auditor needs.
const (
	EventCreated EventKind = "created" // a session was opened (sign-in)
	// EventReauthenticated: the user of a live session proved who they are
	// again, and the session got a new token.
	EventReauthenticated EventKind = "reauthenticated"
	EventRevoked         EventKind = "revoked" // sessions were ended on purpose: logout, admin, password change, ...
	EventExpired         EventKind = "expired" // sessions ended by their idle or absolute timeout
	EventRefused         EventKind = "refused" // a request was not let in
	EventPurged          EventKind = "purged"  // ended rows older than the retention period were deleted

	// EventRefreshed: a live session took its identity provider's renewed
	// token (a refresh-token grant, Guard.Refresh), without a new
	// authentication.
	EventRefreshed EventKind = "refreshed"
)

// Reasons of refused events that are not a request's refusal but a
// re-authentication's or a refresh's: the request's session is live, and
// the token the application presented for it (Reauthentication.Token, or
// Refresh's token) was refused: another user's, tenant's or session's, a
// forged or expired one, one of no later authentication, the session's own,
// one a rotation retired; or, for Refresh, a session with no authentication
// time to keep (nothing for a refresh to carry on: a new authentication
// records one). They are refused events, with the refused
// session's id, user, tenant, app type and client address, so that an
// audit that counts failed authentications by "event=refused" sees them;
// a Guard.Require route's refusal of a session too old for it is the
// sentinel's reason, "reauthentication_required", and says nothing was
// tried.
const (
	ReasonReauthenticationRefused = "reauthentication_refused"
	ReasonRefreshRefused          = "refresh_refused"
)

// Event is one audit event. It never carries a token or a token hash; the
// session id (sessions.id) identifies a session.
type Event struct {
	Kind EventKind
	// Reason is the revoke_reason for revoked and expired events
	// ("logout", "idle_timeout", ...) and the refusal reason for refused
	// events ("invalid", "revoked", "unavailable", ...).
	Reason string
	// EndReason is, for a request refused because its session had ended,
	// why it ended (the stored revoke_reason).
	EndReason string
	// Count is how many sessions the event covers: 1 for one session, the
	// number ended by RevokeAll or by one cleanup run, 0 for a refused
	// request that named no session.
	Count     int
	SessionID string // "" when the event covers several sessions or none is known
	UserID    int64  // 0 when unknown
	TenantID  int64  // NoTenant when none or unknown
	AppType   AppType
	// ActorID is the user who caused the event, when the caller said so
	// with WithActor (an admin ending someone's session, for instance); 0
	// means unknown or the system.
	ActorID int64
	IP      string // the client address, for events that come from a request
}

// Message is the log message of the event.
func (e Event) Message() string {
	switch e.Kind {
	case EventCreated:
		return "sessionguard: session created"
	case EventReauthenticated:
		return "sessionguard: session reauthenticated"
	case EventRefreshed:
		return "sessionguard: session refreshed"
	case EventRevoked:
		return "sessionguard: session revoked"
	case EventExpired:
		return "sessionguard: session expired"
	case EventRefused:
		switch e.Reason {
		case ReasonReauthenticationRefused:
			return "sessionguard: reauthentication refused"
		case ReasonRefreshRefused:
			return "sessionguard: refresh refused"
		}
		return "sessionguard: request refused"
	case EventPurged:
		return "sessionguard: sessions purged"
	}
	return "sessionguard: session event"
}

// Attrs are the event's log attributes; zero fields are left out.
func (e Event) Attrs() []slog.Attr {
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs, slog.String("event", string(e.Kind)))
	add := func(key, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(key, v))
		}
	}
	addInt := func(key string, v int64) {
		if v != 0 {
			attrs = append(attrs, slog.Int64(key, v))
		}
	}
	add("reason", e.Reason)
	add("end_reason", e.EndReason)
	addInt("count", int64(e.Count))
	add("session_id", e.SessionID)
	addInt("user_id", e.UserID)
	addInt("tenant_id", e.TenantID)
	add("app_type", string(e.AppType))
	addInt("actor_id", e.ActorID)
	add("client_ip", e.IP)
	return attrs
}
