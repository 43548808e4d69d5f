package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/alexedwards/scs/v2"
)

// LoadAndSave is Config.SCS's SessionManager.LoadAndSave for the routes
// this Guard (or another Guard with the same SCS) protects: wrap the whole
// mux in it, as scs's own (Guards of two SessionManagers nest, as theirs
// do). It loads and saves the scs session as scs does,
// except that a control-panel cookie the Guard refuses by its shape (not an
// scs token, or two of them) is never looked up in the scs store: scs would
// query it, since it looks up whatever cookie it is sent. Such a request
// gets a new, empty scs session while the handlers, and so the Guard, see
// the request as it came and refuse it. A well-formed cookie is loaded also
// beside an Authorization header the Guard refuses (malformed, or another
// token): the Guard still refuses the request on the routes it protects,
// and a public page that writes to the session keeps the user's cookie
// instead of replacing it with a new session's (a header a browser
// extension adds would otherwise sign the user out); its lookup costs what
// any well-formed cookie's does. A store failure to load the session is
// counted and logged as the Guard's refusals of an outage are
// (ErrUnavailable, or ErrCanceled when the client left first), and
// answered by SessionManager.ErrorFunc, as scs answers it.
//
// With Config.SCS the Guard answers only inside its LoadAndSave: inside
// scs's own, Middleware, SignIn and SignOut fail with a 503 and a log line
// that says so. It panics when the Guard has no Config.SCS, as a wiring
// mistake that no request can fix.
func (g *Guard) LoadAndSave(next http.Handler) http.Handler {
	sm := g.cfg.SCS
	if sm == nil {
		panic("middleware: Guard.LoadAndSave needs Config.SCS")
	}
	load := sm.LoadAndSave(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), scsLoadedKey{sm}, true))
		if cookie, ok := g.scsLoadable(r); ok {
			// Loaded here, so that a store failure is the Guard's
			// refusal, and with the cookie the Guard reads (net/http's
			// parser, scs's, gives up on more than 3000 cookies); scs's
			// LoadAndSave then finds the session in the context and
			// loads nothing again.
			ctx, err := sm.Load(r.Context(), cookie)
			if err != nil {
				g.scsLoadFailed(w, r, cookie, err)
				return
			}
			load.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		asSent := http.HandlerFunc(func(w http.ResponseWriter, empty *http.Request) {
			next.ServeHTTP(w, r.WithContext(empty.Context()))
		})
		sm.LoadAndSave(asSent).ServeHTTP(w, withoutCookie(r, g.cfg.CookieName))
	})
}

// scsLoadFailed answers a request whose scs session, of the cookie token,
// the store failed to load: counted and logged as the Guard's refusals of an outage are (a
// request of a signed-in user cannot be checked), so that an scs
// application's outage shows where the others' does, and answered by
// SessionManager.ErrorFunc, as scs's LoadAndSave answers it.
func (g *Guard) scsLoadFailed(w http.ResponseWriter, r *http.Request, token string, err error) {
	sum := sha256.Sum256([]byte(token))
	_ = g.refused(r, callFailed(r.Context(), err, false, token, hashToken(token), base64.RawURLEncoding.EncodeToString(sum[:])))
	w.Header().Add("Vary", "Cookie")
	g.cfg.SCS.ErrorFunc(w, r, err)
}

// scsLoadedKey marks a request's context as inside a Guard's LoadAndSave for
// the SessionManager sm, which loaded the scs session. One key per
// SessionManager, as scs has: an application with two of them nests both
// LoadAndSaves, and the inner one must not hide the outer one's mark.
type scsLoadedKey struct{ sm *scs.SessionManager }

// scsLoadable returns r's session cookie as the Guard reads it ("" for
// none) and whether scs may look it up: there is none (scs then looks
// nothing up), or there is one, in the form of an scs token.
func (g *Guard) scsLoadable(r *http.Request) (cookie string, ok bool) {
	cookie, n := findCookie(r.Header[cookieKey], g.cfg.CookieName)
	switch {
	case n == 0:
		return "", true
	case n > 1 || !validOpaqueToken(cookie):
		return "", false
	}
	return cookie, true
}

// withoutCookie returns a copy of r whose Cookie header lines lack the
// cookies named name; the other cookies stay as they were sent.
func withoutCookie(r *http.Request, name string) *http.Request {
	r2 := r.Clone(r.Context())
	var keep []string
	for _, line := range r.Header[cookieKey] {
		var parts []string
		for part := range strings.SplitSeq(line, ";") {
			k, _, _ := strings.Cut(strings.TrimLeft(part, " \t"), "=")
			if strings.TrimRight(k, " \t") != name {
				parts = append(parts, strings.TrimLeft(part, " \t"))
			}
		}
		if len(parts) > 0 {
			keep = append(keep, strings.Join(parts, "; "))
		}
	}
	r2.Header.Del("Cookie")
	if len(keep) > 0 {
		r2.Header[cookieKey] = keep
	}
	return r2
}
