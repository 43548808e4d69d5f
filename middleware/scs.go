package middleware

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/sessionguard/sessionguard"
)

// SCS is a [Guard] for applications that keep their sessions with
// github.com/alexedwards/scs/v2: the session token is scs's, carried in scs's
// cookie, and the sessions table decides whether it is signed in. Build it
// with [NewSCS].
//
// Its Middleware and PeekMiddleware must run inside the SessionManager's
// LoadAndSave, which loads the scs session the token comes from:
//
//	mux.Handle("GET /account", guard.Middleware(account))
//	http.ListenAndServe(addr, sessionManager.LoadAndSave(mux))
//
// Sign in and out with [SCS.SignIn] and [SCS.SignOut]; Guard.SignIn is
// refused, since the token is scs's to issue. A token that scs no longer
// knows (its session data is gone) is never signed in, but its refusal still
// says why the session ended ("idle_timeout", "revoked" with "admin_revoke", …),
// so the page can tell the user.
type SCS struct {
	*Guard
	sm *scs.SessionManager
}

// NewSCS returns a Guard whose tokens are those of sm's sessions. It checks
// sm's settings against cfg, once:
//
//   - sm.HashTokenInStore must be true: the store then sees the token's
//     SHA-256, which is how the sessions table knows it (pgstore.SCSStore), and
//     never the token.
//   - sm.IdleTimeout must be 0: the sessions table keeps the idle timeout
//     (Config.IdleTimeout), without a write per request; scs's idle timeout
//     would write the session data on every request.
//   - sm.Lifetime is scs's absolute timeout. A zero Config.AbsoluteTimeout
//     takes it; otherwise sm.Lifetime may not be shorter, or scs would drop
//     the data of live sessions.
//   - sm.Cookie must be HttpOnly, SameSite Lax or Strict (the CSRF defence
//     this package relies on), and Secure unless Config.InsecureCookie.
//     Config.CookieName, if set, must be sm.Cookie.Name.
//
// Config.JWT and Config.TokenSource must be nil: scs tokens are opaque (32
// random bytes, base64url), and the token source is scs.
func NewSCS(sm *scs.SessionManager, cfg Config) (*SCS, error) {
	if sm == nil {
		return nil, errConfig("scs: nil SessionManager")
	}
	c := sm.Cookie
	switch {
	case sm.Store == nil:
		return nil, errConfig("scs: SessionManager.Store is nil")
	case !sm.HashTokenInStore:
		return nil, errConfig("scs: set SessionManager.HashTokenInStore = true, so the store keys sessions by the token's hash as the sessions table does")
	case sm.IdleTimeout != 0:
		return nil, errConfig("scs: set SessionManager.IdleTimeout = 0 and Config.IdleTimeout instead: sessionguard tracks idleness without a write per request")
	case cfg.JWT != nil:
		return nil, errConfig("scs: JWT mode is not available: scs tokens are opaque")
	case cfg.TokenSource != nil:
		return nil, errConfig("scs: TokenSource is set by NewSCS")
	case cfg.CookieName != "" && cfg.CookieName != c.Name:
		return nil, errConfig("scs: CookieName %q differs from SessionManager.Cookie.Name %q", cfg.CookieName, c.Name)
	case !c.HttpOnly:
		return nil, errConfig("scs: set SessionManager.Cookie.HttpOnly = true")
	case c.SameSite != http.SameSiteLaxMode && c.SameSite != http.SameSiteStrictMode:
		return nil, errConfig("scs: set SessionManager.Cookie.SameSite to http.SameSiteLaxMode or http.SameSiteStrictMode")
	case !c.Secure && !cfg.InsecureCookie:
		return nil, errConfig("scs: set SessionManager.Cookie.Secure = true (or Config.InsecureCookie for plain-http development)")
	case strings.HasPrefix(c.Name, "__Host-") && (c.Path != "/" || c.Domain != ""):
		return nil, errConfig("scs: a __Host- cookie needs SessionManager.Cookie.Path \"/\" and no Domain")
	}
	cfg.CookieName = c.Name
	if cfg.AbsoluteTimeout == 0 {
		cfg.AbsoluteTimeout = sm.Lifetime
	}
	if sm.Lifetime < cfg.AbsoluteTimeout {
		return nil, errConfig("scs: SessionManager.Lifetime (%v) is shorter than AbsoluteTimeout (%v)", sm.Lifetime, cfg.AbsoluteTimeout)
	}
	s := &SCS{sm: sm}
	cfg.TokenSource = s.token
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	s.Guard = g
	return s, nil
}

// errNoSCSSession means the request's context has no scs session: the Guard
// is not inside SessionManager.LoadAndSave.
var errNoSCSSession = errors.New("middleware: scs: no scs session in the request context; run the Guard inside SessionManager.LoadAndSave")

// token is the TokenSource: the token of the scs session LoadAndSave loaded.
// When scs found no session for the cookie, the cookie's token is returned as
// Ended, so that the refusal can say why its session ended.
func (s *SCS) token(r *http.Request) (SourcedToken, error) {
	token, ok := s.loadedToken(r)
	if !ok {
		return SourcedToken{}, errNoSCSSession
	}
	// Two cookies of the name (one may have been planted by a sibling
	// domain): refuse rather than trust the one scs happened to read.
	cookie, n := findCookie(r.Header[cookieKey], s.sm.Cookie.Name)
	switch {
	case n > 1:
		return SourcedToken{}, ErrInvalidToken
	case token != "":
		return SourcedToken{Value: token}, nil
	case n == 1 && cookie != "":
		return SourcedToken{Value: cookie, Ended: true}, nil
	}
	return SourcedToken{}, nil
}

// loadedToken returns the token of r's scs session; ok is false when r's
// context has none (scs panics then).
func (s *SCS) loadedToken(r *http.Request) (token string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return s.sm.Token(r.Context()), true
}

// SignIn opens a sessionguard session for p on the request's scs session,
// once the application has checked the user's credentials. r's context must
// hold the scs session (LoadAndSave).
//
// It renews the scs token first (SessionManager.RenewToken), so a token
// planted in the browser before sign-in (session fixation) is never signed
// in, and the session that the old token or cookie had is ended with reason
// "logout". Then it records the new token's hash in the sessions table, with
// the client address and User-Agent, as Guard.SignIn does. The scs data is
// kept; LoadAndSave writes it under the new token with the new cookie when
// the handler returns. When w is not nil, SignIn sets Cache-Control: no-store.
//
// SignIn does not call Config.Tenant. A store failure is an error matching
// ErrUnavailable; the scs session then has a new token and no sessionguard
// session, so it is not signed in.
func (s *SCS) SignIn(w http.ResponseWriter, r *http.Request, p SignIn) (Session, error) {
	if r == nil {
		return Session{}, errors.New("middleware: scs sign in: nil request")
	}
	app, err := s.signInAppType(p)
	if err != nil {
		return Session{}, err
	}
	old, ok := s.loadedToken(r)
	if !ok {
		return Session{}, errNoSCSSession
	}
	ctx := r.Context()
	if validOpaqueToken(old) {
		s.revoke(ctx, hashToken(old), sessionguard.ReasonLogout)
	}
	if cookie, n := findCookie(r.Header[cookieKey], s.sm.Cookie.Name); n == 1 && cookie != old && validOpaqueToken(cookie) {
		s.revoke(ctx, hashToken(cookie), sessionguard.ReasonLogout)
	}
	if err := s.sm.RenewToken(ctx); err != nil {
		e := unavailable(err, false, old)
		s.cfg.Logger.LogAttrs(ctx, slog.LevelError, "sessionguard: scs sign in failed", slog.String("error", e.causeMsg))
		return Session{}, e
	}
	token := s.sm.Token(ctx)
	if !validOpaqueToken(token) {
		return Session{}, errors.New("middleware: scs sign in: scs issued a token that is not 32 random bytes in base64url")
	}
	sid, err := newUUID()
	if err != nil {
		return Session{}, err
	}
	sess, err := s.openSession(r, p, app, sid, token)
	if err != nil {
		return Session{}, err
	}
	if w != nil {
		w.Header().Set("Cache-Control", "no-store")
	}
	return sess, nil
}

// SignOut ends the request's session with reason "logout" (Guard.SignOut)
// and destroys the scs session (SessionManager.Destroy), whose cookie
// LoadAndSave then deletes. Both are attempted; their errors are joined.
// Signing out without a session is not an error. r's context must hold the
// scs session.
func (s *SCS) SignOut(w http.ResponseWriter, r *http.Request) error {
	if _, ok := s.loadedToken(r); !ok {
		return errNoSCSSession
	}
	err := s.Guard.SignOut(w, r)
	if derr := s.sm.Destroy(r.Context()); derr != nil {
		e := unavailable(derr, false)
		s.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "sessionguard: scs destroy failed", slog.String("error", e.causeMsg))
		err = errors.Join(err, e)
	}
	return err
}
