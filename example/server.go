package main

import (
	"net/http"
	"sort"

	"github.com/sessionguard/sessionguard/middleware"
)

// routes is the whole URL space (Go 1.22 patterns). Every state-changing
// request goes through http.CrossOriginProtection, and every response gets
// the security headers.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()

	// Public.
	mux.HandleFunc("GET /{$}", a.index)
	mux.Handle("GET /sessionguard/warning.js", middleware.WarningScript())
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(staticFS)))
	mux.Handle("GET /metrics", a.metrics.handler)
	// The control panel's public pages use its scs session too (flash
	// messages, the remembered e-mail).
	mux.Handle("GET /cp/signin", a.loadCP(http.HandlerFunc(a.signinPage)))
	mux.Handle("POST /cp/signin", a.loadCP(http.HandlerFunc(a.signinSubmit)))
	mux.HandleFunc("GET /t/{tenant}/signin", a.signinPage)
	mux.HandleFunc("POST /t/{tenant}/signin", a.signinSubmit)
	// Signing out works whatever state the session is in, so it is not
	// behind a guard.
	mux.Handle("POST /cp/signout", a.loadCP(http.HandlerFunc(a.cpSignout)))
	mux.HandleFunc("POST /t/{tenant}/signout", a.tenantSignout)

	// Control panel (a.cp: its scs session and guard).
	mux.Handle("GET /cp/{$}", a.cp(a.cpDashboard))
	mux.Handle("GET /cp/sessions", a.cp(a.cpSessions))
	mux.Handle("POST /cp/sessions/revoke", a.cp(a.cpRevokeOwn))
	mux.Handle("POST /cp/sessions/revoke-others", a.cp(a.cpRevokeOthers))
	mux.Handle("GET /cp/password", a.cp(a.cpPassword))
	mux.Handle("POST /cp/password", a.cp(a.cpChangePassword))
	mux.Handle("GET /cp/admin", a.cpAdmin(a.cpAdminPage))
	mux.Handle("POST /cp/admin/revoke", a.cpAdmin(a.cpAdminRevoke))

	// Tenant app.
	mux.Handle("GET /t/{tenant}/{$}", a.tenantPage(a.tenantHome))

	// JSON API. A control-panel sign-in is one on an scs session.
	mux.Handle("POST /api/login", a.loadCP(http.HandlerFunc(a.apiLogin)))
	a.mountAPI(mux, "/api", a.api)
	a.mountAPI(mux, "/t/{tenant}/api", a.tenantAPI)

	return securityHeaders(http.NewCrossOriginProtection().Handler(mux))
}

// contentSecurityPolicy allows the example's own scripts and styles only: no
// inline script or style (warning.js styles its dialog through the CSSOM,
// which this allows), no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// indexCard is one tenant on the start page.
type indexCard struct {
	Slug, Name string
	Emails     []string
}

func (a *app) index(w http.ResponseWriter, r *http.Request) {
	var cards []indexCard
	for _, t := range a.tenants {
		c := indexCard{Slug: t.Slug, Name: t.Name}
		for _, u := range demoUsers {
			if u.tenant == t.Slug {
				c.Emails = append(c.Emails, u.email)
			}
		}
		cards = append(cards, c)
	}
	sort.Slice(cards, func(i, j int) bool { return cards[i].Slug < cards[j].Slug })
	a.render(w, r, http.StatusOK, "index", view{Title: "Start", Data: cards})
}
