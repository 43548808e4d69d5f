package middleware

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard"
)

// Guard authenticates requests against a session store: one Guard per app,
// reading every credential its Config accepts (the session cookie, an
// Authorization bearer token, an scs session; opaque tokens and JWTs). Build
// it with [New]; it is safe for concurrent use.
type Guard struct {
	cfg     Config
	jwt     *jwtVerifier  // nil without Config.JWT
	metrics *guardMetrics // nil without Config.MeterProvider
	outage  *outageLog    // paces the Error lines of store failures
	now     func() time.Time
	// warnValue is the X-Session-Warning-Threshold value, formatted once.
	warnValue string
}

// New checks cfg, fills in its defaults and returns a Guard. Errors start
// with "middleware: config:".
func New(cfg Config) (*Guard, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Guard{cfg: c, now: time.Now, warnValue: seconds(c.WarningThreshold), outage: new(outageLog)}
	if g.metrics, err = newGuardMetrics(c.MeterProvider, c.AppType); err != nil {
		return nil, err
	}
	if c.JWT != nil {
		if g.jwt, err = newJWTVerifier(c.JWT); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// WithDeny returns a Guard that is g in every way but how it writes
// refusals: the same store, scope, credentials and settings. Use it for the
// routes that answer a refusal differently, such as pages that redirect to
// the sign-in page beside an API that answers [DenyJSON]. A nil deny means
// DenyJSON.
func (g *Guard) WithDeny(deny func(w http.ResponseWriter, r *http.Request, err error)) *Guard {
	if deny == nil {
		deny = DenyJSON
	}
	d := *g
	d.cfg.Deny = deny
	return &d
}

// Authenticate decides whether r carries a live session, and records the
// activity (Store.Validate). It is the decision behind [Guard.Middleware],
// usable without the HTTP plumbing. A refusal is a *RefusalError; compare it
// with errors.Is against ErrMissingToken, ErrInvalidToken, ….
func (g *Guard) Authenticate(r *http.Request) (Session, error) {
	return g.check(r, true, new(storeContext))
}

// Peek is Authenticate without the touch (Store.Peek): it never extends the
// session. Use it for "how long is left?" polls.
func (g *Guard) Peek(r *http.Request) (Session, error) {
	return g.check(r, false, new(storeContext))
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
		rc := new(requestContexts)
		s, err := g.check(r, touch, &rc.store)
		h := w.Header()
		if err != nil {
			setCommonHeaders(h, r)
			g.cfg.Deny(w, r, err)
			return
		}
		setAcceptedHeaders(h, r, s, g.warnValue)
		rc.session = sessionContext{Context: r.Context(), s: s}
		next.ServeHTTP(w, r.WithContext(&rc.session))
	})
}

// requestContexts are the two contexts the Guard makes for a request, in
// one allocation: the store call's and, once the request is accepted, the
// one that carries its Session to the next handler (as WithSession).
type requestContexts struct {
	store   storeContext
	session sessionContext
}

// check is the whole decision: the credential, its claims (JWTs), the scope
// the route asks for, the store's answer, and the refusal that answer means.
// Everything before the store call refuses without a query. sc is the
// store call's context, to be started.
func (g *Guard) check(r *http.Request, touch bool, sc *storeContext) (Session, error) {
	c, rerr := g.credential(r)
	if rerr != nil {
		return Session{}, g.refused(r, rerr)
	}
	hash := hashToken(c.token)
	claims, rerr := g.verify(r, c, hash)
	if rerr != nil {
		return Session{}, g.refused(r, rerr)
	}
	scope, rerr := g.scope(r, c, claims)
	if rerr != nil {
		return Session{}, g.refused(r, rerr)
	}
	st, rerr := g.lookup(r, c, hash, scope, touch, sc)
	if rerr != nil {
		return Session{}, g.refused(r, rerr)
	}
	if rerr := g.judge(r, c, claims, scope, st); rerr != nil {
		return Session{}, g.refusedStatus(r, rerr, st)
	}
	g.metrics.validated(r.Context())
	return sessionOf(st, hash, c.bearer), nil
}

// verify checks a JWT's signature and claims; an opaque token has none. A
// token verified before is answered from the memo (jwt_memo.go), its exp
// and key checked again. The debug log names the failing claim, never the
// token.
func (g *Guard) verify(r *http.Request, c credential, hash string) (jwtClaims, *RefusalError) {
	if c.kind != JWTs {
		return jwtClaims{}, nil
	}
	claims, err := g.jwt.verifyHashed(c.token, hash)
	if err != nil {
		g.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "sessionguard: jwt rejected",
			slog.String("cause", err.Error()))
		return jwtClaims{}, refuse(ErrInvalidToken, c.bearer)
	}
	return claims, nil
}

// scope is what the route asks of a session: the Guard's app type and the
// tenant Config.Tenant resolves. A JWT's tenant claim must agree with the
// route's tenant (checked here, without a query) and narrows the scope, so
// that the store holds it to the row's tenant.
func (g *Guard) scope(r *http.Request, c credential, claims jwtClaims) (sessionguard.Scope, *RefusalError) {
	scope := sessionguard.Scope{AppType: g.cfg.AppType}
	if g.cfg.Tenant != nil {
		tid, err := g.cfg.Tenant(r)
		if errors.Is(err, ErrUnavailable) {
			return scope, callFailed(r.Context(), err, c.bearer, c.token)
		}
		if err != nil || tid <= 0 {
			// A tenant id <= 0 would be sessionguard.NoTenant, which the store
			// reads as "any tenant": refuse instead of widening the scope.
			return scope, refuse(ErrBadTenant, false)
		}
		scope.TenantID = tid
	}
	if claims.HasTenant {
		if scope.TenantID != sessionguard.NoTenant && claims.TenantID != scope.TenantID {
			return scope, refuse(ErrWrongTenant, c.bearer)
		}
		scope.TenantID = claims.TenantID
	}
	return scope, nil
}

// lookup asks the store, within Config.StoreTimeout (whose timer starts
// only if the store waits: storetimeout.go). A token whose scs session is
// gone is only peeked at: it will not be signed in, and its session must not
// be kept alive by it.
func (g *Guard) lookup(r *http.Request, c credential, hash string, scope sessionguard.Scope, touch bool, ctx *storeContext) (sessionguard.Status, *RefusalError) {
	ctx.start(r.Context(), g.cfg.StoreTimeout)
	defer ctx.stop()
	var st sessionguard.Status
	var err error
	if touch && !c.ended {
		st, err = g.cfg.Store.Validate(ctx, hash, scope)
	} else {
		st, err = g.cfg.Store.Peek(ctx, hash, scope)
	}
	if err != nil {
		return st, callFailed(r.Context(), err, c.bearer, c.token, hash)
	}
	return st, nil
}

// stateRefusals is the refusal each state of an ended or out-of-scope
// session means.
var stateRefusals = map[sessionguard.State]*RefusalError{
	sessionguard.StateUnknown:     ErrInvalidToken,
	sessionguard.StateIdle:        ErrIdleTimeout,
	sessionguard.StateAbsolute:    ErrAbsoluteTimeout,
	sessionguard.StateRevoked:     ErrRevoked,
	sessionguard.StateWrongApp:    ErrWrongApp,
	sessionguard.StateWrongTenant: ErrWrongTenant,
}

// judge turns the store's answer into nil (signed in) or the refusal, and
// checks, in depth, that a valid answer is for the question asked and
// agrees with the token's claims.
func (g *Guard) judge(r *http.Request, c credential, claims jwtClaims, scope sessionguard.Scope, st sessionguard.Status) *RefusalError {
	if st.State != sessionguard.StateValid {
		sentinel, known := stateRefusals[st.State]
		switch {
		case !known:
			g.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "sessionguard: store returned an unknown state",
				slog.String("state", cleanEndReason(string(st.State))))
			sentinel = ErrInvalidToken
		case st.State == sessionguard.StateUnknown && c.scs && !c.ended:
			// A live scs session that was never signed in: nothing is
			// wrong with it, it is just no sign-in.
			sentinel = ErrMissingToken
		}
		e := refuse(sentinel, c.bearer)
		if st.State == sessionguard.StateRevoked {
			e.EndReason = cleanEndReason(st.EndReason)
		}
		return e
	}
	logErr := func(msg string) { g.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, msg) }
	switch {
	case c.ended:
		// scs dropped the token while its session lives on: never a sign-in.
		return refuse(ErrInvalidToken, c.bearer)
	case st.UserID <= 0 || st.SessionID == "":
		// A "valid" that names no session and user (a store of one's own
		// that answered half) is no sign-in.
		logErr("sessionguard: store accepted a session without an id or a user")
		return refuse(ErrInvalidToken, c.bearer)
	case scope.AppType != "" && st.AppType != scope.AppType:
		logErr("sessionguard: store accepted a session outside the app scope")
		return refuse(ErrWrongApp, c.bearer)
	case scope.TenantID != sessionguard.NoTenant && st.TenantID != scope.TenantID:
		logErr("sessionguard: store accepted a session outside the tenant scope")
		return refuse(ErrWrongTenant, c.bearer)
	case c.kind == JWTs && (st.UserID != claims.UserID ||
		claims.SessionID != "" && !strings.EqualFold(st.SessionID, claims.SessionID)):
		g.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "sessionguard: jwt claims do not match the session row")
		return refuse(ErrInvalidToken, c.bearer)
	}
	return nil
}

// sessionOf is the Session of a valid status, its remaining times clamped so
// that the idle time left never exceeds the absolute time left (the idle
// timeout cannot come after the session's end).
func sessionOf(st sessionguard.Status, hash string, bearer bool) Session {
	abs := st.AbsoluteRemaining()
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
		IdleRemaining:     min(st.IdleRemaining(), abs),
		AbsoluteRemaining: abs,
		Bearer:            bearer,
		AuthTime:          st.AuthTime,
		AuthAge:           max(st.AuthAge().Truncate(time.Second), 0),
		ACR:               st.ACR,
		AMR:               st.AMR,
		tokenHash:         hash,
	}
}
