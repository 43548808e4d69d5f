package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard"
)

// Guard authenticates requests against a session store. Build it with [New];
// it is safe for concurrent use.
type Guard struct {
	cfg Config
	jwt *jwtVerifier // nil in opaque mode
	now func() time.Time
}

// New checks cfg, fills in its defaults and returns a Guard. Errors start
// with "middleware: config:".
func New(cfg Config) (*Guard, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Guard{cfg: c, now: time.Now}
	if c.JWT != nil {
		if g.jwt, err = newJWTVerifier(c.JWT); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Authenticate decides whether r carries a live session, and records the
// activity (Store.Validate). It is the decision behind [Guard.Middleware],
// usable without the HTTP plumbing. A refusal is a *RefusalError; compare it
// with errors.Is against ErrMissingToken, ErrInvalidToken, ….
func (g *Guard) Authenticate(r *http.Request) (Session, error) {
	return g.check(r, true)
}

// Peek is Authenticate without the touch (Store.Peek): it never extends the
// session. Use it for "how long is left?" polls.
func (g *Guard) Peek(r *http.Request) (Session, error) {
	return g.check(r, false)
}

// Middleware lets a request through to next only when it carries a live
// session, which it records as activity. next gets a copy of the request
// whose context holds the Session ([SessionFrom]). Refusals go to
// Config.Deny, and next does not run. It fails closed: a store error is a 503.
//
// Every request needs a session, including CORS preflights (OPTIONS without
// credentials): put a CORS handler outside the guard, not inside it.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return g.handler(next, true)
}

// PeekMiddleware is Middleware without the touch: the session is checked but
// never extended, and the remaining times are as they were.
func (g *Guard) PeekMiddleware(next http.Handler) http.Handler {
	return g.handler(next, false)
}

func (g *Guard) handler(next http.Handler, touch bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := g.check(r, touch)
		h := w.Header()
		setCommonHeaders(h)
		if err != nil {
			g.cfg.Deny(w, r, err)
			return
		}
		setSessionHeaders(h, s, g.cfg.WarningThreshold)
		next.ServeHTTP(w, r.WithContext(WithSession(r.Context(), s)))
	})
}

// check is the whole decision.
func (g *Guard) check(r *http.Request, touch bool) (Session, error) {
	ex, rerr := g.extract(r)
	if rerr != nil {
		return Session{}, g.refused(r, rerr)
	}
	bearer := ex.source == fromBearer

	var claims jwtClaims
	if g.jwt != nil {
		var err error
		claims, err = g.jwt.verify(ex.token)
		if err != nil {
			g.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "sessionguard: jwt rejected",
				slog.String("cause", err.Error()))
			return Session{}, g.refused(r, refuse(ErrInvalidToken, bearer))
		}
	} else if !validOpaqueToken(ex.token) {
		return Session{}, g.refused(r, refuse(ErrInvalidToken, bearer))
	}

	scope := sessionguard.Scope{AppType: g.cfg.AppType}
	if g.cfg.Tenant != nil {
		tid, err := g.cfg.Tenant(r)
		if errors.Is(err, ErrUnavailable) {
			return Session{}, g.refused(r, unavailable(err, bearer, ex.token))
		}
		if err != nil || tid <= 0 {
			// A tenant id <= 0 would be sessionguard.NoTenant, which the store
			// reads as "any tenant": refuse instead of widening the scope.
			return Session{}, g.refused(r, refuse(ErrBadTenant, false))
		}
		scope.TenantID = tid
	}

	hash := hashToken(ex.token)
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.StoreTimeout)
	defer cancel()
	var st sessionguard.Status
	var err error
	if touch && !ex.ended {
		st, err = g.cfg.Store.Validate(ctx, hash, scope)
	} else {
		st, err = g.cfg.Store.Peek(ctx, hash, scope)
	}
	if err != nil {
		return Session{}, g.refused(r, unavailable(err, bearer, ex.token, hash))
	}

	switch st.State {
	case sessionguard.StateValid:
		if ex.ended {
			// The token's source dropped it while its session lives on
			// (scs lost its data): never a sign-in.
			return Session{}, g.refused(r, refuse(ErrInvalidToken, bearer))
		}
	case sessionguard.StateUnknown:
		if ex.sourced && !ex.ended {
			// The source's own session (scs's, before sign-in) was never
			// signed in: nothing is wrong with it, it is just no sign-in.
			return Session{}, g.refused(r, refuse(ErrMissingToken, bearer))
		}
		return Session{}, g.refused(r, refuse(ErrInvalidToken, bearer))
	case sessionguard.StateIdle:
		return Session{}, g.refusedStatus(r, refuse(ErrIdleTimeout, bearer), st)
	case sessionguard.StateAbsolute:
		return Session{}, g.refusedStatus(r, refuse(ErrAbsoluteTimeout, bearer), st)
	case sessionguard.StateRevoked:
		e := refuse(ErrRevoked, bearer)
		e.EndReason = cleanEndReason(st.EndReason)
		return Session{}, g.refusedStatus(r, e, st)
	case sessionguard.StateWrongApp:
		return Session{}, g.refusedStatus(r, refuse(ErrWrongApp, bearer), st)
	case sessionguard.StateWrongTenant:
		return Session{}, g.refusedStatus(r, refuse(ErrWrongTenant, bearer), st)
	default:
		g.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "sessionguard: store returned an unknown state",
			slog.String("state", cleanEndReason(string(st.State))))
		return Session{}, g.refused(r, refuse(ErrInvalidToken, bearer))
	}

	// Defence in depth: the store said valid; make sure it answered the
	// question that was asked.
	switch {
	case scope.AppType != "" && st.AppType != scope.AppType:
		g.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "sessionguard: store accepted a session outside the app scope")
		return Session{}, g.refused(r, refuse(ErrWrongApp, bearer))
	case scope.TenantID != sessionguard.NoTenant && st.TenantID != scope.TenantID:
		g.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "sessionguard: store accepted a session outside the tenant scope")
		return Session{}, g.refused(r, refuse(ErrWrongTenant, bearer))
	case g.jwt != nil && (claims.SessionID != "" && !strings.EqualFold(st.SessionID, claims.SessionID) || st.UserID != claims.UserID):
		g.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "sessionguard: jwt sid/sub do not match the session row")
		return Session{}, g.refused(r, refuse(ErrInvalidToken, bearer))
	}

	return Session{
		ID:                st.SessionID,
		UserID:            st.UserID,
		TenantID:          st.TenantID,
		AppType:           st.AppType,
		CreatedAt:         st.CreatedAt,
		LastActivityAt:    st.LastActivityAt,
		IdleExpiresAt:     st.IdleExpiresAt,
		AbsoluteExpiresAt: st.AbsoluteExpiresAt,
		IdleTimeout:       st.IdleTimeout,
		IdleRemaining:     st.IdleRemaining(),
		AbsoluteRemaining: st.AbsoluteRemaining(),
		Bearer:            bearer,
		tokenHash:         hash,
	}, nil
}
