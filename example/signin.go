package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sessionguard/sessionguard"
)

// maxFormBytes bounds every form body the example reads.
const maxFormBytes = 8 << 10

func cpSigninURL(*http.Request) string { return "/cp/signin" }

// tenantSigninURL is the sign-in page of the request's tenant (inTenant), built
// from the tenant's slug as stored, never from the request's path.
func tenantSigninURL(r *http.Request) string {
	t, _ := tenantOf(r)
	return "/t/" + t.Slug + "/signin"
}

// tokenStorageKey is the sessionStorage key of a tenant's bearer token, shared
// by tenant.js and warning.js (data-bearer-storage-key).
func tokenStorageKey(slug string) string { return "sessionguard-example:" + slug + ":token" }

// signinForm is the data of the sign-in page.
type signinForm struct {
	Action   string
	Email    string
	TokenKey string
}

// signinView is the sign-in page of the control panel (t nil) or of tenant
// t, its form filled in with email. Its notice is the message of ?reason=
// (the page guards and warning.js send the browser there with one).
func (a *app) signinView(r *http.Request, t *tenant, email string) view {
	v := view{Title: "Sign in", App: "cp", Tenant: t, Notice: signinReasons[r.URL.Query().Get("reason")]}
	f := signinForm{Action: "/cp/signin", Email: email}
	if t != nil {
		v.App = "tenant"
		f.Action = "/t/" + t.Slug + "/signin"
		f.TokenKey = tokenStorageKey(t.Slug)
	}
	v.Data = f
	return v
}

// signinPage serves GET /cp/signin and GET /t/{tenant}/signin.
func (a *app) signinPage(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "signin", a.signinView(r, tenantPtr(r), ""))
}

// signinSubmit serves POST /cp/signin and POST /t/{tenant}/signin: the form
// sign-in, which sets the app's cookie. (The tenant page signs in through
// POST /t/{tenant}/api/login when JavaScript runs, to get a bearer token as
// well.)
//
// A failed sign-in answers the form again, filled in with the e-mail, and
// writes nothing: no anonymous session is made to remember it.
func (a *app) signinSubmit(w http.ResponseWriter, r *http.Request) {
	t := tenantPtr(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	req := signInRequest{Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password"), App: sessionguard.ControlPanel}
	home := "/cp/"
	if t != nil {
		req.App, req.TenantID, home = sessionguard.TenantApp, t.ID, "/t/"+t.Slug+"/"
	}
	u, err := a.authenticate(r, req)
	if err == nil {
		_, _, err = a.startSession(w, r, u)
	}
	var throttled *throttledError
	switch {
	case errors.Is(err, errBadCredentials):
		v := a.signinView(r, t, req.Email)
		v.Notice, v.Error = "", "Wrong e-mail or password."
		a.render(w, r, http.StatusUnauthorized, "signin", v)
	case errors.As(err, &throttled):
		setRetryAfter(w, throttled)
		v := a.signinView(r, t, req.Email)
		v.Notice, v.Error = "", fmt.Sprintf("Too many sign-in attempts. Try again in %d seconds.", throttled.retryAfter())
		a.render(w, r, http.StatusTooManyRequests, "signin", v)
	case err != nil:
		a.unavailable(w, r, err)
	default:
		http.Redirect(w, r, home, http.StatusSeeOther)
	}
}

// tenantPtr is the request's tenant (inTenant), or nil on a control-panel
// route.
func tenantPtr(r *http.Request) *tenant {
	if t, ok := tenantOf(r); ok {
		return &t
	}
	return nil
}
