package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

func TestNewRejectsBadConfig(t *testing.T) {
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	otherRSA := &rsa.PublicKey{N: smallRSA.N, E: 65537}
	jwtWith := func(keys ...middleware.JWTKey) *middleware.JWTConfig {
		return &middleware.JWTConfig{Keys: keys, Issuer: "i", Audience: "a"}
	}
	tests := []struct {
		name string
		mod  func(c *middleware.Config)
		want string
	}{
		{"no store", func(c *middleware.Config) { c.Store = nil }, "Store is required"},
		{"unknown app type", func(c *middleware.Config) { c.AppType = "admin" }, "unknown AppType"},
		{"tenant app without resolver", func(c *middleware.Config) { c.AppType = sessionguard.TenantApp }, "Tenant is required"},
		{"negative idle", func(c *middleware.Config) { c.IdleTimeout = -time.Second }, "IdleTimeout"},
		{"fractional idle", func(c *middleware.Config) { c.IdleTimeout = 1500 * time.Millisecond }, "whole number of seconds"},
		{"idle above absolute", func(c *middleware.Config) { c.IdleTimeout = 9 * time.Hour }, "exceeds AbsoluteTimeout"},
		{"warning above idle", func(c *middleware.Config) { c.WarningThreshold = 5 * time.Hour }, "WarningThreshold"},
		{"bad cookie name", func(c *middleware.Config) { c.CookieName = "my session" }, "not a valid cookie name"},
		{"host prefix insecure", func(c *middleware.Config) { c.InsecureCookie = true }, "needs a Secure cookie"},
		{"secure prefix insecure", func(c *middleware.Config) { c.InsecureCookie, c.CookieName = true, "__Secure-s" }, "needs a Secure cookie"},
		{"tiny max token", func(c *middleware.Config) { c.MaxTokenBytes = 10 }, "MaxTokenBytes"},
		{"negative store timeout", func(c *middleware.Config) { c.StoreTimeout = -1 }, "StoreTimeout"},
		{"realm with quote", func(c *middleware.Config) { c.Realm = `a"b` }, "Realm"},
		{"JWTs without a verifier", func(c *middleware.Config) { c.Tokens = middleware.JWTs }, "set JWT"},
		{"a verifier but no JWTs", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS256", SignKey: hmacNew})
			c.Tokens = middleware.OpaqueTokens
		}, "does not include JWTs"},
		{"unknown token kind", func(c *middleware.Config) { c.Tokens = 1 << 5 }, "unknown kind"},
		{"jwt without keys", func(c *middleware.Config) { c.JWT = jwtWith() }, "JWT.Keys is empty"},
		{"alg none", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "none", SignKey: hmacNew})
		}, "unsupported Algorithm"},
		{"short hmac", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS256", SignKey: []byte("short")})
		}, "shorter than"},
		{"hs512 with 32 bytes", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS512", SignKey: hmacNew})
		}, "shorter than"},
		{"hmac as string", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS256", SignKey: string(hmacNew)})
		}, "must be []byte"},
		{"hmac sign and verify differ", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS256", SignKey: hmacNew, VerifyKey: hmacOld})
		}, "differ"},
		{"rsa key for hs", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS256", VerifyKey: &rsaKey().PublicKey})
		}, "must be []byte"},
		{"hmac key for rs", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "RS256", SignKey: hmacNew})
		}, "want *rsa.PrivateKey"},
		{"small rsa", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "RS256", SignKey: smallRSA})
		}, "below 2048"},
		{"rsa halves differ", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "RS256", SignKey: rsaKey(), VerifyKey: otherRSA})
		}, "public half"},
		{"wrong curve", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "ES256", SignKey: p384})
		}, "needs P-256"},
		{"duplicate kid", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS256", SignKey: hmacNew}, middleware.JWTKey{ID: "k", Algorithm: "HS256", SignKey: hmacOld})
		}, "duplicate"},
		{"bad kid", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k k", Algorithm: "HS256", SignKey: hmacNew})
		}, "ID"},
		{"signing key verify-only", func(c *middleware.Config) {
			c.JWT = jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS256", VerifyKey: hmacNew})
			c.JWT.SigningKeyID = "k"
		}, "has no SignKey"},
		{"unknown signing kid", func(c *middleware.Config) {
			j := jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS256", SignKey: hmacNew})
			j.SigningKeyID = "x"
			c.JWT = j
		}, "names no key"},
		{"negative leeway", func(c *middleware.Config) {
			j := jwtWith(middleware.JWTKey{ID: "k", Algorithm: "HS256", SignKey: hmacNew})
			j.Leeway = -time.Second
			c.JWT = j
		}, "Leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := middleware.Config{Store: newFakeStore()}
			tt.mod(&cfg)
			g, err := middleware.New(cfg)
			if err == nil {
				t.Fatalf("New succeeded (%v)", g)
			}
			if !strings.HasPrefix(err.Error(), "middleware: config: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one with %q", err, tt.want)
			}
		})
	}
}

func TestNewAcceptsGoodConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  middleware.Config
	}{
		{"defaults", middleware.Config{}},
		{"tenant app", middleware.Config{AppType: sessionguard.TenantApp, Tenant: func(*http.Request) (int64, error) { return 1, nil }}},
		{"insecure dev cookie", middleware.Config{InsecureCookie: true, CookieName: "session"}},
		{"jwt rotation", middleware.Config{JWT: hmacJWT()}},
		{"rsa verify-only old key", middleware.Config{JWT: &middleware.JWTConfig{
			Keys: []middleware.JWTKey{
				{ID: "new", Algorithm: "HS256", SignKey: hmacNew},
				{ID: "old", Algorithm: "RS256", VerifyKey: &rsaKey().PublicKey},
			},
			Issuer: "i", Audience: "a",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Store = newFakeStore()
			if _, err := middleware.New(tt.cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestHMACKeyIsCopied: changing the caller's key slice after New does not
// change the key the Guard uses.
func TestHMACKeyIsCopied(t *testing.T) {
	key := append([]byte(nil), hmacNew...)
	st := newFakeStore()
	g := newGuard(t, st, func(c *middleware.Config) {
		c.AppType = sessionguard.ControlPanel
		c.JWT = &middleware.JWTConfig{Keys: []middleware.JWTKey{{ID: "k", Algorithm: "HS256", SignKey: key}}, Issuer: "i", Audience: "a"}
	})
	tok, _, err := g.SignIn(nil, nil, middleware.SignIn{UserID: 42})
	if err != nil {
		t.Fatal(err)
	}
	for i := range key {
		key[i] = 0
	}
	if _, err := g.Authenticate(request(cookie(tok))); err != nil {
		t.Fatalf("after the caller zeroed its key: %v", err)
	}
}
