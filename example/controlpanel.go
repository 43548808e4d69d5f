package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// reasonUserRevoke is recorded when users end their own other sessions from
// "your sessions". The seed's reasons do not cover it; pgstore accepts an
// application's own.
const reasonUserRevoke = "user_revoke"

// signedIn is the user and session behind a control-panel or tenant page.
type signedIn struct {
	user    user
	session middleware.Session
}

// withUser loads the signed-in user for a handler behind a page guard that
// asks q of the session's authentication (the zero Requirement: only that it
// is live). A session whose user no longer exists is signed out.
func (a *app) withUser(g *middleware.Guard, q middleware.Requirement, signin func(*http.Request) string,
	next func(http.ResponseWriter, *http.Request, signedIn)) http.Handler {
	return g.Require(q, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		u, found, err := a.users.byID(r.Context(), s.UserID)
		if err != nil {
			a.unavailable(w, r, err)
			return
		}
		if !found {
			_ = g.SignOut(w, r)
			http.Redirect(w, r, signin(r)+"?reason=revoked", http.StatusSeeOther)
			return
		}
		next(w, r, signedIn{user: u, session: s})
	}))
}

// cpPage wraps a control-panel page: its scs session (flash messages) and its
// guard.
func (a *app) cpPage(next func(http.ResponseWriter, *http.Request, signedIn)) http.Handler {
	return a.cp.LoadAndSave(a.withUser(a.cpPages, middleware.Requirement{}, cpSigninURL, next))
}

// recentCPPage wraps a sensitive control-panel page (the password change,
// "your sessions", the admin pages; ASVS 7.5.1 to 7.5.3): a session whose
// last authentication is older than the re-authentication window is sent to
// the re-enter-password page (reauth.go), which returns it here.
func (a *app) recentCPPage(next func(http.ResponseWriter, *http.Request, signedIn)) http.Handler {
	return a.cp.LoadAndSave(a.withUser(a.cpPages, middleware.Requirement{MaxAge: a.cfg.ReauthWindow}, cpSigninURL, next))
}

// cpAdmin wraps an admin-only control-panel page, which asks for a recent
// authentication (recentCPPage): others get a 403.
func (a *app) cpAdmin(next func(http.ResponseWriter, *http.Request, signedIn)) http.Handler {
	return a.recentCPPage(func(w http.ResponseWriter, r *http.Request, si signedIn) {
		if !si.user.IsAdmin {
			a.renderError(w, r, http.StatusForbidden, "This page is for administrators.")
			return
		}
		next(w, r, si)
	})
}

// cpView is the view of a signed-in control-panel page, with the flash
// message of the request that redirected here, if any.
func (a *app) cpView(r *http.Request, title string, si signedIn) view {
	return view{
		Title: title, App: "cp", User: &si.user, Session: &si.session,
		Notice: a.popFlash(r.Context()),
		Warning: &warningScript{
			PeekURL:      "/api/session",
			KeepaliveURL: "/api/session/keepalive",
			LogoutURL:    "/api/logout",
			SigninURL:    "/cp/signin",
		},
	}
}

func (a *app) cpDashboard(w http.ResponseWriter, r *http.Request, si signedIn) {
	v := a.cpView(r, "Dashboard", si)
	v.Data = int64(a.cfg.WarningThreshold / time.Second)
	a.render(w, r, http.StatusOK, "cp_dashboard", v)
}

// sessionRow is one row of a session list.
type sessionRow struct {
	sessionguard.SessionInfo
	Current    bool
	Email      string
	TenantName string
}

func (a *app) cpSessions(w http.ResponseWriter, r *http.Request, si signedIn) {
	list, err := a.store.ListActive(r.Context(), si.user.ID)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	rows := make([]sessionRow, len(list))
	for i, s := range list {
		rows[i] = sessionRow{SessionInfo: s, Current: s.ID == si.session.ID}
	}
	v := a.cpView(r, "Your sessions", si)
	v.Data = rows
	a.render(w, r, http.StatusOK, "cp_sessions", v)
}

// cpRevokeOwn ends one of the user's own sessions. Ending the current one is
// signing out.
func (a *app) cpRevokeOwn(w http.ResponseWriter, r *http.Request, si signedIn) {
	id, ok := a.formSessionID(w, r)
	if !ok {
		return
	}
	if id == si.session.ID {
		a.cpSignout(w, r)
		return
	}
	ctx, cancel := detached(r)
	defer cancel()
	ended, err := a.store.RevokeUserSession(sessionguard.WithActor(ctx, si.user.ID), si.user.ID, id, reasonUserRevoke)
	if err = a.revocationDone(r.Context(), err); err != nil {
		a.unavailable(w, r, err)
		return
	}
	if ended {
		a.flash(r.Context(), "That session was signed out.")
	} else {
		a.flash(r.Context(), "That session had already ended.")
	}
	http.Redirect(w, r, "/cp/sessions", http.StatusSeeOther)
}

// cpRevokeOthers is "sign out everywhere else".
func (a *app) cpRevokeOthers(w http.ResponseWriter, r *http.Request, si signedIn) {
	ctx, cancel := detached(r)
	defer cancel()
	n, err := a.store.RevokeAllExcept(sessionguard.WithActor(ctx, si.user.ID), si.user.ID, si.session.ID, reasonUserRevoke)
	if err = a.revocationDone(r.Context(), err); err != nil {
		a.unavailable(w, r, err)
		return
	}
	a.flash(r.Context(), signedOutOthers(n))
	http.Redirect(w, r, "/cp/sessions", http.StatusSeeOther)
}

// signedOutOthers is the flash message after n other sessions were ended.
func signedOutOthers(n int) string {
	switch n {
	case 0:
		return "You had no other sessions."
	case 1:
		return "Signed out 1 other session."
	}
	return fmt.Sprintf("Signed out %d other sessions.", n)
}

func (a *app) cpPassword(w http.ResponseWriter, r *http.Request, si signedIn) {
	a.render(w, r, http.StatusOK, "cp_password", a.cpView(r, "Change password", si))
}

// cpChangePassword checks the current password, stores the new hash, then
// ends every other session of the user with reason password_change. The
// order matters: once the hash is replaced nobody can sign in with the old
// password, and then the sessions opened with it end.
func (a *app) cpChangePassword(w http.ResponseWriter, r *http.Request, si signedIn) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	current, next, confirm := r.PostForm.Get("current"), r.PostForm.Get("new"), r.PostForm.Get("confirm")
	fail := func(msg string) {
		v := a.cpView(r, "Change password", si)
		v.Error = msg
		a.render(w, r, http.StatusUnprocessableEntity, "cp_password", v)
	}
	// The current password is checked as a re-authentication is: throttled,
	// or the form would let a session try passwords as fast as bcrypt runs.
	err := a.recheckPassword(r, si.user, current)
	var throttled *throttledError
	switch {
	case errors.Is(err, errBadCredentials):
		fail("The current password is wrong.")
		return
	case errors.As(err, &throttled):
		setRetryAfter(w, throttled)
		v := a.cpView(r, "Change password", si)
		v.Error = fmt.Sprintf("Too many attempts. Try again in %d seconds.", throttled.retryAfter())
		a.render(w, r, http.StatusTooManyRequests, "cp_password", v)
		return
	case err != nil:
		a.unavailable(w, r, err)
		return
	}
	if next != confirm {
		fail("The new passwords do not match.")
		return
	}
	if err := checkPassword(next); err != nil {
		fail("The new password " + err.Error() + ".")
		return
	}
	if next == current {
		fail("The new password must differ from the current one.")
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), a.cfg.bcryptCost)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	// Once begun, the change and the revocation finish even if the browser
	// goes away: a new password with the old password's sessions still
	// alive is the worst outcome.
	ctx, cancel := detached(r)
	defer cancel()
	if err := a.users.setPasswordHash(ctx, si.user.ID, string(hash)); err != nil {
		a.unavailable(w, r, err)
		return
	}
	n, err := a.store.RevokeAllExcept(sessionguard.WithActor(ctx, si.user.ID), si.user.ID, si.session.ID, sessionguard.ReasonPasswordChange)
	if err = a.revocationDone(r.Context(), err); err != nil {
		a.log.ErrorContext(r.Context(), "example: password changed but other sessions not ended", "error", err)
		a.renderError(w, r, http.StatusServiceUnavailable,
			"Your password was changed, but your other sessions could not be signed out. "+
				"Use \"Sign out everywhere else\" on the sessions page.")
		return
	}
	msg := "Your password was changed."
	if n > 0 {
		msg += " " + signedOutOthers(n)
	}
	a.flash(r.Context(), msg)
	http.Redirect(w, r, "/cp/password", http.StatusSeeOther)
}

func (a *app) cpAdminPage(w http.ResponseWriter, r *http.Request, si signedIn) {
	list, err := a.store.ListAllActive(r.Context(), 500)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	ids := make([]int64, len(list))
	for i, s := range list {
		ids[i] = s.UserID
	}
	emails, err := a.users.emails(r.Context(), ids)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	tenantNames := map[int64]string{}
	for _, t := range a.tenants {
		tenantNames[t.ID] = t.Name
	}
	rows := make([]sessionRow, len(list))
	for i, s := range list {
		rows[i] = sessionRow{SessionInfo: s, Current: s.ID == si.session.ID, Email: emails[s.UserID],
			TenantName: tenantNames[s.TenantID]}
	}
	v := a.cpView(r, "All sessions", si)
	v.Data = rows
	a.render(w, r, http.StatusOK, "cp_admin", v)
}

// cpAdminRevoke ends any session, recording admin_revoke and, in the store's
// audit event, the admin who did it (sessionguard.WithActor).
func (a *app) cpAdminRevoke(w http.ResponseWriter, r *http.Request, si signedIn) {
	id, ok := a.formSessionID(w, r)
	if !ok {
		return
	}
	ctx, cancel := detached(r)
	defer cancel()
	ended, err := a.store.RevokeSession(sessionguard.WithActor(ctx, si.user.ID), id, sessionguard.ReasonAdminRevoke)
	if err = a.revocationDone(r.Context(), err); err != nil {
		a.unavailable(w, r, err)
		return
	}
	if ended {
		a.flash(r.Context(), "The session was revoked. Its user is signed out on their next request.")
	} else {
		a.flash(r.Context(), "That session had already ended.")
	}
	http.Redirect(w, r, "/cp/admin", http.StatusSeeOther)
}

// revocationTimeout bounds the revocations (and the password change) a user
// asked for, which do not end with the request.
const revocationTimeout = 10 * time.Second

// detached is r's context without its cancellation, bounded by
// revocationTimeout: a revocation the user asked for finishes even if the
// browser goes away (a tab closed at once cancels r's context), as
// Guard.SignOut's does; abandoned, it would leave the session alive while
// the user believes it ended.
func detached(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), revocationTimeout)
}

// revocationDone is err, or nil when err only says that the store's read
// replica has not yet replayed a revocation that is done
// (sessionguard.ErrReplicaBehind): the sessions did end, so the page says
// so, and the operator gets a warning. With a ReadPool, a lagging replica
// would otherwise turn a finished revocation into an error page.
func (a *app) revocationDone(ctx context.Context, err error) error {
	if errors.Is(err, sessionguard.ErrReplicaBehind) {
		a.log.WarnContext(ctx, "example: revocation done, but the read replica has not replayed it yet", "error", err)
		return nil
	}
	return err
}

// cpSignout ends the control-panel session, whatever its state, and
// destroys its scs session (LoadAndSave deletes the cookie). The sign-in
// page's message comes from ?reason=, so that no new scs session (and cookie)
// is made just to say it.
func (a *app) cpSignout(w http.ResponseWriter, r *http.Request) {
	if err := a.cp.SignOut(w, r); err != nil {
		a.renderError(w, r, http.StatusServiceUnavailable,
			"Your browser was signed out, but the server could not end the session. Please try again.")
		return
	}
	http.Redirect(w, r, "/cp/signin?reason=logout", http.StatusSeeOther)
}

// formSessionID reads the session id of a revoke form in the canonical
// lower-case form that Session.ID and the store use: PostgreSQL reads a UUID
// in either case, so an upper-case id names the same session and must compare
// equal (an upper-case own id is signing out, not a revoke that leaves the
// cookie behind).
func (a *app) formSessionID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, ok := a.formValue(w, r, "id")
	return strings.ToLower(id), ok
}

// formValue reads one short form field, or writes a 400 and reports false.
func (a *app) formValue(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || r.PostForm.Get(name) == "" {
		a.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return "", false
	}
	return r.PostForm.Get(name), true
}
