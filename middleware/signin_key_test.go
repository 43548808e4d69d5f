package middleware_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http/httptest"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard/middleware"
)

// TestSignInUsesTheNamedSigningKey: SignIn signs with the first key that has
// a SignKey, or with the key SigningKeyID names (README, "Issuing JWTs
// yourself"); the token names that key in its kid header.
func TestSignInUsesTheNamedSigningKey(t *testing.T) {
	t.Parallel()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := []middleware.JWTKey{
		{ID: "first", Algorithm: "HS256", SignKey: hmacNew},
		{ID: "second", Algorithm: "EdDSA", SignKey: edKey},
	}
	tests := []struct {
		name, signingKeyID, wantKID, wantAlg string
	}{
		{"no SigningKeyID: the first key with a SignKey", "", "first", "HS256"},
		{"SigningKeyID names the second", "second", "second", "EdDSA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := panelGuard(t, newFakeStore(), func(c *middleware.Config) {
				c.JWT = &middleware.JWTConfig{Keys: keys, SigningKeyID: tt.signingKeyID}
			})
			tok, _, err := g.SignIn(httptest.NewRecorder(), request(nil), middleware.SignIn{UserID: 42})
			if err != nil {
				t.Fatal(err)
			}
			parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Header["kid"] != tt.wantKID || parsed.Header["alg"] != tt.wantAlg {
				t.Errorf("header %v, want kid %q, alg %q", parsed.Header, tt.wantKID, tt.wantAlg)
			}
			if _, err := g.Authenticate(request(nil, "Bearer "+tok)); err != nil {
				t.Errorf("the Guard refuses its own token: %v", err)
			}
		})
	}
}
