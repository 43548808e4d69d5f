package main

import (
	"errors"
	"net/http"

	"github.com/sessionguard/sessionguard"
)

// maxFormBytes bounds every form body the example reads.
const maxFormBytes = 8 << 10

func cpSigninURL(*http.Request) string { return "/cp/signin" }

func tenantSigninURL(r *http.Request) string { return "/t/" + r.PathValue("tenant") + "/signin" }

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
// t. Its notice is the control panel's flash message, else the message of
// ?reason= (warning.js sends the browser there with one): never both. On the
// control panel, an empty email is the one remembered from a failed sign-in.
func (a *app) signinView(r *http.Request, t *tenant, email string) view {
	v := view{Title: "Sign in", App: "cp", Tenant: t}
	f := signinForm{Action: "/cp/signin", Email: email}
	if t != nil {
		v.App = "tenant"
		f.Action = "/t/" + t.Slug + "/signin"
		f.TokenKey = tokenStorageKey(t.Slug)
	} else {
		v.Notice = a.popFlash(r.Context())
		if f.Email == "" {
			f.Email = a.cpSCS.GetString(r.Context(), signinEmailKey)
		}
	}
	if v.Notice == "" {
		v.Notice = signinReasons[r.URL.Query().Get("reason")]
	}
	v.Data = f
	return v
}

// signinPage serves GET /cp/signin and GET /t/{tenant}/signin.
func (a *app) signinPage(w http.ResponseWriter, r *http.Request) {
	t, ok := a.pathTenant(w, r)
	if !ok {
		return
	}
	a.render(w, r, http.StatusOK, "signin", a.signinView(r, t, ""))
}

// signinSubmit serves POST /cp/signin and POST /t/{tenant}/signin: the form
// sign-in, which sets the app's cookie. (The tenant page signs in through
// POST /api/login when JavaScript runs, to get a bearer token as well.)
//
// A failed control-panel sign-in keeps the e-mail in the scs session, so the
// form comes back filled in, also after the visitor went elsewhere; a
// successful one forgets it.
func (a *app) signinSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := a.pathTenant(w, r)
	if !ok {
		return
	}
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
	u, err := a.authenticate(r.Context(), req)
	if err == nil {
		_, _, err = a.startSession(w, r, u)
	}
	switch {
	case errors.Is(err, errBadCredentials):
		if t == nil {
			a.rememberEmail(r.Context(), req.Email)
		}
		v := a.signinView(r, t, req.Email)
		v.Notice, v.Error = "", "Wrong e-mail or password."
		a.render(w, r, http.StatusUnauthorized, "signin", v)
	case err != nil:
		a.unavailable(w, r, err)
	default:
		if t == nil {
			a.cpSCS.Remove(r.Context(), signinEmailKey)
		}
		http.Redirect(w, r, home, http.StatusSeeOther)
	}
}

// pathTenant returns the tenant of the {tenant} path segment (nil on a
// control-panel route), or writes a 404 and reports false.
func (a *app) pathTenant(w http.ResponseWriter, r *http.Request) (*tenant, bool) {
	slug := r.PathValue("tenant")
	if slug == "" {
		return nil, true
	}
	t, ok := a.tenants[slug]
	if !ok {
		a.renderError(w, r, http.StatusNotFound, "There is no such organisation.")
		return nil, false
	}
	return &t, true
}
