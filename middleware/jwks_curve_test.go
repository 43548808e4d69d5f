package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard/middleware"
)

// ecJWK is an EC public key as a JWK without "alg", written by hand.
func ecJWK(t *testing.T, kid, crv string, k *ecdsa.PrivateKey) map[string]any {
	t.Helper()
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	b := pub.Bytes() // 0x04 || X || Y, each of the curve's size
	size := (len(b) - 1) / 2
	return map[string]any{"kty": "EC", "crv": crv, "kid": kid, "use": "sig", "x": b64(b[1 : 1+size]), "y": b64(b[1+size:])}
}

// TestJWKSECDSACurves: a key from a JWKS verifies an ES* token only when it
// is on that algorithm's curve (README, "Keys"): a token whose kid names a
// P-384 key but whose alg says ES256 is refused before any query.
func TestJWKSECDSACurves(t *testing.T) {
	t.Parallel()
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t)
	is.serve(ecJWK(t, "ec-256", "P-256", p256), ecJWK(t, "ec-384", "P-384", p384))
	jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{Algorithms: []string{"ES256", "ES384"}})

	tests := []struct {
		name  string
		m     jwt.SigningMethod
		kid   string
		key   *ecdsa.PrivateKey
		cause string // "" accepted
	}{
		{"ES256 on P-256", jwt.SigningMethodES256, "ec-256", p256, ""},
		{"ES384 on P-384", jwt.SigningMethodES384, "ec-384", p384, ""},
		{"ES256 naming the P-384 key", jwt.SigningMethodES256, "ec-384", p256, "alg does not match the key"},
		{"ES384 naming the P-256 key", jwt.SigningMethodES384, "ec-256", p384, "alg does not match the key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := newFakeStore()
			g, logs := jwksGuard(t, st, jwks)
			err := accepted(t, g, st, sign(t, tt.m, tt.kid, tt.key, idpClaims()))
			if tt.cause == "" {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, logs)
				}
				return
			}
			if !errors.Is(err, middleware.ErrInvalidToken) || !strings.Contains(logs.String(), "jwt rejected: "+tt.cause) {
				t.Fatalf("got %v, want a refusal for %q:\n%s", err, tt.cause, logs)
			}
		})
	}
}
