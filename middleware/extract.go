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
// cookie and a different bearer token, a malformed Authorization header,
// several Authorization headers) are refused, never guessed between. A
// refusal is ErrMissingToken or ErrInvalidToken; a returned token is 1..max
// bytes of [A-Za-z0-9._-].
func extractToken(r *http.Request, name string, max int) (extracted, *RefusalError) {
	cookie, nCookies := findCookie(r.Header[cookieKey], name)
	auths := r.Header[authorizationKey]

	var bearer string
	hasBearer := false
	switch len(auths) {
	case 0:
	case 1:
		var ok, isBearer bool
		bearer, isBearer, ok = parseBearer(auths[0], max)
		if !ok {
			return extracted{}, refuse(ErrInvalidToken, true)
		}
		hasBearer = isBearer
	default:
		// Several Authorization headers: ambiguous.
		return extracted{}, refuse(ErrInvalidToken, true)
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

// parseBearer parses one Authorization header value. isBearer is false for
// another scheme (which is not ours and is ignored); ok is false for a Bearer
// credential that is malformed or longer than max.
func parseBearer(v string, max int) (token string, isBearer, ok bool) {
	const scheme = "Bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false, true
	}
	if len(v) == len(scheme) {
		return "", true, false // "Bearer" with nothing
	}
	if v[len(scheme)] != ' ' {
		if isTokenChar(v[len(scheme)]) {
			return "", false, true // another scheme that starts with "Bearer"
		}
		return "", true, false
	}
	token = v[len(scheme)+1:]
	if !validTokenChars(token, max) {
		return "", true, false
	}
	return token, true, true
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
