package middleware

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

const testCookie = "__Host-session"

func TestExtractToken(t *testing.T) {
	tok := strings.Repeat("A", 43)
	tests := []struct {
		name    string
		cookies []string
		auth    []string
		token   string
		bearer  bool   // from the Authorization header, or refused as a bearer client
		reason  string // "" for success
	}{
		{"cookie", []string{testCookie + "=" + tok}, nil, tok, false, ""},
		{"cookie with spaces around", []string{" a=1 ;  " + testCookie + "=" + tok + " ; b=2"}, nil, tok, false, ""},
		{"bearer", nil, []string{"Bearer " + tok}, tok, true, ""},
		{"bearer lower case", nil, []string{"bearer " + tok}, tok, true, ""},
		{"jwt shaped", nil, []string{"Bearer a.b.c"}, "a.b.c", true, ""},
		{"same in both", []string{testCookie + "=" + tok}, []string{"Bearer " + tok}, tok, false, ""},
		{"other scheme ignored", []string{testCookie + "=" + tok}, []string{"Basic Zm9vOmJhcg=="}, tok, false, ""},
		{"scheme with Bearer prefix ignored", nil, []string{"BearerToken " + tok}, "", true, "missing"},
		{"nothing", nil, nil, "", true, "missing"},
		{"similar cookie name", []string{testCookie + "x=" + tok, "x" + testCookie + "=" + tok}, nil, "", true, "missing"},
		{"empty cookie", []string{testCookie + "="}, nil, "", false, "invalid"},
		{"oversized cookie", []string{testCookie + "=" + strings.Repeat("A", 65)}, nil, "", false, "invalid"},
		{"oversized bearer", nil, []string{"Bearer " + strings.Repeat("A", 65)}, "", true, "invalid"},
		{"two cookies", []string{testCookie + "=" + tok + ";" + testCookie + "=" + tok}, nil, "", false, "invalid"},
		{"differ", []string{testCookie + "=" + tok}, []string{"Bearer B" + tok[1:]}, "", false, "invalid"},
		{"two auth headers", nil, []string{"Bearer " + tok, "Bearer " + tok}, "", true, "malformed_request"},
		{"bearer empty", nil, []string{"Bearer "}, "", true, "malformed_request"},
		{"bearer alone", nil, []string{"Bearer"}, "", true, "malformed_request"},
		{"bearer after two spaces", nil, []string{"Bearer  " + tok}, tok, true, ""},
		{"bearer upper case", nil, []string{"BEARER " + tok}, tok, true, ""},
		{"bearer tab", nil, []string{"Bearer\t" + tok}, "", true, "malformed_request"},
		{"two bearer tokens", nil, []string{"Bearer " + tok + " " + tok}, "", true, "malformed_request"},
		{"bearer non-ASCII", nil, []string{"Bearer " + tok[:10] + "é"}, "", true, "malformed_request"},
		{"bearer padding only", nil, []string{"Bearer =="}, "", true, "malformed_request"},
		{"bearer equals inside", nil, []string{"Bearer a=b"}, "", true, "malformed_request"},
		{"bearer of another alphabet", nil, []string{"Bearer a~b+c/d"}, "", true, "invalid"},
		{"malformed bearer beside a cookie", []string{testCookie + "=" + tok}, []string{"Bearer " + tok + ";"}, "", true, "malformed_request"},
		{"scheme named Bearer!", nil, []string{"Bearer! " + tok}, "", true, "missing"},
		{"bearer comma", nil, []string{"Bearer a,b"}, "", true, "malformed_request"},
		{"bearer equals", nil, []string{"Bearer " + tok + "="}, "", true, "invalid"},
		{"NUL", []string{testCookie + "=" + tok[:10] + "\x00"}, nil, "", false, "invalid"},
		{"non-ASCII", []string{testCookie + "=" + tok[:10] + "é"}, nil, "", false, "invalid"},
		{"SQL", nil, []string{"Bearer ';--"}, "", true, "malformed_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, c := range tt.cookies {
				r.Header.Add("Cookie", c)
			}
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			ex, rerr := extractToken(r, testCookie, 64)
			if tt.reason != "" {
				if rerr == nil || rerr.Reason != tt.reason || ex.token != "" {
					t.Fatalf("got %q, %v; want refusal %q", ex.token, rerr, tt.reason)
				}
				if rerr.Bearer != tt.bearer {
					t.Errorf("Bearer = %v, want %v", rerr.Bearer, tt.bearer)
				}
				return
			}
			if rerr != nil || ex.token != tt.token || ex.bearer != tt.bearer {
				t.Fatalf("got %+v, %v; want %q (bearer %v)", ex, rerr, tt.token, tt.bearer)
			}
		})
	}
}

// FuzzExtractToken: no input panics, and an accepted token is within the
// limit and made only of token characters.
func FuzzExtractToken(f *testing.F) {
	tok := strings.Repeat("A", 43)
	f.Add(testCookie+"="+tok, "")
	f.Add("", "Bearer "+tok)
	f.Add(testCookie+"="+tok, "Bearer "+tok)
	f.Add(testCookie+"="+tok+"; "+testCookie+"=x", "")
	f.Add("a=b;;;="+testCookie+"=", "bearer  x")
	f.Add("\x00\xff;=", "Bearer \x00")
	f.Add(testCookie+`="quoted"`, "Bearer a.b.c")
	f.Add("", "Bearer")
	const max = 128
	f.Fuzz(func(t *testing.T, cookieHeader, authHeader string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if cookieHeader != "" {
			r.Header.Set("Cookie", cookieHeader)
		}
		if authHeader != "" {
			r.Header.Set("Authorization", authHeader)
		}
		ex, rerr := extractToken(r, testCookie, max)
		if want := rfc6750Shape(authHeader, max); authHeader != "" && want != otherScheme {
			if _, got := bearerOf(authHeader, max); got != want {
				t.Fatalf("bearerOf(%q) = %v, RFC 6750's grammar says %v", authHeader, got, want)
			}
			switch {
			case want == bearerMalformed && (rerr == nil || rerr.Reason != ErrMalformedRequest.Reason):
				t.Fatalf("malformed %q: %v, want %v", authHeader, rerr, ErrMalformedRequest)
			case want == bearerNotOurs && (rerr == nil || rerr.Reason != ErrInvalidToken.Reason || !rerr.Bearer):
				t.Fatalf("another issuer's %q: %v, want a bearer %v", authHeader, rerr, ErrInvalidToken)
			}
		}
		if rerr != nil {
			if ex.token != "" {
				t.Fatalf("refusal with a token")
			}
			if !errors.Is(rerr, ErrMissingToken) && !errors.Is(rerr, ErrInvalidToken) && !errors.Is(rerr, ErrMalformedRequest) {
				t.Fatalf("reason %q", rerr.Reason)
			}
			return
		}
		if len(ex.token) == 0 || len(ex.token) > max {
			t.Fatalf("accepted a token of %d bytes", len(ex.token))
		}
		for i := 0; i < len(ex.token); i++ {
			if !isTokenChar(ex.token[i]) {
				t.Fatalf("accepted byte %q", ex.token[i])
			}
		}
		if !strings.Contains(cookieHeader+authHeader, ex.token) {
			t.Fatalf("token from nowhere: %+v", ex)
		}
	})
}

// b64tokenCredentials is RFC 6750 section 2.1's credentials, "Bearer" 1*SP
// b64token, the scheme in any case: the grammar written out, for
// FuzzExtractToken to hold bearerOf to.
var (
	b64tokenCredentials = regexp.MustCompile(`^(?i:bearer) +([A-Za-z0-9\-._~+/]+=*)$`)
	guardTokenChars     = regexp.MustCompile(`^[A-Za-z0-9\-._]+$`)
	startsAnotherScheme = regexp.MustCompile("^(?i:bearer)[A-Za-z0-9!#$%&'*+.^_`|~-]")
)

// rfc6750Shape is what v is by the grammar: another scheme (a name that is
// not Bearer, or longer), the Guard's token, another issuer's, or no
// credential at all.
func rfc6750Shape(v string, max int) bearerShape {
	if len(v) < 6 || !strings.EqualFold(v[:6], "bearer") || startsAnotherScheme.MatchString(v) {
		return otherScheme
	}
	m := b64tokenCredentials.FindStringSubmatch(v)
	switch {
	case m == nil:
		return bearerMalformed
	case len(m[1]) > max || !guardTokenChars.MatchString(m[1]):
		return bearerNotOurs
	}
	return bearerToken
}
