package main

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessionguard/sessionguard/pgstore"
)

// The control panel keeps its own session data (flash messages) with scs, in
// PostgreSQL next to the sessions table (pgstore.SCSStore). Its cookie is
// scs's, and the sessions table decides whether that cookie is signed in (the
// control panel's Guard has Config.SCS): one cookie for both.

// flashKey is the control panel's scs data: a message for the next page of a
// signed-in user, shown once. Anonymous visitors get no scs data (a refused
// or anonymous request writes nothing).
const flashKey = "flash"

// scsCleanupInterval is how often expired scs data (anonymous sessions that
// never signed in) is deleted. Data of ended sessions goes at once.
const scsCleanupInterval = 5 * time.Minute

// newCPSessions is the control panel's scs SessionManager, with the settings
// the Guard's Config.SCS requires: the store sees SHA-256(token), never the token
// (HashTokenInStore); no scs idle timeout, which would write the data on
// every request (the sessions table keeps the idle timeout without that);
// scs's lifetime is the absolute timeout.
func (a *app) newCPSessions(store *pgstore.SCSStore) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store
	sm.HashTokenInStore = true
	sm.IdleTimeout = 0
	sm.Lifetime = a.cfg.AbsoluteTimeout
	sm.Cookie.Name = cpCookie
	sm.Cookie.Path = "/"
	sm.Cookie.Secure = true
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.ErrorFunc = a.cpSessionError
	return sm
}

// loadCP is the control panel's LoadAndSave: the scs session of the request
// is in its context, and its changes are saved (and its cookie set) when the
// handler writes the response.
//
// scs looks up whatever cookie it is sent, but a credential that the Guard
// refuses by its shape must cost no query: a control-panel cookie that
// cannot be an scs token, two of them, or one that an Authorization header
// contradicts. For such a request scs loads nothing (a new, empty session)
// while the handler, and so the Guard, sees the request as it came and
// refuses it.
func (a *app) loadCP(next http.Handler) http.Handler {
	load := a.cpSCS.LoadAndSave(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scsMayLoad(r) {
			load.ServeHTTP(w, r)
			return
		}
		asSent := http.HandlerFunc(func(w http.ResponseWriter, empty *http.Request) {
			next.ServeHTTP(w, r.WithContext(empty.Context()))
		})
		a.cpSCS.LoadAndSave(asSent).ServeHTTP(w, withoutCookie(r, cpCookie))
	})
}

// scsMayLoad reports whether scs may look up r's control-panel cookie: there
// is at most one, it can be an scs token, and no Authorization header names
// another token.
func scsMayLoad(r *http.Request) bool {
	cookies := rawCookies(r, cpCookie)
	switch {
	case len(cookies) == 0:
		return true // nothing to look up
	case len(cookies) > 1 || !opaqueShaped(cookies[0]):
		return false
	}
	auth := r.Header.Values("Authorization")
	if len(auth) == 0 {
		return true
	}
	scheme, token, _ := strings.Cut(auth[0], " ")
	return len(auth) == 1 && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(token), []byte(cookies[0])) == 1
}

// rawCookies are the values of the cookies named name as the Guard reads
// them: as sent, where net/http's parser would unquote "TOKEN" into a token
// that scs then looks up while the Guard refuses the quoted form unasked.
func rawCookies(r *http.Request, name string) []string {
	var values []string
	for _, line := range r.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			k, v, ok := strings.Cut(strings.TrimLeft(part, " \t"), "=")
			if ok && strings.TrimRight(k, " \t") == name {
				values = append(values, strings.TrimRight(v, " \t"))
			}
		}
	}
	return values
}

// withoutCookie returns a copy of r whose Cookie header lacks the cookies
// named name.
func withoutCookie(r *http.Request, name string) *http.Request {
	var keep []string
	for _, c := range r.Cookies() {
		if c.Name != name {
			keep = append(keep, c.Name+"="+c.Value)
		}
	}
	r2 := r.Clone(r.Context())
	r2.Header.Del("Cookie")
	if len(keep) > 0 {
		r2.Header.Set("Cookie", strings.Join(keep, "; "))
	}
	return r2
}

// cpSessionError is the SessionManager's ErrorFunc: the scs store failed to
// load or save the session. It fails closed with a 503, as the guards do.
func (a *app) cpSessionError(w http.ResponseWriter, r *http.Request, err error) {
	a.log.ErrorContext(r.Context(), "example: control-panel session data", "error", err)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "unavailable"})
		return
	}
	a.renderError(w, r, http.StatusServiceUnavailable, "The service is unavailable. Please try again in a moment.")
}

// flash keeps msg for the next control-panel page, which shows it once.
func (a *app) flash(ctx context.Context, msg string) {
	a.cpSCS.Put(ctx, flashKey, msg)
}

// popFlash returns the message kept by flash and forgets it ("" for none).
// Without one it changes nothing, so a page without a message writes nothing.
func (a *app) popFlash(ctx context.Context) string {
	return a.cpSCS.PopString(ctx, flashKey)
}

// opaqueShaped reports whether s can be an scs token: 43 base64url
// characters that decode to 32 bytes.
func opaqueShaped(s string) bool {
	if len(s) != 43 {
		return false
	}
	var b [33]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s))
	return err == nil && n == 32
}
