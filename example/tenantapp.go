package main

import (
	"net/http"
)

// tenantPage wraps a tenant-app page: the tenant guard checks that the
// session is a tenant_app session of the tenant in the path.
func (a *app) tenantPage(next func(http.ResponseWriter, *http.Request, signedIn)) http.Handler {
	return a.withUser(a.tenantPages, tenantSigninURL, next)
}

// tenantHome is the tenant app's page: it calls the JSON API with the bearer
// token (static/tenant.js) and carries the timeout warning, which sends the
// same token on its own calls.
func (a *app) tenantHome(w http.ResponseWriter, r *http.Request, si signedIn) {
	t := a.tenants[r.PathValue("tenant")] // the guard resolved it
	base := "/t/" + t.Slug
	a.render(w, r, http.StatusOK, "tenant_home", view{
		Title: t.Name, App: "tenant", User: &si.user, Tenant: &t, Session: &si.session,
		Data: tokenStorageKey(t.Slug),
		Warning: &warningScript{
			PeekURL:          base + "/api/session",
			KeepaliveURL:     base + "/api/session/keepalive",
			LogoutURL:        base + "/api/logout",
			SigninURL:        base + "/signin",
			BearerStorageKey: tokenStorageKey(t.Slug),
		},
	})
}

// tenantSignout ends the tenant-app session and clears its cookie. The
// sign-in page's script forgets the tab's bearer token.
func (a *app) tenantSignout(w http.ResponseWriter, r *http.Request) {
	t, ok := a.pathTenant(w, r)
	if !ok {
		return
	}
	if err := a.tenantPages.SignOut(w, r); err != nil {
		a.renderError(w, r, http.StatusServiceUnavailable,
			"Your browser was signed out, but the server could not end the session. Please try again.")
		return
	}
	http.Redirect(w, r, "/t/"+t.Slug+"/signin?reason=logout", http.StatusSeeOther)
}
