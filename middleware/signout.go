package middleware

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/sessionguard/sessionguard"
)

// SignOut ends the request's session with reason "logout" and clears the
// session cookie (when w is not nil), also when there is no session, and
// takes the time-left headers Middleware set off the response. The
// session is the one the middleware put in r's context, else the one of the
// token r carries (cookie or bearer; a malformed token, or a JWT not signed
// by a key of the Guard, is ignored without a store call; an expired JWT
// still ends its session). A token a re-authentication has rotated out
// ends the session it was rotated out of (sessionguard.Store.SignOut): a
// second tab still holding it, whose request raced the first tab's
// re-authentication, signs the user out rather than leave the session
// alive under the new token; a retired token does nothing else.
// Credentials the Guard would refuse as ambiguous
// (a cookie and a bearer token that disagree, two cookies of the name) are
// each ended, of the first four it finds: whoever holds a token may end its
// session, and a sign-out that ended none of them would leave them all alive
// behind a cleared cookie; the bound caps the signature checks and store
// calls of a request with thousands of cookies. With Config.SCS it also destroys the scs session
// (SessionManager.Destroy), whose cookie LoadAndSave then deletes. Signing
// out with no session, or an already ended one, is not an error; a store
// failure is an error matching ErrUnavailable, and the cookie is cleared
// anyway. A session ended while the store's read replica lags
// (sessionguard.ErrReplicaBehind) is signed out, with a warning in the log.
func (g *Guard) SignOut(w http.ResponseWriter, r *http.Request) error {
	if g.cfg.SCS != nil && !g.scsWired(r) {
		return errNoSCSSession
	}
	if w != nil {
		w.Header().Set("Cache-Control", "no-store")
		clearTimeLeft(w.Header())
		if g.cfg.SCS == nil {
			g.ClearCookie(w)
		}
	}
	err := g.endSession(r)
	if g.cfg.SCS != nil {
		err = errors.Join(err, g.scsDestroy(r))
	}
	return err
}

// endSession revokes the session of r with reason "logout": the one in r's
// context, else each one signOutTokens finds.
func (g *Guard) endSession(r *http.Request) error {
	ctx := r.Context()
	if s, ok := SessionFrom(ctx); ok && s.tokenHash != "" {
		// The user ends their own session.
		return g.signOutHash(sessionguard.WithActor(ctx, s.UserID), r, "", s.tokenHash)
	}
	var errs []error
	for _, token := range g.signOutTokens(r) {
		errs = append(errs, g.signOutHash(ctx, r, token, hashToken(token)))
	}
	return errors.Join(errs...)
}

// maxSignOutTokens bounds the tokens one sign-out looks at, and so the
// signature checks and store calls it can cause: a request may carry
// thousands of cookies of the name, and SignOut is open to anyone.
const maxSignOutTokens = 4

// signOutTokens are the tokens of r that SignOut ends: its credential, or,
// when they disagree, the cookies of the name and the bearer token, of which
// the first maxSignOutTokens of a kind the Guard accepts are looked at; each
// ended is, for a JWT, signed by a key of the Guard.
func (g *Guard) signOutTokens(r *http.Request) []string {
	var tokens []string
	looked := 0
	add := func(token string) {
		if looked == maxSignOutTokens || !g.accepts(token) || slices.Contains(tokens, token) {
			return
		}
		looked++
		if g.genuine(token) {
			tokens = append(tokens, token)
		}
	}
	if ex, rerr := extractToken(r, g.cfg.CookieName, g.cfg.MaxTokenBytes); rerr == nil {
		add(ex.token)
		return tokens
	}
	for v := range cookiesNamed(r.Header[cookieKey], g.cfg.CookieName) {
		if looked == maxSignOutTokens {
			break
		}
		add(v)
	}
	if auths := r.Header[authorizationKey]; len(auths) == 1 {
		if bearer, shape := bearerOf(auths[0], g.cfg.MaxTokenBytes); shape == bearerToken {
			add(bearer)
		}
	}
	return tokens
}

// signOutHash ends one session for SignOut (Store.SignOut): the session of
// hash, or the one a re-authentication rotated hash out of, so that a tab
// whose token the rotation retired a moment ago (its request raced the
// other tab's re-authentication) still signs the user out. token, when not
// empty, is kept out of the log as hash is.
func (g *Guard) signOutHash(ctx context.Context, r *http.Request, token, hash string) error {
	signOut := func(ctx context.Context) (bool, error) { return g.cfg.Store.SignOut(ctx, hash) }
	if err := g.end(ctx, "sign out", signOut, token, hash); err != nil {
		e := unavailable(err, false, token, hash)
		g.logFailed(r.Context(), "sessionguard: sign out failed", e)
		return e
	}
	return nil
}
