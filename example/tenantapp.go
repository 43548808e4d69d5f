package main

import (
	"context"
	"net/http"

	"github.com/sessionguard/sessionguard/middleware"
)

// tenantKey is the context key of the tenant that inTenant resolved.
type tenantKey struct{}

// tenantOf returns the tenant of a route under /t/{tenant}/, as inTenant
// resolved it.
func tenantOf(r *http.Request) (tenant, bool) {
	t, ok := r.Context().Value(tenantKey{}).(tenant)
	return t, ok
}

// inTenant wraps every route under /t/{tenant}/: an unknown slug is a 404
// (notFound) before anything else runs, so no guard redirects to the sign-in
// page of a tenant that does not exist, and no text of the request's path
// reaches a Location header; next finds the tenant with tenantOf.
func (a *app) inTenant(notFound http.HandlerFunc, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := a.tenants[r.PathValue("tenant")]
		if !ok {
			notFound(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, t)))
	})
}

// tenantPageNotFound is inTenant's answer on pages.
func (a *app) tenantPageNotFound(w http.ResponseWriter, r *http.Request) {
	a.renderError(w, r, http.StatusNotFound, "There is no such organisation.")
}

// tenantAPINotFound is inTenant's answer on the tenant API.
func tenantAPINotFound(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotFound, apiError{Error: "unknown_tenant"})
}

// tenantPage wraps a tenant-app page: the tenant guard checks that the
// session is a tenant_app session of the tenant in the path.
func (a *app) tenantPage(next func(http.ResponseWriter, *http.Request, signedIn)) http.Handler {
	return a.withUser(a.tenantPages, middleware.Requirement{}, tenantSigninURL, next)
}

// tenantHome is the tenant app's page: it calls the JSON API with the bearer
// token (static/tenant.js) and carries the timeout warning, which sends the
// same token on its own calls.
func (a *app) tenantHome(w http.ResponseWriter, r *http.Request, si signedIn) {
	t, _ := tenantOf(r)
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
	t, _ := tenantOf(r)
	if err := a.tenant.SignOut(w, r); err != nil {
		a.renderError(w, r, http.StatusServiceUnavailable,
			"Your browser was signed out, but the server could not end the session. Please try again.")
		return
	}
	http.Redirect(w, r, "/t/"+t.Slug+"/signin?reason=logout", http.StatusSeeOther)
}
