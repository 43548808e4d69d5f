package middleware_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// TestIssuerAndAudienceRules backs README's claim table ("iss", "aud") for
// each kind of Guard: one that verifies a JWKS's tokens is refused when
// built without Issuer, or without Audience unless AnyAudience; AnyAudience
// then takes the issuer's tokens whatever their "aud" (but not another
// issuer's); a Guard that signs its tokens needs neither, and checks "iss"
// only when Issuer is set. (TestJWTConfigRefused covers verify-only Keys.)
func TestIssuerAndAudienceRules(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{})

	built := []struct {
		name    string
		cfg     middleware.JWTConfig
		refusal string // "" when New accepts it
	}{
		{"JWKS, no issuer", middleware.JWTConfig{JWKS: jwks, Audience: "tenant-app"}, "JWT.Issuer is required"},
		{"JWKS, no audience", middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example"}, "JWT.Audience is required"},
		{"JWKS, neither", middleware.JWTConfig{JWKS: jwks}, "JWT.Issuer is required"},
		{"JWKS, any audience", middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example", AnyAudience: true}, ""},
		{"JWKS, issuer and audience", middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example", Audience: "tenant-app"}, ""},
		{"a signer, neither", middleware.JWTConfig{Keys: []middleware.JWTKey{{ID: "own", Algorithm: "EdDSA", SignKey: is.ed}}}, ""},
	}
	for _, tt := range built {
		t.Run("New: "+tt.name, func(t *testing.T) {
			cfg := tt.cfg
			_, err := middleware.New(middleware.Config{Store: newFakeStore(), Logger: discard, JWT: &cfg})
			switch {
			case tt.refusal == "" && err != nil:
				t.Fatalf("New = %v, want it built", err)
			case tt.refusal != "" && (err == nil || !strings.Contains(err.Error(), tt.refusal)):
				t.Fatalf("New = %v, want an error with %q", err, tt.refusal)
			}
		})
	}

	// What each Guard then takes: Record verifies before any store call.
	anyAudience := &middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example", AnyAudience: true}
	_, ownKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer := &middleware.JWTConfig{Keys: []middleware.JWTKey{{ID: "own", Algorithm: "EdDSA", SignKey: ownKey}}}
	signerWithIssuer := &middleware.JWTConfig{Keys: []middleware.JWTKey{{ID: "own", Algorithm: "EdDSA", SignKey: ownKey}},
		Issuer: "https://app.example"}
	claims := func(kv ...any) jwt.MapClaims {
		c := idpClaims()
		delete(c, "tid")
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	taken := []struct {
		name   string
		cfg    *middleware.JWTConfig
		kid    string
		key    any
		claims jwt.MapClaims
		ok     bool
	}{
		{"any audience: this app's aud", anyAudience, "ed-1", is.ed, claims(), true},
		{"any audience: another app's aud", anyAudience, "ed-1", is.ed, claims("aud", "billing-app"), true},
		{"any audience: no aud", anyAudience, "ed-1", is.ed, claims("aud", nil), true},
		{"any audience: another issuer", anyAudience, "ed-1", is.ed, claims("iss", "https://other.example"), false},
		{"any audience: no iss", anyAudience, "ed-1", is.ed, claims("iss", nil), false},
		{"signer without issuer: any iss", signer, "own", ownKey, claims("iss", "https://other.example"), true},
		{"signer with issuer: its own", signerWithIssuer, "own", ownKey, claims("iss", "https://app.example"), true},
		{"signer with issuer: another", signerWithIssuer, "own", ownKey, claims("iss", "https://other.example"), false},
	}
	for _, tt := range taken {
		t.Run("Record: "+tt.name, func(t *testing.T) {
			cfg := *tt.cfg
			if cfg.JWKS == nil {
				tt.claims["sid"] = newUUID(t) // a signer's tokens name their session
			}
			st := newFakeStore()
			g := newGuard(t, st, func(c *middleware.Config) {
				c.AppType = sessionguard.ControlPanel
				c.JWT = &cfg
			})
			token := sign(t, jwt.SigningMethodEdDSA, tt.kid, tt.key, tt.claims)
			_, err := g.Record(nil, request(nil), token, middleware.SignIn{})
			switch {
			case tt.ok && err != nil:
				t.Fatalf("Record = %v, want the session opened", err)
			case !tt.ok && !errors.Is(err, middleware.ErrInvalidToken):
				t.Fatalf("Record = %v, want ErrInvalidToken", err)
			case !tt.ok && st.totalCalls() != 0:
				t.Fatalf("%d store calls for a refused token, want none", st.totalCalls())
			}
		})
	}
}

func newUUID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
