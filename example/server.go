package main

import (
	"net/http"

	"github.com/sessionguard/sessionguard/example/idp"
	"github.com/sessionguard/sessionguard/middleware"
)

// routes is the whole URL space (Go 1.22 patterns). Every state-changing
// request goes through http.CrossOriginProtection, and every response gets
// the security headers.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()

	// Public. The start page lists the demo accounts (demo.go).
	mux.HandleFunc("GET /{$}", a.index)
	mux.Handle("GET /sessionguard/warning.js", middleware.WarningScript())
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(staticFS)))
	// The identity provider's public key (package idp stands in for the
	// team's provider, which would serve this itself).
	mux.Handle("GET "+idp.JWKSPath, a.idp.JWKS())
	// The sign-in page reads nothing but ?reason=; signing in renews the
	// request's scs session (no fixation), so it runs inside the Guard's LoadAndSave.
	mux.HandleFunc("GET /cp/signin", a.signinPage)
	mux.Handle("POST /cp/signin", a.cp.LoadAndSave(http.HandlerFunc(a.signinSubmit)))
	// Every route under /t/{tenant}/ is inside inTenant: 404 for an unknown
	// tenant before anything else.
	page := func(h http.Handler) http.Handler { return a.inTenant(a.tenantPageNotFound, h) }
	mux.Handle("GET /t/{tenant}/signin", page(http.HandlerFunc(a.signinPage)))
	mux.Handle("POST /t/{tenant}/signin", page(http.HandlerFunc(a.signinSubmit)))
	// Signing out works whatever state the session is in, so it is not
	// behind a guard.
	mux.Handle("POST /cp/signout", a.cp.LoadAndSave(http.HandlerFunc(a.cpSignout)))
	mux.Handle("POST /t/{tenant}/signout", page(http.HandlerFunc(a.tenantSignout)))

	// Control panel (a.cp: its scs session and guard).
	mux.Handle("GET /cp/{$}", a.cpPage(a.cpDashboard))
	// The sensitive pages ask for a password entered within ReauthWindow
	// (recentCPPage); the re-enter-password page returns the browser to
	// the page that asked. A refused POST returns to its own path: the GET
	// of a form's action leads back to the form.
	mux.Handle("GET "+cpReauthPath, a.cpPage(a.cpReauthPage))
	mux.Handle("POST "+cpReauthPath, a.cpPage(a.cpReauthenticate))
	mux.Handle("GET /cp/sessions", a.recentCPPage(a.cpSessions))
	mux.Handle("POST /cp/sessions/revoke", a.recentCPPage(a.cpRevokeOwn))
	mux.Handle("POST /cp/sessions/revoke-others", a.recentCPPage(a.cpRevokeOthers))
	mux.Handle("GET /cp/password", a.recentCPPage(a.cpPassword))
	mux.Handle("POST /cp/password", a.recentCPPage(a.cpChangePassword))
	mux.Handle("GET /cp/admin", a.cpAdmin(a.cpAdminPage))
	mux.Handle("POST /cp/admin/revoke", a.cpAdmin(a.cpAdminRevoke))
	for action, form := range map[string]string{"/cp/sessions/revoke": "/cp/sessions",
		"/cp/sessions/revoke-others": "/cp/sessions", "/cp/admin/revoke": "/cp/admin"} {
		mux.Handle("GET "+action, http.RedirectHandler(form, http.StatusSeeOther))
	}

	// Tenant app.
	mux.Handle("GET /t/{tenant}/{$}", page(a.tenantPage(a.tenantHome)))

	// JSON API: /api is the control panel's (a sign-in is one on an scs
	// session), /t/{tenant}/api the tenant app's.
	tenantAPI := func(h http.Handler) http.Handler { return a.inTenant(tenantAPINotFound, h) }
	mux.Handle("POST /api/login", a.cp.LoadAndSave(http.HandlerFunc(a.apiLogin)))
	// The control panel's sensitive API: the list of one's sessions asks
	// for a recent authentication (RFC 9470's challenge for bearer
	// clients), which POST /api/reauthenticate renews.
	mux.Handle("POST /api/reauthenticate", a.cp.LoadAndSave(a.cp.Middleware(http.HandlerFunc(a.apiReauthenticate))))
	mux.Handle("GET /api/sessions", a.cp.LoadAndSave(a.cp.Require(middleware.Requirement{MaxAge: a.cfg.ReauthWindow},
		http.HandlerFunc(a.apiSessions))))
	mux.Handle("POST /t/{tenant}/api/login", tenantAPI(http.HandlerFunc(a.apiLogin)))
	a.mountAPI(mux, "/api", a.cp, cpCookie, a.cp.LoadAndSave)
	a.mountAPI(mux, "/t/{tenant}/api", a.tenant, tenantCookie, tenantAPI)

	return securityHeaders(http.NewCrossOriginProtection().Handler(mux))
}

// contentSecurityPolicy allows the example's own scripts and styles only: no
// inline script or style (warning.js styles its dialog through the CSSOM,
// which this allows), no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// strictTransportSecurity keeps browsers on https for a year once they have
// seen the site over it (behind the TLS proxy the example asks for): without
// it, a first visit typed without https:// can be held on plain http by
// whoever sits in between, who then serves a look-alike sign-in form.
// Browsers ignore it over plain http (RFC 6797 section 8.1), so the loopback
// demo is unaffected. No includeSubDomains: that is the domain owner's
// decision, not one app's.
const strictTransportSecurity = "max-age=31536000"

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Strict-Transport-Security", strictTransportSecurity)
		next.ServeHTTP(w, r)
	})
}
