package middleware_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// oneSecret is the one HMAC secret of an issuer that writes no "kid".
var oneSecret = []byte("one-secret-of-an-issuer-0123456789abcdef")

// kidless is a token as golang-jwt's own examples make it: no "kid" header.
func kidless(t *testing.T, m jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	if parsed, _, _ := jwt.NewParser().ParseUnverified(s, jwt.MapClaims{}); parsed == nil || parsed.Header["kid"] != nil {
		t.Fatalf("the token has a kid header: %v", parsed)
	}
	return s
}

// loggingGuard is a Guard with jc whose logger keeps the debug lines (the
// refusal causes).
func loggingGuard(t *testing.T, st sessionguard.Store, jc *middleware.JWTConfig) (*middleware.Guard, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	g := newGuard(t, st, func(c *middleware.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.JWT = jc
	})
	return g, logs
}

// TestKidlessTokens: a token without a "kid" is verified with the Guard's
// one static key, and only with that key's algorithm; with several static
// keys, a JWKS, or a key the Guard signs with (its own tokens name it) it is
// refused, and the log says a kid is needed. Every
// refusal costs no store call; a token with a kid keeps its rules.
func TestKidlessTokens(t *testing.T) {
	idp := func() jwt.MapClaims {
		now := time.Now()
		return jwt.MapClaims{"iss": "https://idp.example", "aud": "tenant-app", "sub": "42", "tid": 7, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": strings.Repeat("j", 22)}
	}
	wideSecret := bytes.Repeat(oneSecret, 2)
	oneKey := func() *middleware.JWTConfig {
		return &middleware.JWTConfig{
			Keys:   []middleware.JWTKey{{ID: "only", Algorithm: "HS256", VerifyKey: oneSecret}},
			Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid",
		}
	}
	twoKeys := func() *middleware.JWTConfig {
		c := oneKey()
		c.Keys = append(c.Keys, middleware.JWTKey{ID: "next", Algorithm: "HS256", VerifyKey: hmacNew})
		return c
	}
	is := newIssuer(t)
	is.serve(rsaJWK("rsa-1", "RS256", &is.rsa.PublicKey))
	oneJWKSKey := func() *middleware.JWTConfig {
		return &middleware.JWTConfig{
			JWKS:   newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{}),
			Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid",
		}
	}

	// kidlessKeyIs publishes one key, and no kid for it.
	kidlessKeyIs := newIssuer(t)
	jwk := edJWK("", kidlessKeyIs.ed.Public().(ed25519.PublicKey))
	delete(jwk, "kid")
	kidlessKeyIs.serve(jwk)
	kidlessJWK := func() *middleware.JWTConfig {
		c := oneJWKSKey()
		c.JWKS = newJWKS(t, t.Context(), kidlessKeyIs.srv.URL, middleware.JWKSConfig{})
		return c
	}

	tests := []struct {
		name  string
		jwt   func() *middleware.JWTConfig
		token func(t *testing.T) string
		cause string // "" = accepted
	}{
		{"HS256, the one key", oneKey, func(t *testing.T) string { return kidless(t, jwt.SigningMethodHS256, oneSecret, idp()) }, ""},
		{"HS256, the one key, with its kid", oneKey, func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, "only", oneSecret, idp()) }, ""},
		{"HS256, another secret", oneKey, func(t *testing.T) string { return kidless(t, jwt.SigningMethodHS256, hmacNew, idp()) }, "signature invalid"},
		{"HS384 with the one HS256 key's secret", oneKey, func(t *testing.T) string { return kidless(t, jwt.SigningMethodHS384, oneSecret, idp()) }, "alg not allowed"},
		{"HS512 with the one HS256 key's secret", oneKey, func(t *testing.T) string { return kidless(t, jwt.SigningMethodHS512, oneSecret, idp()) }, "alg not allowed"},
		{"RS256", oneKey, func(t *testing.T) string { return kidless(t, jwt.SigningMethodRS256, rsaKey(), idp()) }, "alg not allowed"},
		{"alg none", oneKey, func(t *testing.T) string {
			return kidless(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, idp())
		}, "alg not allowed"},
		{"HS384 against a Guard of an HS256 and an HS384 key", func() *middleware.JWTConfig {
			c := oneKey()
			c.Keys = append(c.Keys, middleware.JWTKey{ID: "wide", Algorithm: "HS384", VerifyKey: wideSecret})
			return c
		}, func(t *testing.T) string { return kidless(t, jwt.SigningMethodHS384, wideSecret, idp()) },
			"missing kid: the Guard has several keys and a token must name its own"},
		{"HS256, the one key of a Guard that signs with it", func() *middleware.JWTConfig {
			c := oneKey()
			c.Keys[0].SignKey = oneSecret
			return c
		}, func(t *testing.T) string { return kidless(t, jwt.SigningMethodHS256, oneSecret, idp()) },
			"missing kid: the tokens of a Guard that signs name their key"},
		{"the one key's kid, mistyped", oneKey, func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, "onlY", oneSecret, idp()) }, "unknown kid"},
		{"two static keys, signed with the first", twoKeys, func(t *testing.T) string { return kidless(t, jwt.SigningMethodHS256, oneSecret, idp()) },
			"missing kid: the Guard has several keys and a token must name its own"},
		{"two static keys, signed with the second", twoKeys, func(t *testing.T) string { return kidless(t, jwt.SigningMethodHS256, hmacNew, idp()) },
			"missing kid: the Guard has several keys and a token must name its own"},
		{"a JWKS of one key", oneJWKSKey, func(t *testing.T) string { return kidless(t, jwt.SigningMethodRS256, is.rsa, idp()) },
			"missing kid: a key set's token must name its key"},
		{"a JWKS of one key without a kid", kidlessJWK, func(t *testing.T) string { return kidless(t, jwt.SigningMethodEdDSA, kidlessKeyIs.ed, idp()) },
			"missing kid: a key set's token must name its key"},
		{"a JWKS of one key, the token naming it", oneJWKSKey, func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, idp()) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			g, logs := loggingGuard(t, st, tt.jwt())
			token := tt.token(t)
			err := accepted(t, g, st, token)
			if tt.cause == "" {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, logs)
				}
				if n := st.callCount("Validate"); n != 1 {
					t.Errorf("Validate calls = %d, want 1", n)
				}
				return
			}
			if !errors.Is(err, middleware.ErrInvalidToken) {
				t.Fatalf("got %v, want ErrInvalidToken", err)
			}
			if n := st.totalCalls(); n != 0 {
				t.Errorf("store calls = %d, want 0", n)
			}
			if want := fmt.Sprintf("cause=%q", "jwt rejected: "+tt.cause); !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %s:\n%s", want, logs)
			}
		})
	}
}

// TestKidHeaderIsAKeyID: a "kid" header that is there must be a key id, a
// non-empty string. An empty one matched, in a JWKS, a key published
// without a kid: the token named no key, and was verified with one.
func TestKidHeaderIsAKeyID(t *testing.T) {
	withKid := func(t *testing.T, m jwt.SigningMethod, kid, key any) string {
		tok := jwt.NewWithClaims(m, idpClaims())
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	oneKey := &middleware.JWTConfig{
		Keys:   []middleware.JWTKey{{ID: "only", Algorithm: "HS256", VerifyKey: oneSecret}},
		Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid",
	}
	is := newIssuer(t)
	jwk := edJWK("", is.ed.Public().(ed25519.PublicKey))
	delete(jwk, "kid")
	is.serve(jwk)
	kidlessJWK := &middleware.JWTConfig{
		JWKS:   newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{}),
		Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid",
	}
	tests := []struct {
		name  string
		jwt   *middleware.JWTConfig
		token string
	}{
		{"static key, empty kid", oneKey, withKid(t, jwt.SigningMethodHS256, "", oneSecret)},
		{"static key, kid a number", oneKey, withKid(t, jwt.SigningMethodHS256, 1, oneSecret)},
		{"static key, kid null", oneKey, withKid(t, jwt.SigningMethodHS256, nil, oneSecret)},
		{"a JWKS key without a kid, empty kid", kidlessJWK, withKid(t, jwt.SigningMethodEdDSA, "", is.ed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			g, logs := loggingGuard(t, st, tt.jwt)
			if err := accepted(t, g, st, tt.token); !errors.Is(err, middleware.ErrInvalidToken) {
				t.Fatalf("got %v, want ErrInvalidToken", err)
			}
			if n := st.totalCalls(); n != 0 {
				t.Errorf("store calls = %d, want 0", n)
			}
			if want := fmt.Sprintf("cause=%q", "jwt rejected: kid is not a key id"); !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %s:\n%s", want, logs)
			}
		})
	}
}
