package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionguard/sessionguard"
)

// Session is an authenticated session, as the store reported it for this
// request. Times come from the database clock.
type Session struct {
	ID                string // the sessions.id UUID
	UserID            int64
	TenantID          int64 // sessionguard.NoTenant when none
	AppType           sessionguard.AppType
	CreatedAt         time.Time
	LastActivityAt    time.Time // after this request's touch (Middleware) or as it was (PeekMiddleware)
	IdleExpiresAt     time.Time
	AbsoluteExpiresAt time.Time
	IdleTimeout       time.Duration // the session's own idle timeout
	IdleRemaining     time.Duration // whole seconds left before the idle timeout
	AbsoluteRemaining time.Duration // whole seconds left before the absolute timeout
	Bearer            bool          // the token came from an Authorization header, not the cookie

	// AuthTime is when the user last proved who they are: the sign-in, or
	// the last Guard.Reauthenticate. AuthAge is the time since, as of this
	// request, by the database's clock (whole seconds). ACR and AMR say how,
	// when the application recorded it (SignIn.ACR, Reauthentication.ACR).
	// A Requirement compares them.
	AuthTime time.Time
	AuthAge  time.Duration
	ACR      string
	AMR      []string

	tokenHash string // for SignOut; never exported, printed or logged
}

// String describes the session without its token hash.
func (s Session) String() string {
	return fmt.Sprintf("Session{ID:%s UserID:%d TenantID:%d AppType:%s IdleRemaining:%v AbsoluteRemaining:%v}",
		s.ID, s.UserID, s.TenantID, s.AppType, s.IdleRemaining, s.AbsoluteRemaining)
}

// GoString is String, so that %#v does not print the token hash either.
func (s Session) GoString() string { return s.String() }

// LogValue logs the session without its token hash.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", s.ID),
		slog.Int64("user_id", s.UserID),
		slog.Int64("tenant_id", s.TenantID),
		slog.String("app_type", string(s.AppType)),
	)
}

// contextKey is the type of this package's context keys.
type contextKey struct{ name string }

func (k *contextKey) String() string { return "sessionguard/middleware context key " + k.name }

var sessionKey = &contextKey{"session"}

// WithSession returns a copy of ctx carrying s. The middleware does this for
// authenticated requests; tests of handlers may use it directly.
func WithSession(ctx context.Context, s Session) context.Context {
	return &sessionContext{Context: ctx, s: s}
}

// sessionContext is context.WithValue(parent, sessionKey, s) in one
// allocation instead of two (WithValue boxes the Session as well): it is
// made on every authenticated request.
type sessionContext struct {
	context.Context
	s Session
}

// Value answers sessionKey with a pointer to the Session (no copy to box)
// and every other key from the parent.
func (c *sessionContext) Value(key any) any {
	if key == sessionKey {
		return &c.s
	}
	return c.Context.Value(key)
}

func (c *sessionContext) String() string { return fmt.Sprint(c.Context) + ".WithSession" }

// SessionFrom returns the session the middleware authenticated for ctx's
// request; ok is false when there is none.
func SessionFrom(ctx context.Context) (s Session, ok bool) {
	if p, ok := ctx.Value(sessionKey).(*Session); ok {
		return *p, true
	}
	return Session{}, false
}
