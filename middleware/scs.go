package middleware

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/sessionguard/sessionguard"
)

// This file is the scs credential (Config.SCS): applications that keep their
// sessions with github.com/alexedwards/scs/v2 let the sessions table decide
// whether an scs session is signed in. The token is scs's, carried in scs's
// cookie; the Guard runs inside its LoadAndSave (scs_load.go), which loads
// the scs session the token comes from:
//
//	mux.Handle("GET /account", guard.Middleware(account))
//	http.ListenAndServe(addr, guard.LoadAndSave(mux))
//
// A token that scs no longer knows (its session data is gone) is never
// signed in, but its refusal still says why the session ended
// ("idle_timeout", "revoked" with "admin_revoke", …), so the page can tell
// the user. A live scs session that was never signed in is refused as
// missing.

// withSCS checks the scs settings Config.SCS lists, once, and takes the
// cookie name and the absolute timeout from them. A cookie readable by
// scripts or sent cross-site would undo the CSRF defence this package relies
// on; scs's own idle timeout would write the session data on every request.
func (c Config) withSCS() (Config, error) {
	sm := c.SCS
	ck := sm.Cookie
	switch {
	case sm.Store == nil:
		return c, errConfig("scs: SCS.Store is nil")
	case !sm.HashTokenInStore:
		return c, errConfig("scs: set SCS.HashTokenInStore = true, so the store keys sessions by the token's hash as the sessions table does")
	case sm.IdleTimeout != 0:
		return c, errConfig("scs: set SCS.IdleTimeout = 0 and Config.IdleTimeout instead: sessionguard tracks idleness without a write per request")
	case c.CookieName != "" && c.CookieName != ck.Name:
		return c, errConfig("scs: CookieName %q differs from SCS.Cookie.Name %q", c.CookieName, ck.Name)
	case !ck.HttpOnly:
		return c, errConfig("scs: set SCS.Cookie.HttpOnly = true")
	case ck.SameSite != http.SameSiteLaxMode && ck.SameSite != http.SameSiteStrictMode:
		return c, errConfig("scs: set SCS.Cookie.SameSite to http.SameSiteLaxMode or http.SameSiteStrictMode")
	case !ck.Secure && !c.InsecureCookie:
		return c, errConfig("scs: set SCS.Cookie.Secure = true (or Config.InsecureCookie for plain-http development)")
	case strings.HasPrefix(ck.Name, "__Host-") && (ck.Path != "/" || ck.Domain != ""):
		return c, errConfig("scs: a __Host- cookie needs SCS.Cookie.Path \"/\" and no Domain")
	}
	c.CookieName = ck.Name
	if c.AbsoluteTimeout == 0 {
		c.AbsoluteTimeout = sm.Lifetime
	}
	if sm.Lifetime < c.AbsoluteTimeout {
		return c, errConfig("scs: SCS.Lifetime (%v) is shorter than AbsoluteTimeout (%v)", sm.Lifetime, c.AbsoluteTimeout)
	}
	return c, nil
}

// errNoSCSSession means the request did not come through the Guard's
// LoadAndSave (scs's own does not check a cookie's shape before its query).
var errNoSCSSession = errors.New("middleware: scs: the request did not come through Guard.LoadAndSave; wrap the routes in guard.LoadAndSave instead of SessionManager.LoadAndSave")

// scsCredential turns the session cookie c (already read by extractToken)
// into the scs session's credential: the token LoadAndSave loaded, or, when
// scs has no session for the cookie, the cookie's token marked ended, so
// that the refusal can say why its session ended.
func (g *Guard) scsCredential(r *http.Request, c credential) (credential, *RefusalError) {
	token, ok := g.scsToken(r)
	if !ok {
		return credential{}, unavailable(errNoSCSSession, false)
	}
	c.scs = true
	switch {
	case token == "":
		c.ended = true
	case token != c.token:
		// LoadAndSave read another cookie than the one the Guard sees.
		return credential{}, refuse(ErrInvalidToken, false)
	}
	return c, nil
}

// scsToken returns the token of r's scs session; ok is false when r did
// not come through the Guard's LoadAndSave for its SessionManager, or its
// context has no scs session (scs panics then).
func (g *Guard) scsToken(r *http.Request) (token string, ok bool) {
	if r.Context().Value(scsLoadedKey{g.cfg.SCS}) == nil {
		return "", false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return g.cfg.SCS.Token(r.Context()), true
}

// scsSignIn is SignIn with SCS: it renews the scs token first
// (SessionManager.RenewToken), so a token planted in the browser before
// sign-in (session fixation) is never signed in, and ends the session the
// old token or cookie had with reason "logout". Then it records the new
// token. The scs data is kept; LoadAndSave writes it under the new token
// with the new cookie when the handler returns.
func (g *Guard) scsSignIn(w http.ResponseWriter, r *http.Request, p SignIn, app sessionguard.AppType) (string, Session, error) {
	if r == nil {
		return "", Session{}, errors.New("middleware: scs sign in: nil request")
	}
	old, ok := g.scsToken(r)
	if !ok {
		return "", Session{}, errNoSCSSession
	}
	ctx := r.Context()
	if validOpaqueToken(old) {
		g.revoke(ctx, hashToken(old), sessionguard.ReasonLogout)
	}
	if cookie, n := findCookie(r.Header[cookieKey], g.cfg.CookieName); n == 1 && cookie != old && validOpaqueToken(cookie) {
		g.revoke(ctx, hashToken(cookie), sessionguard.ReasonLogout)
	}
	if err := g.cfg.SCS.RenewToken(ctx); err != nil {
		e := callFailed(ctx, err, false, old)
		g.logFailed(ctx, "sessionguard: scs sign in failed", e)
		return "", Session{}, e
	}
	token := g.cfg.SCS.Token(ctx)
	if !validOpaqueToken(token) {
		return "", Session{}, errors.New("middleware: scs sign in: scs issued a token that is not 32 random bytes in base64url")
	}
	sid, err := newUUID()
	if err != nil {
		return "", Session{}, err
	}
	s, err := g.openSession(r, p, app, sid, token)
	if err != nil {
		return "", Session{}, err
	}
	if w != nil {
		w.Header().Set("Cache-Control", "no-store")
		clearTimeLeft(w.Header())
	}
	return token, s, nil
}

// scsWired reports whether r can be signed out: it is inside LoadAndSave,
// or it carries no scs cookie (a bearer client on a route without scs).
func (g *Guard) scsWired(r *http.Request) bool {
	if _, ok := g.scsToken(r); ok {
		return true
	}
	_, n := findCookie(r.Header[cookieKey], g.cfg.CookieName)
	return n == 0
}

// scsDestroy destroys r's scs session (SessionManager.Destroy), whose cookie
// LoadAndSave then deletes. A bearer client outside LoadAndSave has none, and
// neither has a browser without scs's cookie: signing it out asks nothing of
// the store.
func (g *Guard) scsDestroy(r *http.Request) error {
	token, ok := g.scsToken(r)
	if !ok {
		return nil
	}
	if _, n := findCookie(r.Header[cookieKey], g.cfg.SCS.Cookie.Name); token == "" && n == 0 {
		return nil
	}
	// Not abandoned when the client goes away, as SignOut's revocation
	// is not; StoreTimeout bounds it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), g.cfg.StoreTimeout)
	defer cancel()
	if err := g.cfg.SCS.Destroy(ctx); err != nil {
		// Paced as SignOut's other store failures (outageLog): anyone
		// can send sign-outs during an outage.
		e := unavailable(err, false, token)
		g.logFailed(r.Context(), "sessionguard: scs destroy failed", e)
		return e
	}
	return nil
}
