package idp_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard/example/idp"
)

// jwksKeys fetches a JWKS document over HTTP and returns its keys by kid,
// failing the test if any key carries a private part.
func jwksKeys(t *testing.T, url string) map[string]ed25519.PublicKey {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("JWKS: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range doc.Keys {
		if _, ok := k["d"]; ok {
			t.Fatalf("the JWKS publishes a private key: %v", k)
		}
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["kid"] == "" {
			t.Fatalf("JWKS key %v", k)
		}
		x, err := base64.RawURLEncoding.DecodeString(k["x"])
		if err != nil || len(x) != ed25519.PublicKeySize {
			t.Fatalf("JWKS key x %q: %v", k["x"], err)
		}
		keys[k["kid"]] = ed25519.PublicKey(x)
	}
	return keys
}

// verify checks a token as an app that knows only the JWKS would.
func verify(token string, keys map[string]ed25519.PublicKey) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("unknown kid %q", kid)
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("https://idp.example"), jwt.WithAudience("tenant-app"), jwt.WithExpirationRequired())
	return claims, err
}

func TestProviderTokens(t *testing.T) {
	t.Parallel()
	p, err := idp.New(idp.Config{Issuer: "https://idp.example", Audience: "tenant-app"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.JWKS())
	defer srv.Close()
	keys := jwksKeys(t, srv.URL+idp.JWKSPath)
	if len(keys) != 1 {
		t.Fatalf("%d keys, want 1", len(keys))
	}

	tests := []struct {
		name           string
		user, tenant   int64
		wantTenant     bool
		wantTenantJSON float64
	}{
		{"tenant user", 42, 7, true, 7},
		{"staff", 3, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := p.Issue(tt.user, tt.tenant)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := verify(token, keys)
			if err != nil {
				t.Fatalf("the token does not verify with the JWKS alone: %v", err)
			}
			if claims[idp.ClaimUserID] != float64(tt.user) {
				t.Errorf("%s = %v, want %d", idp.ClaimUserID, claims[idp.ClaimUserID], tt.user)
			}
			tid, ok := claims[idp.ClaimTenantID]
			if ok != tt.wantTenant || (ok && tid != tt.wantTenantJSON) {
				t.Errorf("%s = %v (present %t), want %v (present %t)", idp.ClaimTenantID, tid, ok, tt.wantTenantJSON, tt.wantTenant)
			}
			exp, _ := claims.GetExpirationTime()
			iat, _ := claims.GetIssuedAt()
			if exp == nil || iat == nil || exp.Sub(iat.Time) != idp.DefaultLifetime {
				t.Errorf("exp %v, iat %v: want %v apart", exp, iat, idp.DefaultLifetime)
			}
			for _, absent := range []string{"sid", "sub"} {
				if _, ok := claims[absent]; ok {
					t.Errorf("the token carries %q; the provider's tokens have their own claims", absent)
				}
			}
			if jti, _ := claims["jti"].(string); jti == "" {
				t.Errorf("no jti")
			}
		})
	}

	t.Run("the configured lifetime", func(t *testing.T) {
		short, err := idp.New(idp.Config{Issuer: "https://idp.example", Audience: "tenant-app", Lifetime: idp.DefaultLifetime / 8})
		if err != nil {
			t.Fatal(err)
		}
		token, _ := short.Issue(42, 7)
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
			t.Fatal(err)
		}
		exp, _ := claims.GetExpirationTime()
		iat, _ := claims.GetIssuedAt()
		if exp.Sub(iat.Time) != idp.DefaultLifetime/8 {
			t.Errorf("exp - iat = %v, want %v", exp.Sub(iat.Time), idp.DefaultLifetime/8)
		}
	})
	t.Run("every token differs", func(t *testing.T) {
		a, _ := p.Issue(42, 7)
		b, _ := p.Issue(42, 7)
		if a == b {
			t.Errorf("two tokens for the same user in the same second are equal")
		}
	})
	t.Run("forged tokens do not verify", func(t *testing.T) {
		token, _ := p.Issue(42, 7)
		other, err := idp.New(idp.Config{Issuer: "https://idp.example", Audience: "tenant-app"})
		if err != nil {
			t.Fatal(err)
		}
		foreign, _ := other.Issue(42, 7)
		parts := strings.Split(token, ".")
		claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
		changed := strings.Replace(string(claims), `"uid":42`, `"uid":1`, 1)
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(changed)) + "." + parts[2]
		for name, forged := range map[string]string{"another provider's key": foreign, "claims changed": tampered} {
			if _, err := verify(forged, keys); err == nil {
				t.Errorf("%s: verifies", name)
			}
		}
	})
}

func TestProviderConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  idp.Config
	}{
		{"no issuer", idp.Config{}},
		{"no audience", idp.Config{Issuer: "x"}},
		{"negative lifetime", idp.Config{Issuer: "x", Audience: "y", Lifetime: -1}},
	} {
		if _, err := idp.New(tt.cfg); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	p, err := idp.New(idp.Config{Issuer: "x", Audience: "y"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][2]int64{{0, 1}, {-1, 0}, {1, -1}} {
		if _, err := p.Issue(ids[0], ids[1]); err == nil {
			t.Errorf("Issue(%d, %d) accepted", ids[0], ids[1])
		}
	}
}

// The tenant app's sign-in checks the password, then asks the provider for a
// token; the app itself verifies it with the published JWKS, holding no
// private key.
func ExampleProvider() {
	p, err := idp.New(idp.Config{Issuer: "https://idp.example", Audience: "tenant-app"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+idp.JWKSPath, p.JWKS()) // the public key, for every app
	token, err := p.Issue(42, 7)              // for a user the sign-in has checked
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Count(token, "."), idp.ClaimUserID, idp.ClaimTenantID)
	// Output: 2 uid tid
}
