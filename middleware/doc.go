// Package middleware is the HTTP side of sessionguard: it takes a session
// token from a request (the session cookie, else an "Authorization: Bearer"
// header), checks it, and asks a [sessionguard.Store] — normally a *pgstore.Store over
// PostgreSQL — whether the session behind it is alive. The sessions table is
// the authority: a token, even a correctly signed JWT, proves nothing alone.
//
// # One request
//
//  1. Extract the token. Missing, oversized (more than Config.MaxTokenBytes),
//     malformed, duplicated (two cookies of the name) or ambiguous (cookie and
//     bearer token that differ) → refused without any store call.
//  2. In JWT mode (Config.JWT set), verify the signature with the key named by
//     the token's "kid" (static keys, or an issuer's JWKS: [NewJWKS]), require
//     the token's "alg" to be one that key may use (so "none" and HS/RS
//     confusion are refused), and check the claims: exp (required unless
//     JWTConfig.AllowNoExpiry), nbf and iat when present, iss and aud when
//     configured, the user id claim, and the tenant and session id claims
//     when configured. A forged or expired token never costs a store call.
//  3. hash = hex(SHA-256(token)). Only the hash reaches the store; the token,
//     the hash and the cookie value never appear in a log line or an error.
//  4. Store.Validate (status + touch) or, for [Guard.Peek] and
//     [Guard.PeekMiddleware], Store.Peek (status, never extends the session),
//     under Config.StoreTimeout, with the app type and tenant of the route as
//     the scope so the store refuses a session of another app or tenant
//     without touching it.
//  5. Valid → the [Session] goes into the request context ([SessionFrom]),
//     and the response gets X-Session-Idle-Remaining,
//     X-Session-Absolute-Remaining, X-Session-Warning-Threshold,
//     Cache-Control: no-store and Vary: Cookie, Authorization.
//  6. Anything else → a [*RefusalError] written by Config.Deny.
//
// # Fails closed
//
// Every path that is not a positive answer from the store is a refusal: a
// store error or timeout is a 503 ([ErrUnavailable]), never a pass; a state
// the middleware does not know is refused as invalid; a session the store calls
// valid but whose app type, tenant, or (JWT mode) session id and subject do
// not match what was asked is refused as well.
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
package middleware
