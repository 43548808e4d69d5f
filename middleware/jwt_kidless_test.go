package middleware_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// oneSecret is the one HMAC secret of an issuer that writes no "kid".
var oneSecret = []byte("one-secret-of-an-issuer-0123456789abcdef")

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
