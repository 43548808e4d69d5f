package main

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sessionguard/sessionguard/middleware"
)

// Re-authentication (ASVS 7.5.1 to 7.5.3): the control panel's sensitive
// pages and GET /api/sessions let in a session whose password was entered
// within config.ReauthWindow; an older one re-enters it here first. The
// Guard then gives the session a new token (ASVS 7.2.4) and a new
// authentication time; the session, its history and its scs data stay.

// cpReauthPath is the control panel's re-enter-password page.
const cpReauthPath = "/cp/reauthenticate"

// cpHome is where a re-authentication returns when the return path is
// missing or not a path of this site.
const cpHome = "/cp/"

// reauthForm is the data of the re-enter-password page: the local path to
// return to, checked with middleware.LocalPath.
type reauthForm struct {
	Return string
	Window string // the re-authentication window, for the explanation
}

// cpReauthView is the re-enter-password page for si, returning to back.
func (a *app) cpReauthView(r *http.Request, si signedIn, back string) view {
	v := a.cpView(r, "Confirm it is you", si)
	if v.Notice == "" {
		v.Notice = signinReasons[r.URL.Query().Get("reason")]
	}
	v.Data = reauthForm{Return: back, Window: spelledOut(a.cfg.ReauthWindow)}
	return v
}

// cpReauthPage serves GET /cp/reauthenticate?return=…: the form. A return
// value that is not a local path (another site, "//host", "/\host", a
// scheme) becomes cpHome, so that a link from elsewhere cannot use the page
// as an open redirect.
func (a *app) cpReauthPage(w http.ResponseWriter, r *http.Request, si signedIn) {
	back := middleware.LocalPath(r.URL.Query().Get(middleware.ReturnParam), cpHome)
	a.render(w, r, http.StatusOK, "cp_reauthenticate", a.cpReauthView(r, si, back))
}

// cpReauthenticate serves POST /cp/reauthenticate: it checks the password
// (throttled as sign-in is), renews the session's authentication and token
// (the new scs cookie is set by LoadAndSave) and returns to the local path
// of the form's return field.
func (a *app) cpReauthenticate(w http.ResponseWriter, r *http.Request, si signedIn) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	back := middleware.LocalPath(r.PostForm.Get(middleware.ReturnParam), cpHome)
	err := a.recheckPassword(r, si.user, r.PostForm.Get("password"))
	var throttled *throttledError
	switch {
	case errors.Is(err, errBadCredentials):
		v := a.cpReauthView(r, si, back)
		v.Notice, v.Error = "", "The password is wrong."
		a.render(w, r, http.StatusUnauthorized, "cp_reauthenticate", v)
		return
	case errors.As(err, &throttled):
		setRetryAfter(w, throttled)
		v := a.cpReauthView(r, si, back)
		v.Notice, v.Error = "", fmt.Sprintf("Too many attempts. Try again in %d seconds.", throttled.retryAfter())
		a.render(w, r, http.StatusTooManyRequests, "cp_reauthenticate", v)
		return
	case err != nil:
		a.unavailable(w, r, err)
		return
	}
	if _, _, err := a.cp.Reauthenticate(w, r, middleware.Reauthentication{AMR: []string{"pwd"}}); err != nil {
		a.denyCPPage(w, r, err)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// spelledOut is d in words: "10 minutes", "1 minute", "30 seconds".
func spelledOut(d time.Duration) string {
	n, unit := int64(d/time.Second), "second"
	if d%time.Minute == 0 {
		n, unit = int64(d/time.Minute), "minute"
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// recheckPassword checks the password of signed-in user u, throttled as
// sign-in is (authenticate): per client address and per account, failures
// only, before bcrypt runs. A wrong password is errBadCredentials, a
// throttled attempt a *throttledError; both are logged (logPasswordRefused).
func (a *app) recheckPassword(r *http.Request, u user, password string) (err error) {
	defer func() {
		if err != nil {
			a.logPasswordRefused(r, "reauthentication", u.ID, err)
		}
	}()
	now := time.Now()
	if wait := a.addressThrottle.take(addressKey(a.clientIP(r)), now); wait > 0 {
		return &throttledError{wait}
	}
	account := normalizeEmail(u.Email)
	if wait := a.accountThrottle.take(account, now); wait > 0 {
		return &throttledError{wait}
	}
	if !a.passwordMatches([]byte(u.passwordHash), password) {
		return errBadCredentials
	}
	a.accountThrottle.forget(account)
	return nil
}

// reauthJSON is the body of POST /api/reauthenticate.
type reauthJSON struct {
	Password string `json:"password"`
}

// apiReauthenticate answers POST /api/reauthenticate, for a client that got
// RFC 9470's challenge (401, error="insufficient_user_authentication") from
// GET /api/sessions: with the password of the session's user it answers 200
// and the session's new token (the old one is refused from now on; a cookie
// client gets the new cookie too); 401 invalid_credentials for a wrong
// password, 429 with Retry-After when throttled.
func (a *app) apiReauthenticate(w http.ResponseWriter, r *http.Request) {
	var in reauthJSON
	if msg := decodeJSON(w, r, &in); msg != "" {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "bad_request", Message: msg})
		return
	}
	s, _ := middleware.SessionFrom(r.Context())
	u, found, err := a.users.byID(r.Context(), s.UserID)
	if err == nil && !found {
		err = errBadCredentials
	}
	if err == nil {
		err = a.recheckPassword(r, u, in.Password)
	}
	var token string
	if err == nil {
		token, s, err = a.cp.Reauthenticate(w, r, middleware.Reauthentication{AMR: []string{"pwd"}})
	}
	var throttled *throttledError
	var refused *middleware.RefusalError
	switch {
	case errors.Is(err, errBadCredentials):
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "invalid_credentials", Message: "wrong password"})
	case errors.As(err, &throttled):
		setRetryAfter(w, throttled)
		writeJSON(w, http.StatusTooManyRequests, apiError{Error: "too_many_attempts",
			Message: "too many attempts; try again after Retry-After seconds"})
	case errors.As(err, &refused):
		middleware.DenyJSON(w, r, err)
	case err != nil:
		a.logFailure(r, "example: reauthenticate", err)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "unavailable"})
	default:
		writeJSON(w, http.StatusOK, struct {
			Token     string `json:"token"`
			TokenType string `json:"token_type"`
			sessionJSON
		}{Token: token, TokenType: "Bearer", sessionJSON: a.sessionJSON(s)})
	}
}

// sessionListJSON is one session of GET /api/sessions.
type sessionListJSON struct {
	ID             string    `json:"id"`
	Current        bool      `json:"current"`
	IP             string    `json:"ip"`
	UserAgent      string    `json:"user_agent"`
	CreatedAt      time.Time `json:"created_at"`
	LastActivityAt time.Time `json:"last_activity_at"`
}

// apiSessions answers GET /api/sessions: the live sessions of the session's
// user (a control-panel account has no others) ("your sessions" for scripts), behind a recent
// authentication.
func (a *app) apiSessions(w http.ResponseWriter, r *http.Request) {
	s, _ := middleware.SessionFrom(r.Context())
	list, err := a.store.ListActive(r.Context(), s.UserID)
	if err != nil {
		a.logFailure(r, "example: database", err)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "unavailable"})
		return
	}
	out := make([]sessionListJSON, 0, len(list))
	for _, x := range list {
		out = append(out, sessionListJSON{ID: x.ID, Current: x.ID == s.ID, IP: x.IP, UserAgent: x.UserAgent,
			CreatedAt: x.CreatedAt, LastActivityAt: x.LastActivityAt})
	}
	writeJSON(w, http.StatusOK, struct {
		Sessions []sessionListJSON `json:"sessions"`
	}{out})
}
