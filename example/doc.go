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
//	DATABASE_URL       PostgreSQL to use instead of a throwaway server; use a
//	                   database of its own: the example creates and owns the
//	                   users and tenants tables there
//	DEMO_PASSWORD      password of every demo account (default demo-password)
//	IDLE_TIMEOUT       Go duration (default 4h)
//	ABSOLUTE_TIMEOUT   Go duration (default 8h)
//	WARNING_THRESHOLD  Go duration (default 5m)
//
// # Two apps on one store
//
// One pgstore.Store backs every guard, so the sessions table alone decides
// what a token may open:
//
//   - control-panel pages (/cp/…): the control panel keeps its own session
//     data with github.com/alexedwards/scs/v2 (flash messages of a signed-in
//     user such as "Signed out 2 other sessions") in PostgreSQL through
//     pgstore.SCSStore, and its guard is a middleware.SCS on the same
//     SessionManager: one cookie, __Host-cp-session, holding scs's opaque
//     token. Refusals redirect to /cp/signin?reason=…, which says why: a
//     refused or anonymous request writes nothing to the database;
//   - tenant-app pages (/t/{tenant}/…): JWTs, the tenant from the path,
//     cookie __Host-tenant-session, refusals redirect to
//     /t/{tenant}/signin?reason=…;
//   - the JSON API at /api/…: the control panel's, its bearer token (scs's
//     opaque token) or its cookie, refusals as JSON;
//   - the JSON API at /t/{tenant}/api/…: the same endpoints for the tenant
//     app, bearer or the tenant cookie, bound to the tenant of the path.
//
// Each app has its own cookie name, so that one browser can be signed in to
// both, and its own API mount with its own login: every credential a login
// returns works on every endpoint of its mount.
//
// Every state-changing request (forms and JSON alike) goes through
// http.CrossOriginProtection; pages carry a Content-Security-Policy without
// inline scripts or styles.
package main
