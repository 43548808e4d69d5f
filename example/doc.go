// Command example runs sessionguard end to end: a control panel for staff and
// a tenant app for customers on one server, both wrapped by the middleware,
// with the client-side timeout warning on every signed-in page.
//
//	go run ./example
//
// With no configuration it starts a throwaway PostgreSQL server (removed
// again on Ctrl-C), creates its tables, migrates them with schema.Migrate,
// seeds four demo accounts and listens on http://127.0.0.1:8080.
//
// Settings (environment, or the flag of the same name in lower case with
// dashes, e.g. -idle-timeout; secrets are environment only):
//
//	ADDR               listen address (default 127.0.0.1:8080; loopback only)
//	METRICS_ADDR       listen address of GET /metrics, the Prometheus
//	                   exposition (default 127.0.0.1:9464); a listener of its
//	                   own, never the pages' one: bind it to an internal
//	                   interface for the scraper
//	DATABASE_URL       PostgreSQL to use instead of a throwaway server; use a
//	                   database of its own: the example creates and owns the
//	                   users and tenants tables there; its connect_timeout is
//	                   10s unless the URL sets one
//	DEMO_PASSWORD      password of every demo account (default demo-password)
//	IDLE_TIMEOUT       Go duration (default 4h)
//	ABSOLUTE_TIMEOUT   Go duration (default 8h)
//	WARNING_THRESHOLD  Go duration (default 5m)
//	REAUTH_WINDOW      Go duration (default 10m): how old the last password
//	                   entry may be for the control panel's sensitive pages
//	TRUSTED_PROXIES    comma-separated addresses or CIDR prefixes of the
//	                   reverse proxies in front (default none): the client
//	                   address, which the sign-in throttle counts by and
//	                   each session records, is then the one they report in
//	                   X-Forwarded-For; without it X-Forwarded-For is ignored
//	                   and the peer is the client. Set it when a proxy is in
//	                   front, or every client counts as the proxy
//
// # Two apps, two Guards, one store
//
// One pgstore.Store backs both apps, so the sessions table alone decides what
// a token may open. Each app has one middleware.Guard (guards.go) that reads
// every credential the app uses, the cookie or an Authorization bearer
// token, told apart by the token's shape without a query; its API routes
// answer refusals as JSON, its pages (the same Guard, WithDeny) with a
// redirect to the sign-in page and ?reason=…, which the page turns into a
// fixed message. A refused or anonymous request writes nothing.
//
//   - The control panel (/cp/… pages, the /api/… JSON API) keeps its own
//     session data with github.com/alexedwards/scs/v2 (flash messages of a
//     signed-in user such as "Signed out 2 other sessions") in PostgreSQL
//     through pgstore.SCSStore. Its Guard has Config.SCS: one cookie,
//     __Host-cp-session, holding scs's opaque token, which /api/… also takes
//     as a bearer token.
//   - The tenant app (/t/{tenant}/… pages, the /t/{tenant}/api/… JSON API)
//     gets its JWTs the way most teams do: from an identity provider, here
//     the in-process stand-in of package idp (its own Ed25519 key, claims
//     "uid" and "tid", no "sid", the tenant app's "aud"). Its Guard holds no
//     private key: it verifies the tokens, their issuer and audience, through
//     the provider's JWKS URL
//     (/idp/.well-known/jwks.json, served by this process) and records each
//     one the provider issues at sign-in (Guard.Record). The tenant comes from
//     the path; cookie __Host-tenant-session, or the token as a bearer token.
//
// # Re-authentication and session limits
//
// The control panel's password change, "your sessions" and admin pages
// (recentCPPage) and GET /api/sessions ask for a password entered within
// REAUTH_WINDOW (Guard.Require with a Requirement's MaxAge). An older session
// is not ended: a page is redirected to /cp/reauthenticate
// (middleware.RedirectToReauthenticate), which checks the password, throttled
// as sign-in is, calls Guard.Reauthenticate (a new scs token, the old one
// refused at once) and returns to middleware.LocalPath of the page that
// asked; the API answers RFC 9470's challenge, and POST /api/reauthenticate
// returns the new token (reauth.go).
//
// The tenant app allows each user three sessions (Config.SessionLimit): a
// fourth sign-in ends the least recently active one with reason
// session_limit, and that session's next page lands on the sign-in page,
// which says "You were signed out because you signed in on another device".
// No tenant route asks for a recent authentication; one that did would
// re-authenticate at the identity provider and pass its new token in
// middleware.Reauthentication.Token.
//
// Each app has its own cookie name, so that one browser can be signed in to
// both, and its own API mount with its own login (POST /api/login, POST
// /t/{tenant}/api/login): every credential a login returns works on every
// endpoint of its mount.
//
// The demo's own parts (a throwaway PostgreSQL, the users and tenants tables,
// the demo accounts) are in demo.go; the rest is wiring an application
// copies.
//
// Every state-changing request (forms and JSON alike) goes through
// http.CrossOriginProtection; pages carry a Content-Security-Policy without
// inline scripts or styles.
package main
