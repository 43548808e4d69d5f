package middleware

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/textproto"
	"strings"
)

// tokenSource says where a token came from.
type tokenSource uint8

const (
	fromNone   tokenSource = iota
	fromCookie             // the session cookie
	fromBearer             // Authorization: Bearer
)

// extracted is the result of looking for a token in a request.
type extracted struct {
	token  string
	source tokenSource
	// bearer: the client is to be treated as a bearer client (the token came
	// from Authorization, or there was neither a token nor a session cookie).
	bearer bool
	// ended: the TokenSource no longer accepts the token (SourcedToken.Ended).
	ended bool
	// sourced: the token came from Config.TokenSource.
	sourced bool
}

var (
	authorizationKey = textproto.CanonicalMIMEHeaderKey("Authorization")
	cookieKey        = textproto.CanonicalMIMEHeaderKey("Cookie")
)

// extractToken finds the session token: the cookie named name first, else
// "Authorization: Bearer <token>". It reads only r.Header, without parsing
// every cookie, and checks lengths before copying anything. A refusal is
// ErrMissingToken or ErrInvalidToken; a returned token is 1..max bytes of
// [A-Za-z0-9._-].
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
		return extracted{token: cookie, source: fromCookie}, nil
	case hasBearer:
		return extracted{token: bearer, source: fromBearer, bearer: true}, nil
	}
	return extracted{bearer: true}, refuse(ErrMissingToken, true)
}

// findCookie returns the value of the cookie name in the Cookie header lines
// and how many cookies of that name there are. It splits by hand so that a
// large Cookie header costs no allocation per cookie.
func findCookie(lines []string, name string) (value string, n int) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			k, v, ok := strings.Cut(part, "=")
			if !ok || strings.TrimRight(k, " \t") != name {
				continue
			}
			n++
			value = strings.TrimRight(v, " \t")
		}
	}
	return value, n
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

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// A TokenSource finds a request's session token in place of the Guard's own
// cookie and bearer extraction (Config.TokenSource). [NewSCS] installs one
// that takes the token from the request's scs session.
//
// It returns the zero SourcedToken when the request carries no token. An
// error that is a *RefusalError (ErrInvalidToken, say) refuses the request as
// that; any other error refuses it with 503 (ErrUnavailable): a failing
// source never lets a request through.
type TokenSource func(r *http.Request) (SourcedToken, error)

// SourcedToken is what a TokenSource found.
type SourcedToken struct {
	Value  string // the token; "" for none
	Bearer bool   // the client is a bearer client: refusals carry WWW-Authenticate
	// Ended marks a token that the source itself no longer accepts (scs has
	// no data for it any more). The Guard never authenticates it: it only
	// peeks at its session, without touching it, to tell why it ended.
	// A live token that has no session row (an scs session from before
	// sign-in) is refused as missing, not invalid: its holder is simply not
	// signed in.
	Ended bool
}

// extract finds r's token with Config.TokenSource, or with extractToken
// when there is none, and applies the same length and character checks to
// either.
func (g *Guard) extract(r *http.Request) (extracted, *RefusalError) {
	if g.cfg.TokenSource == nil {
		return extractToken(r, g.cfg.CookieName, g.cfg.MaxTokenBytes)
	}
	st, err := g.cfg.TokenSource(r)
	if err != nil {
		var re *RefusalError
		if errors.As(err, &re) {
			return extracted{bearer: re.Bearer}, refuse(re, re.Bearer)
		}
		return extracted{}, unavailable(err, st.Bearer, st.Value)
	}
	switch {
	case st.Value == "":
		return extracted{bearer: st.Bearer}, refuse(ErrMissingToken, st.Bearer)
	case !validTokenChars(st.Value, g.cfg.MaxTokenBytes):
		return extracted{bearer: st.Bearer}, refuse(ErrInvalidToken, st.Bearer)
	}
	ex := extracted{token: st.Value, source: fromCookie, bearer: st.Bearer, ended: st.Ended, sourced: true}
	if st.Bearer {
		ex.source = fromBearer
	}
	return ex, nil
}
