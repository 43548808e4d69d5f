package middleware_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

var (
	hmacOld = []byte("0123456789abcdef0123456789abcdef-old")
	hmacNew = []byte("0123456789abcdef0123456789abcdef-new")
)

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func hmacJWT() *middleware.JWTConfig {
	return &middleware.JWTConfig{
		Keys: []middleware.JWTKey{
			{ID: "k2", Algorithm: "HS256", SignKey: hmacNew},
			{ID: "k1", Algorithm: "HS256", VerifyKey: hmacOld},
		},
		Issuer:         "https://auth.example",
		Audience:       "panel",
		RequiredClaims: middleware.StrictJWTClaims(),
	}
}

// claims returns the claims SignIn would issue for a session row, at now.
func claims(sid string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "https://auth.example",
		"aud": []string{"panel"},
		"sub": "42",
		"sid": sid,
		"jti": "abcdefghijklmnopqrstuv",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(8 * time.Hour).Unix(),
	}
}

func sign(t *testing.T, m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWTMode(t *testing.T) {
	rsaPub := &rsaKey().PublicKey
	pubDER, err := x509.MarshalPKIXPublicKey(rsaPub)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	const sid = "6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e"
	now := time.Now()
	mod := func(f func(jwt.MapClaims)) jwt.MapClaims { c := claims(sid, now); f(c); return c }

	tests := []struct {
		name  string
		jwt   func() *middleware.JWTConfig
		token func(t *testing.T) string
		ok    bool
	}{
		{"valid, current key", hmacJWT, func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, claims(sid, now)) }, true},
		{"valid, rotated-out key still verifies", hmacJWT, func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, "k1", hmacOld, claims(sid, now)) }, true},
		{"forged signature", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", []byte("another secret that is long enough!!"), claims(sid, now))
		}, false},
		{"signature of another kid", hmacJWT, func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, "k2", hmacOld, claims(sid, now)) }, false},
		{"tampered payload", hmacJWT, func(t *testing.T) string {
			s := sign(t, jwt.SigningMethodHS256, "k2", hmacNew, claims(sid, now))
			parts := strings.Split(s, ".")
			c := claims(sid, now)
			c["sub"] = "1"
			other := strings.Split(sign(t, jwt.SigningMethodHS256, "k2", []byte("x"+string(hmacNew)), c), ".")
			return parts[0] + "." + other[1] + "." + parts[2]
		}, false},
		{"alg none", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, "k2", jwt.UnsafeAllowNoneSignatureType, claims(sid, now))
		}, false},
		{"HS/RS confusion", func() *middleware.JWTConfig {
			return &middleware.JWTConfig{
				Keys:   []middleware.JWTKey{{ID: "r1", Algorithm: "RS256", SignKey: rsaKey()}},
				Issuer: "https://auth.example", Audience: "panel",
			}
		}, func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, "r1", rsaPEM, claims(sid, now)) }, false},
		{"HS/RS confusion with DER", func() *middleware.JWTConfig {
			return &middleware.JWTConfig{
				Keys:   []middleware.JWTKey{{ID: "r1", Algorithm: "RS256", SignKey: rsaKey()}},
				Issuer: "https://auth.example", Audience: "panel",
			}
		}, func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, "r1", pubDER, claims(sid, now)) }, false},
		{"alg differs from the kid's key", func() *middleware.JWTConfig {
			c := hmacJWT()
			c.Keys = append(c.Keys, middleware.JWTKey{ID: "k3", Algorithm: "HS512", SignKey: []byte(strings.Repeat("s", 64))})
			return c
		}, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS512, "k2", hmacNew, claims(sid, now))
		}, false},
		{"unknown kid", hmacJWT, func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, "k9", hmacNew, claims(sid, now)) }, false},
		{"no kid", hmacJWT, func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, "", hmacNew, claims(sid, now)) }, false},
		{"expired", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }))
		}, false},
		{"expired within leeway", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() }))
		}, true},
		{"no exp", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { delete(c, "exp") }))
		}, false},
		{"not yet valid", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }))
		}, false},
		{"issued in the future", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }))
		}, false},
		{"no iat", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { delete(c, "iat") }))
		}, false},
		{"wrong issuer", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }))
		}, false},
		{"wrong audience", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { c["aud"] = []string{"tenant"} }))
		}, false},
		{"no audience", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { delete(c, "aud") }))
		}, false},
		{"sid not a uuid", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { c["sid"] = "1' OR '1'='1" }))
		}, false},
		{"sub not a user id", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { c["sub"] = "042" }))
		}, false},
		{"padded segments", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, claims(sid, now)) + "=="
		}, false},
		{"crit header (an extension we cannot honour, RFC 7515 4.1.11)", hmacJWT, func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(sid, now))
			tok.Header["kid"], tok.Header["crit"], tok.Header["exp_strict"] = "k2", []string{"exp_strict"}, true
			s, err := tok.SignedString(hmacNew)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, false},
		{"empty crit header", hmacJWT, func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(sid, now))
			tok.Header["kid"], tok.Header["crit"] = "k2", []string{}
			s, err := tok.SignedString(hmacNew)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, false},
		{"oversized", hmacJWT, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, mod(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", 4096) }))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			tok := tt.token(t)
			st.seed(tok, sessionguard.NewSession{ID: sid, UserID: 42, AppType: sessionguard.ControlPanel})
			g := newGuard(t, st, func(c *middleware.Config) { c.JWT = tt.jwt() })
			s, err := g.Authenticate(request(nil, "Bearer "+tok))
			if tt.ok {
				if err != nil || s.ID != sid || s.UserID != 42 {
					t.Fatalf("got %v, %v; want the session", s, err)
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
		})
	}
}

// TestJWTMustMatchRow: a genuine JWT is refused if the store's row is of
// another session or user (defence in depth against a store bug).
func TestJWTMustMatchRow(t *testing.T) {
	const sid = "6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e"
	tests := []struct {
		name string
		row  sessionguard.NewSession
	}{
		{"other session id", sessionguard.NewSession{ID: "0f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e", UserID: 42, AppType: sessionguard.ControlPanel}},
		{"other user", sessionguard.NewSession{ID: sid, UserID: 43, AppType: sessionguard.ControlPanel}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			tok := sign(t, jwt.SigningMethodHS256, "k2", hmacNew, claims(sid, time.Now()))
			st.seed(tok, tt.row)
			g := newGuard(t, st, func(c *middleware.Config) { c.JWT = hmacJWT() })
			if _, err := g.Authenticate(request(cookie(tok))); !errors.Is(err, middleware.ErrInvalidToken) {
				t.Fatalf("got %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestJWTSignInRoundTrip(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := map[string]middleware.JWTKey{
		"HS256": {ID: "h", Algorithm: "HS256", SignKey: hmacNew},
		"RS256": {ID: "r", Algorithm: "RS256", SignKey: rsaKey()},
		"PS256": {ID: "p", Algorithm: "PS256", SignKey: rsaKey()},
		"ES256": {ID: "e", Algorithm: "ES256", SignKey: ecKey},
		"EdDSA": {ID: "d", Algorithm: "EdDSA", SignKey: edKey},
	}
	for alg, key := range keys {
		t.Run(alg, func(t *testing.T) {
			st := newFakeStore()
			g := newGuard(t, st, func(c *middleware.Config) {
				c.AppType = sessionguard.ControlPanel
				c.JWT = &middleware.JWTConfig{Keys: []middleware.JWTKey{key}, Issuer: "iss", Audience: "aud"}
			})
			rec := httptest.NewRecorder()
			tok, s, err := g.SignIn(rec, request(nil), middleware.SignIn{UserID: 42})
			if err != nil {
				t.Fatal(err)
			}
			var c jwt.MapClaims
			parsed, _, err := jwt.NewParser().ParseUnverified(tok, &c)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Header["kid"] != key.ID || parsed.Header["alg"] != alg {
				t.Errorf("header = %v", parsed.Header)
			}
			if c["sid"] != s.ID || c["sub"] != "42" || c["iss"] != "iss" || c["jti"] == nil {
				t.Errorf("claims = %v, session %v", c, s)
			}
			jti, _ := c["jti"].(string)
			if b, err := base64.RawURLEncoding.DecodeString(jti); err != nil || len(b) != 16 {
				t.Errorf("jti %q is not 16 random bytes", jti)
			}
			exp, _ := c.GetExpirationTime()
			iat, _ := c.GetIssuedAt()
			if exp == nil || iat == nil || exp.Sub(iat.Time) != 8*time.Hour {
				t.Errorf("exp - iat = %v, want 8h", exp.Sub(iat.Time))
			}
			got, err := g.Authenticate(request(cookie(tok)))
			if err != nil || got.ID != s.ID {
				t.Fatalf("Authenticate after SignIn: %v, %v", got, err)
			}
		})
	}
}
