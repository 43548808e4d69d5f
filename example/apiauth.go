package main

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/sessionguard/sessionguard/middleware"
)

// apiGuard authenticates a mount of the JSON API.
//
// Why several guards: the API takes tokens of two shapes. The tenant app's
// are JWTs; the control panel's are scs's opaque tokens (32 random bytes,
// base64url: 43 characters), and on /api its cookie is scs's, which only a
// middleware.SCS inside the SessionManager's LoadAndSave can read. A
// middleware.Guard verifies one token shape (Config.JWT or not), so each
// mount has one guard per shape and sends each request to the guard that can
// read its credential. The choice looks at the credential's shape only,
// never at the database, and every guard still checks the credential in
// full: a request sent to the "wrong" guard is refused, never let through.
// Anything malformed, missing or ambiguous goes to the opaque guard, which
// refuses it without a query.
type apiGuard struct {
	cookie string                          // the mount's cookie name
	jwt    *middleware.Guard               // JWTs: bearer tokens, or the cookie on the tenant mount
	opaque *middleware.Guard               // opaque bearer tokens, and every refusal without a query
	scs    *middleware.Guard               // the scs cookie (the control panel's); nil on the tenant mount
	load   func(http.Handler) http.Handler // the scs LoadAndSave that scs needs
}

// route says which guard reads a request's credential.
type route uint8

const (
	viaOpaque route = iota
	viaJWT
	viaSCS
)

// route picks the guard for r: the mount's cookie if there is exactly one,
// else the bearer token, by shape.
func (g *apiGuard) route(r *http.Request) route {
	bearer, hasBearer := bearerToken(r)
	cookies := r.CookiesNamed(g.cookie)
	switch {
	case len(cookies) > 1:
		return viaOpaque // refused as ambiguous
	case len(cookies) == 1 && g.scs != nil:
		c := cookies[0].Value
		if opaqueShaped(c) && (!hasBearer || subtle.ConstantTimeCompare([]byte(c), []byte(bearer)) == 1) {
			return viaSCS
		}
		return viaOpaque // malformed, or contradicted by the bearer token: refused
	case len(cookies) == 1:
		bearer = cookies[0].Value // the guard compares it with any bearer token
	}
	if jwtShaped(bearer) {
		return viaJWT
	}
	return viaOpaque
}

// dispatch serves r with the handler of its route.
func (g *apiGuard) dispatch(jwt, opaque, scs http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch g.route(r) {
		case viaJWT:
			jwt.ServeHTTP(w, r)
		case viaSCS:
			scs.ServeHTTP(w, r)
		default:
			opaque.ServeHTTP(w, r)
		}
	})
}

// Middleware is the Middleware of the guard that reads r's credential.
func (g *apiGuard) Middleware(next http.Handler) http.Handler {
	return g.dispatch(g.jwt.Middleware(next), g.opaque.Middleware(next), g.withSCS(func(s *middleware.Guard) http.Handler {
		return s.Middleware(next)
	}))
}

// PeekMiddleware is the PeekMiddleware of the guard that reads r's
// credential: it never extends the session.
func (g *apiGuard) PeekMiddleware(next http.Handler) http.Handler {
	return g.dispatch(g.jwt.PeekMiddleware(next), g.opaque.PeekMiddleware(next), g.withSCS(func(s *middleware.Guard) http.Handler {
		return s.PeekMiddleware(next)
	}))
}

// SignOut returns a handler that signs r's session out with the guard that
// reads its credential, then calls done with the error.
func (g *apiGuard) SignOut(done func(http.ResponseWriter, *http.Request, error)) http.Handler {
	with := func(signOut func(http.ResponseWriter, *http.Request) error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { done(w, r, signOut(w, r)) })
	}
	return g.dispatch(with(g.jwt.SignOut), with(g.opaque.SignOut), g.withSCS(func(s *middleware.Guard) http.Handler {
		return with(s.SignOut)
	}))
}

// withSCS builds the scs route's handler inside LoadAndSave; nil on a mount
// without scs, where route never picks it.
func (g *apiGuard) withSCS(build func(*middleware.Guard) http.Handler) http.Handler {
	if g.scs == nil {
		return nil
	}
	return g.load(build(g.scs))
}

// bearerToken returns the token of r's one Authorization: Bearer header.
// Anything else (no header, two, another scheme) is reported as none; the
// guard that gets the request parses the header again, strictly.
func bearerToken(r *http.Request) (string, bool) {
	auth := r.Header.Values("Authorization")
	if len(auth) != 1 || len(auth[0]) < 7 || !strings.EqualFold(auth[0][:7], "Bearer ") {
		return "", false
	}
	return auth[0][7:], true
}

// jwtShaped reports whether s looks like a JWT: three parts, two dots.
func jwtShaped(s string) bool { return strings.Count(s, ".") == 2 }

// opaqueShaped reports whether s can be an opaque token, which is also what
// scs issues: 43 base64url characters that decode to 32 bytes.
func opaqueShaped(s string) bool {
	if len(s) != 43 {
		return false
	}
	var b [33]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s))
	return err == nil && n == 32
}
