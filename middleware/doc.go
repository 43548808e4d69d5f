// Package middleware is the HTTP side of sessionguard: it takes a session
// token from a request, checks it, and asks a sessionguard.Store — normally a
// *pgstore.Store over PostgreSQL — whether the session behind it is alive.
// The sessions table is the authority: a token, even a correctly signed JWT,
// proves nothing alone.
//
// One [Guard] per app reads every credential its [Config] accepts: the
// session cookie, an "Authorization: Bearer" header, or the token of an scs
// session (Config.SCS); opaque tokens, JWTs (Config.JWT, the library's own or
// an identity provider's), or both (Config.Tokens). Routes that answer
// refusals another way share the Guard through [Guard.WithDeny]. Tokens are
// opened by [Guard.SignIn] (the library mints them) or [Guard.Record] (the
// app or its identity provider issued them).
//
// # One request
//
//  1. The credential. The cookie and the bearer token must agree when both
//     are sent; two cookies of the name, several or malformed Authorization
//     headers, an oversized token (Config.MaxTokenBytes) or one that is
//     neither opaque (43 base64url characters) nor a JWT (three base64url
//     parts), or of a kind the Guard does not accept → refused without any
//     store call. With scs, the cookie's token is the loaded scs session's.
//  2. A JWT: verified with the key named by the token's "kid" (static keys,
//     or an issuer's JWKS: [NewJWKS]; a token without a kid, by the Guard's
//     only static key), whose algorithm the token's "alg" must be (so "none" and HS/RS confusion are refused), then the claims: exp
//     (required unless JWTConfig.AllowNoExpiry), nbf and iat when present,
//     iss and aud when configured, the user id claim, and the tenant and
//     session id claims when configured. A forged or expired token never
//     costs a store call (but [Guard.SignOut] still ends the session of an
//     expired one signed by a key of the Guard); the debug log names the
//     failing claim, never the token. A tenant claim must agree with the route's tenant. A token
//     verified before (the same bytes, by their SHA-256) is not verified
//     again: its exp and its key (still in the set, unchanged) are.
//  3. hash = hex(SHA-256(token)). Only the hash reaches the store; the token,
//     the hash and the cookie value never appear in a log line or an error.
//  4. Store.Validate (status + touch) or, for [Guard.Peek] and
//     [Guard.PeekMiddleware], Store.Peek (status, never extends the session),
//     under Config.StoreTimeout, with the app type and tenant of the route as
//     the scope so the store refuses a session of another app or tenant
//     without touching it.
//  5. Valid → the [Session] goes into the request context ([SessionFrom]),
//     and the response gets X-Session-Idle-Remaining (never more than the
//     absolute time left), X-Session-Absolute-Remaining,
//     X-Session-Warning-Threshold, Cache-Control: no-store and Vary: Cookie,
//     Authorization.
//  6. Anything else → a [*RefusalError] written by Config.Deny ([DenyJSON]
//     unless set).
//
// # Re-authentication, step-up and session limits
//
// Each session records when its user last proved who they are, and how
// (Session.AuthTime, AuthAge, ACR, AMR; SignIn.ACR). [Guard.Require] asks a
// route's sessions for a recent authentication or a given level ([Requirement]:
// MaxAge, ACR) and refuses the others with [ErrReauthenticationRequired]
// without ending them: RFC 9470's challenge for bearer clients, a redirect to
// the application's "enter your password again" page for pages
// ([RedirectToReauthenticate], whose return path only ever leads back into
// the site: [LocalPath]). Once the application has checked the credential,
// [Guard.Reauthenticate] records the new authentication and gives the
// session a new token of its kind (opaque, JWT, scs), refusing the old one
// at once; [Guard.Refresh] makes an identity provider's renewed JWT the
// session's token without counting as an authentication.
// Config.SessionLimit caps a user's live sessions per app type, race-free
// across instances: at the limit SignIn ends the least recently
// active session (reason "session_limit", which its next request is told) or
// is refused (sessionguard.ErrSessionLimit).
//
// # Fails closed
//
// Every path that is not a positive answer from the store is a refusal: a
// store error or timeout is a 503 ([ErrUnavailable]; [ErrCanceled] when the
// client went away before the store answered), never a pass; a state
// the middleware does not know is refused as invalid; a session the store calls
// valid but whose app type or tenant, or whose row disagrees with the JWT's
// user, tenant or session-id claims, or that names no session id or user, is
// refused as well.
//
// # Trust assumptions
//
//   - The database clock decides expiry. The application's clock is used only
//     for the JWT's own exp/nbf/iat, which gate a store call and never extend
//     a session.
//   - The client address comes from r.RemoteAddr. X-Forwarded-For and similar
//     headers are not trusted unless Config.ClientIP is set to a function that
//     knows which proxies to believe. The address is recorded at sign-in and
//     logged with refusals; it never decides a request.
//   - The cookie is HttpOnly, Secure (unless Config.InsecureCookie) and
//     SameSite=Lax. SameSite=Lax is the CSRF defence this package relies on
//     for state-changing requests; an application that accepts state-changing
//     GETs, or needs cross-site POSTs, must add its own CSRF protection (for
//     instance net/http's CrossOriginProtection).
//   - Bearer tokens are for non-browser clients; they are not sent
//     automatically by browsers and so need no CSRF protection.
//
// # Metrics
//
// With Config.MeterProvider set, a Guard counts the requests it checks by
// result and refusal reason (sessionguard.validations) and the sessions it
// opens (sessionguard.sign_ins), through the OpenTelemetry API. Without it,
// counting costs a nil check and no allocation.
package middleware
