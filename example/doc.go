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
// # Two apps, four guards
//
// One pgstore.Store backs four middleware.Guard values that share one JWT
// key, so a token any of them issues verifies everywhere and the sessions
// table alone decides what it may open:
//
//   - control-panel pages (/cp/…): AppType control_panel, cookie
//     __Host-cp-session, refusals redirect to /cp/signin?reason=…;
//   - tenant-app pages (/t/{tenant}/…): AppType tenant_app, the tenant from
//     the path, cookie __Host-tenant-session, refusals redirect to
//     /t/{tenant}/signin?reason=…;
//   - the JSON API at /api/…: any app type, the bearer token or the
//     control-panel cookie, refusals as JSON;
//   - the JSON API at /t/{tenant}/api/…: the same endpoints for the tenant
//     app, bearer or the tenant cookie, bound to the tenant of the path.
//
// Each app has its own cookie name so that one browser can be signed in to
// both. A Guard reads one cookie name, hence the second API mount.
//
// Every state-changing request (forms and JSON alike) goes through
// http.CrossOriginProtection; pages carry a Content-Security-Policy without
// inline scripts or styles.
package main
