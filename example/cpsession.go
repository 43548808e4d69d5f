package main

import (
	"context"
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

// cpSessionError is the SessionManager's ErrorFunc: the scs store failed to
// load or save the session. It fails closed with a 503, as the guards do.
// It runs on every control-panel request, so a client that leaves before
// the store answers reaches it too: that is logged as the client's doing,
// not an outage (logFailure).
func (a *app) cpSessionError(w http.ResponseWriter, r *http.Request, err error) {
	a.logFailure(r, "example: control-panel session data", err)
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
