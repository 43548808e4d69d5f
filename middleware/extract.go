package middleware

import (
	"crypto/subtle"
	"iter"
	"net/http"
	"net/textproto"
	"strings"
)

// extracted is the token a request carries in the session cookie or the
// Authorization header.
type extracted struct {
	token string
	// bearer: the token came from the Authorization header (the client is a
	// bearer client: refusals carry WWW-Authenticate), not the cookie.
	bearer bool
}

var (
	authorizationKey = textproto.CanonicalMIMEHeaderKey("Authorization")
	cookieKey        = textproto.CanonicalMIMEHeaderKey("Cookie")
)

// extractToken finds the session token: the cookie named name, the
// "Authorization: Bearer <token>" header, or both when they agree. It reads
// only r.Header, without parsing every cookie, and checks lengths before
// copying anything. Credentials that disagree (two cookies of the name, a
// cookie and a different bearer token) are refused, never guessed between.
// An Authorization header that is not one Bearer credential as RFC 6750
// writes it (several headers, no token, two, a character no token has) is
// ErrMalformedRequest: RFC 6750's invalid_request, a 400. Any other refusal
// is ErrMissingToken or ErrInvalidToken; a returned token is 1..max bytes
// of [A-Za-z0-9._-].
func extractToken(r *http.Request, name string, max int) (extracted, *RefusalError) {
	cookie, nCookies := findCookie(r.Header[cookieKey], name)
	auths := r.Header[authorizationKey]

	var bearer string
	hasBearer := false
	switch len(auths) {
	case 0:
	case 1:
		var shape bearerShape
		switch bearer, shape = bearerOf(auths[0], max); shape {
		case bearerMalformed:
			return extracted{}, refuse(ErrMalformedRequest, true)
		case bearerNotOurs:
			return extracted{}, refuse(ErrInvalidToken, true)
		}
		hasBearer = shape == bearerToken
	default:
		// Several Authorization headers: RFC 6750's "repeats the same
		// parameter", and ambiguous.
		return extracted{}, refuse(ErrMalformedRequest, true)
	}

	switch {
	case nCookies > 1:
		// Two cookies of our name (one may have been planted by a sibling
		// domain or an insecure origin): refuse rather than guess.
		return extracted{}, refuse(ErrInvalidToken, false)
	case nCookies == 1:
		if !validTokenChars(cookie, max) {
			return extracted{}, refuse(ErrInvalidToken, false)
		}
		if hasBearer && subtle.ConstantTimeCompare([]byte(cookie), []byte(bearer)) != 1 {
			return extracted{}, refuse(ErrInvalidToken, false)
		}
		return extracted{token: cookie}, nil
	case hasBearer:
		return extracted{token: bearer, bearer: true}, nil
	}
	return extracted{}, refuse(ErrMissingToken, true)
}

// findCookie returns the value of the cookie name in the Cookie header lines
// and how many cookies of that name there are.
func findCookie(lines []string, name string) (value string, n int) {
	for v := range cookiesNamed(lines, name) {
		n++
		value = v
	}
	return value, n
}

// cookiesNamed yields the values of the cookies name in the Cookie header
// lines, as sent (net/http's parser would unquote "TOKEN" into a token the
// Guard refuses). It splits by hand so that a large Cookie header costs no
// allocation per cookie.
func cookiesNamed(lines []string, name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, line := range lines {
			for len(line) > 0 {
				var part string
				part, line, _ = strings.Cut(line, ";")
				part = strings.TrimLeft(part, " \t")
				k, v, ok := strings.Cut(part, "=")
				if ok && strings.TrimRight(k, " \t") == name && !yield(strings.TrimRight(v, " \t")) {
					return
				}
			}
		}
	}
}

// bearerShape is what one Authorization header value is to the Guard.
type bearerShape int

const (
	otherScheme     bearerShape = iota // not Bearer: not the Guard's, ignored
	bearerToken                        // a Bearer token the Guard may have issued
	bearerNotOurs                      // a well-formed Bearer token the Guard never issues: longer than max, or with ~ + / =
	bearerMalformed                    // Bearer, but no RFC 6750 credential: no token, two, a character no b64token has
)

// bearerOf parses one Authorization header value by RFC 6750 section 2.1,
// credentials = "Bearer" 1*SP b64token, with the scheme in any case (RFC
// 9110 section 11.1), and returns the token when it is one the Guard may
// have issued: 1..max bytes of [A-Za-z0-9._-]. b64token's other characters
// (~ + / and trailing =) make a well-formed token of another issuer, a 401;
// anything else after the scheme is a malformed request, a 400.
func bearerOf(v string, max int) (string, bearerShape) {
	const scheme = "Bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", otherScheme
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' && isSchemeChar(rest[0]) {
		return "", otherScheme // a scheme whose name starts with Bearer
	}
	token := strings.TrimLeft(rest, " ")
	if len(token) == len(rest) || token == "" {
		return "", bearerMalformed // no space after the scheme, or no token
	}
	shape := bearerToken
	if len(token) > max {
		shape = bearerNotOurs
	}
	i := 0
	for ; i < len(token) && token[i] != '='; i++ {
		if c := token[i]; !isTokenChar(c) {
			if c != '~' && c != '+' && c != '/' {
				return "", bearerMalformed
			}
			shape = bearerNotOurs
		}
	}
	if i < len(token) {
		if i == 0 || strings.TrimLeft(token[i:], "=") != "" {
			return "", bearerMalformed // "=" only as the padding at the end
		}
		shape = bearerNotOurs
	}
	if shape != bearerToken {
		return "", shape
	}
	return token, bearerToken
}

// isSchemeChar reports whether c is a tchar of RFC 9110 section 5.6.2, a
// character an auth-scheme's name may have.
func isSchemeChar(c byte) bool {
	return isTokenChar(c) || strings.IndexByte("!#$%&'*+^`|~", c) >= 0
}

// validTokenChars reports whether s is 1..max bytes of [A-Za-z0-9._-]: the
// characters of a base64url token or a JWT. This refuses spaces, NULs,
// non-ASCII and invalid UTF-8, quotes and SQL metacharacters up front.
func validTokenChars(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool { return tokenChars[c] }

// tokenChars marks [A-Za-z0-9._-]. Every byte of every token is checked
// here on every request (kindOf then looks only at the dots), and one
// lookup costs less than the six comparisons.
var tokenChars = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return t
}()
