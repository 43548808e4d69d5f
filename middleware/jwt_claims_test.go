package middleware

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var claimTestSecret = []byte("claim-test-secret-0123456789abcdef")

// claimVerifier builds a verifier of an HS256 key "k" of the issuer
// https://idp.example, whose tokens carry no audience unless mod asks for one,
// with mod applied.
func claimVerifier(t testing.TB, mod func(*JWTConfig)) *jwtVerifier {
	t.Helper()
	c := JWTConfig{Keys: []JWTKey{{ID: "k", Algorithm: "HS256", VerifyKey: claimTestSecret}}, Issuer: "https://idp.example"}
	if mod != nil {
		mod(&c)
	}
	c.AnyAudience = c.Audience == ""
	c, err := c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	v, err := newJWTVerifier(&c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signClaims(t *testing.T, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(claimTestSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJWTClaimRules: every claim rule, and the text each refusal logs.
func TestJWTClaimRules(t *testing.T) {
	now := time.Now()
	const sid = "6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e"
	// base is a token of another issuer: sub and tid, no sid, no aud, no iat.
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "https://idp.example", "sub": "42", "tid": 7, "exp": now.Add(time.Hour).Unix()}
	}
	with := func(kv ...any) jwt.MapClaims {
		c := base()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	tenant := func(c *JWTConfig) { c.TenantIDClaim = "tid" }
	issuer := func(c *JWTConfig) { c.Issuer = "https://idp.example"; c.TenantIDClaim = "tid" }
	tests := []struct {
		name    string
		cfg     func(*JWTConfig)
		claims  jwt.MapClaims
		want    jwtClaims
		wantErr string
	}{
		{"defaults: sub and exp only", nil, base(), jwtClaims{UserID: 42}, ""},
		{"tenant claim as a number", tenant, base(), jwtClaims{UserID: 42, TenantID: 7, HasTenant: true}, ""},
		{"tenant claim as a string", tenant, with("tid", "7"), jwtClaims{UserID: 42, TenantID: 7, HasTenant: true}, ""},
		{"tenant claim absent", tenant, with("tid", nil), jwtClaims{UserID: 42}, ""},
		{"tenant claim required and absent", func(c *JWTConfig) { tenant(c); c.RequiredClaims = []string{"tid"} }, with("tid", nil), jwtClaims{}, "missing claim tid"},
		{"tenant claim not a number", tenant, with("tid", "acme"), jwtClaims{}, "claim tid is not a tenant id"},
		{"tenant claim zero", tenant, with("tid", 0), jwtClaims{}, "claim tid is not a tenant id"},
		{"tenant claim fractional", tenant, with("tid", 7.5), jwtClaims{}, "claim tid is not a tenant id"},
		{"tenant claim an object", tenant, with("tid", map[string]any{"id": 7}), jwtClaims{}, "claim tid is not a tenant id"},
		{"user id as a number", nil, with("sub", 42), jwtClaims{UserID: 42}, ""},
		{"user id beyond float precision", nil, with("sub", int64(9007199254740993)), jwtClaims{UserID: 9007199254740993}, ""},
		{"user id in another claim", func(c *JWTConfig) { c.UserIDClaim = "uid" }, with("sub", "auth0|abc", "uid", "42"), jwtClaims{UserID: 42}, ""},
		{"user id missing", nil, with("sub", nil), jwtClaims{}, "missing claim sub"},
		{"user id with a leading zero", nil, with("sub", "042"), jwtClaims{}, "claim sub is not a user id"},
		{"user id negative", nil, with("sub", -4), jwtClaims{}, "claim sub is not a user id"},
		{"user id overflows int64", nil, with("sub", "9223372036854775808"), jwtClaims{}, "claim sub is not a user id"},
		{"user id in exponent form", nil, with("sub", 4.2e1), jwtClaims{UserID: 42}, ""},
		{"session claim", func(c *JWTConfig) { c.SessionIDClaim = "sid" }, with("sid", sid), jwtClaims{UserID: 42, SessionID: sid}, ""},
		{"session claim missing", func(c *JWTConfig) { c.SessionIDClaim = "sid" }, base(), jwtClaims{}, "missing claim sid"},
		{"session claim not a uuid", func(c *JWTConfig) { c.SessionIDClaim = "sid" }, with("sid", "1' OR '1'='1"), jwtClaims{}, "claim sid is not a session id"},
		{"session claim upper case", func(c *JWTConfig) { c.SessionIDClaim = "sid" }, with("sid", strings.ToUpper(sid)), jwtClaims{}, "claim sid is not a session id"},
		{"exp missing", nil, with("exp", nil), jwtClaims{}, "missing claim exp"},
		{"exp missing, allowed", func(c *JWTConfig) { c.AllowNoExpiry = true }, with("exp", nil), jwtClaims{UserID: 42}, ""},
		{"exp past", nil, with("exp", now.Add(-time.Minute).Unix()), jwtClaims{}, "claim exp: expired"},
		{"exp past within leeway", nil, with("exp", now.Add(-10*time.Second).Unix()), jwtClaims{UserID: 42}, ""},
		{"exp past beyond a custom leeway", func(c *JWTConfig) { c.Leeway = time.Second }, with("exp", now.Add(-10*time.Second).Unix()), jwtClaims{}, "claim exp: expired"},
		{"exp a string", nil, with("exp", "tomorrow"), jwtClaims{}, "claim exp is not a time"},
		{"nbf future", nil, with("nbf", now.Add(time.Hour).Unix()), jwtClaims{}, "claim nbf: not valid yet"},
		{"nbf past", nil, with("nbf", now.Add(-time.Hour).Unix()), jwtClaims{UserID: 42}, ""},
		// Seconds past what time.Time holds wrap around to a date in the
		// past: nbf and iat far in the future would then pass.
		{"nbf beyond int64 seconds", nil, with("nbf", 1e19), jwtClaims{}, "claim nbf is not a time"},
		{"iat beyond int64 seconds", nil, with("iat", 9.3e18), jwtClaims{}, "claim iat is not a time"},
		{"exp beyond int64 seconds", nil, with("exp", 1e19), jwtClaims{}, "claim exp is not a time"},
		{"exp beyond float64", nil, with("exp", json.Number("1e400")), jwtClaims{}, "claim exp is not a time"},
		{"nbf in year 9999", nil, with("nbf", 253402300799), jwtClaims{}, "claim nbf: not valid yet"},
		// Before year 1: PostgreSQL has no date before 4713 BC for the
		// session's auth_time (from auth_time, else iat).
		{"iat before year 1", nil, with("iat", -2.5e11), jwtClaims{}, "claim iat is not a time"},
		{"iat in year 1", nil, with("iat", -62135596800), jwtClaims{UserID: 42, IssuedAt: time.Unix(-62135596800, 0)}, ""},
		{"auth_time before year 1", nil, with("auth_time", -62135596801), jwtClaims{}, "claim auth_time is not a time"},
		{"auth_time a string", nil, with("auth_time", "yesterday"), jwtClaims{}, "claim auth_time is not a time"},
		{"auth_time beyond int64 seconds", nil, with("auth_time", 1e19), jwtClaims{}, "claim auth_time is not a time"},
		{"auth_time", nil, with("auth_time", 1700000000), jwtClaims{UserID: 42, AuthTime: time.Unix(1700000000, 0)}, ""},
		{"auth_time with a fraction: whole seconds", nil, with("auth_time", 1700000000.7), jwtClaims{UserID: 42, AuthTime: time.Unix(1700000000, 0)}, ""},
		// OIDC's acr and amr (RFC 8176): the issuer's attestation, recorded
		// by Record and Reauthenticate; one no session can hold is no valid token.
		{"acr and amr", nil, with("acr", "aal2", "amr", []string{"pwd", "otp"}), jwtClaims{UserID: 42, ACR: "aal2", AMR: []string{"pwd", "otp"}}, ""},
		{"acr and amr empty: none", nil, with("acr", "", "amr", []string{}), jwtClaims{UserID: 42}, ""},
		{"acr a number", nil, with("acr", 2), jwtClaims{}, "claim acr is not a string"},
		{"acr past the limits", nil, with("acr", "aal2 aal3"), jwtClaims{}, "claim acr or amr is not one a session can record"},
		{"amr a string", nil, with("amr", "pwd"), jwtClaims{}, "claim amr is not an array of strings"},
		{"amr of numbers", nil, with("amr", []any{"pwd", 1}), jwtClaims{}, "claim amr is not an array of strings"},
		{"amr past the limits", nil, with("amr", []string{""}), jwtClaims{}, "claim acr or amr is not one a session can record"},
		{"iat future", nil, with("iat", now.Add(time.Hour).Unix()), jwtClaims{}, "claim iat: issued in the future"},
		{"iat a string", nil, with("iat", "now"), jwtClaims{}, "claim iat is not a time"},
		{"iss checked when configured", issuer, base(), jwtClaims{UserID: 42, TenantID: 7, HasTenant: true}, ""},
		{"iss wrong", issuer, with("iss", "https://evil.example"), jwtClaims{}, "claim iss is not the configured issuer"},
		{"iss missing", issuer, with("iss", nil), jwtClaims{}, "missing claim iss"},
		{"aud as a string", func(c *JWTConfig) { c.Audience = "api" }, with("aud", "api"), jwtClaims{UserID: 42}, ""},
		{"aud as a list", func(c *JWTConfig) { c.Audience = "api" }, with("aud", []string{"web", "api"}), jwtClaims{UserID: 42}, ""},
		{"aud wrong", func(c *JWTConfig) { c.Audience = "api" }, with("aud", []string{"web"}), jwtClaims{}, "claim aud does not name the configured audience"},
		{"aud missing", func(c *JWTConfig) { c.Audience = "api" }, base(), jwtClaims{}, "missing claim aud"},
		{"required claim present", func(c *JWTConfig) { c.RequiredClaims = []string{"jti"} }, with("jti", "x"), jwtClaims{UserID: 42}, ""},
		// A provider's refreshed token without auth_time would pass a
		// step-up by its new iat: an app can require auth_time (Record).
		{"auth_time required and absent", func(c *JWTConfig) { c.RequiredClaims = []string{"auth_time"} }, base(), jwtClaims{}, "missing claim auth_time"},
		{"strict preset: no aud", func(c *JWTConfig) { c.RequiredClaims = StrictJWTClaims() }, base(), jwtClaims{}, "missing claim aud"},
		{"strict preset: complete", func(c *JWTConfig) {
			c.RequiredClaims, c.SessionIDClaim, c.Issuer, c.Audience = StrictJWTClaims(), "sid", "https://idp.example", "api"
		}, with("aud", "api", "sid", sid, "iat", now.Unix(), "nbf", now.Unix(), "jti", "j"), jwtClaims{UserID: 42, SessionID: sid}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := claimVerifier(t, tt.cfg)
			token := signClaims(t, "k", tt.claims)
			got, err := v.verify(token)
			if tt.wantErr == "" {
				if exp, ok := tt.claims["exp"].(int64); ok && err == nil {
					if !got.Expires.Equal(time.Unix(exp, 0)) {
						t.Fatalf("Expires = %v, want the exp claim %v", got.Expires, time.Unix(exp, 0))
					}
					got.Expires = time.Time{}
				}
				if iat, ok := tt.claims["iat"].(int64); ok && err == nil {
					if !got.IssuedAt.Equal(time.Unix(iat, 0)) {
						t.Fatalf("IssuedAt = %v, want the iat claim %v", got.IssuedAt, time.Unix(iat, 0))
					}
					got.IssuedAt = time.Time{}
				}
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("verify = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if err == nil || err.Error() != "jwt rejected: "+tt.wantErr {
				t.Fatalf("verify error = %v; want %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, jwtClaims{}) {
				t.Errorf("refused, yet returned %+v", got)
			}
		})
	}
}

// TestJWTRefusalNamesNoTokenData: the texts of key, signature and format
// refusals are fixed; none repeats a part of the token.
func TestJWTRefusalNamesNoTokenData(t *testing.T) {
	const marker = "MARKERkid"
	// Two keys: a token without a kid is refused only where it cannot say which.
	v := claimVerifier(t, func(c *JWTConfig) {
		c.Keys = append(c.Keys, JWTKey{ID: "k-next", Algorithm: "HS256", VerifyKey: []byte(strings.Repeat("n", 32))})
	})
	claims := jwt.MapClaims{"iss": "https://idp.example", "sub": marker, "exp": time.Now().Add(time.Hour).Unix()}
	good := signClaims(t, "k", claims)
	parts := strings.Split(good, ".")
	tests := []struct{ name, token, want string }{
		{"unknown kid", signClaims(t, marker, claims), "unknown kid"},
		{"missing kid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
			s, _ := tok.SignedString(claimTestSecret)
			return s
		}(), "missing kid: the Guard has several keys and a token must name its own"},
		{"signature invalid", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])), "signature invalid"},
		{"alg none", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
			tok.Header["kid"] = "k"
			s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}(), "alg not allowed"},
		{"alg of another key", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS384, claims)
			tok.Header["kid"] = "k"
			s, _ := tok.SignedString(append(claimTestSecret, claimTestSecret...))
			return s
		}(), "alg not allowed"},
		{"malformed", parts[0] + "." + marker + "." + parts[2], "malformed token"},
		{"padded", good + "==", "malformed token"},
		{"user id", good, "claim sub is not a user id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.verify(tt.token)
			if err == nil || err.Error() != "jwt rejected: "+tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			for _, p := range append(strings.Split(tt.token, "."), marker) {
				if len(p) > 3 && strings.Contains(err.Error(), p) {
					t.Errorf("error %q contains token data %q", err, p)
				}
			}
		})
	}
}

func TestJWTConfigDefaults(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name                   string
		cfg                    JWTConfig
		signer, sidClaim, user string
	}{
		{"verify only: no signer, no session claim", JWTConfig{Keys: []JWTKey{{ID: "k", Algorithm: "EdDSA", VerifyKey: edKey.Public()}}, Issuer: "https://idp.example", Audience: "panel"}, "", "", "sub"},
		{"first key with a SignKey signs, and writes sid", JWTConfig{Keys: []JWTKey{
			{ID: "old", Algorithm: "HS256", VerifyKey: claimTestSecret},
			{ID: "new", Algorithm: "EdDSA", SignKey: edKey},
		}}, "new", "sid", "sub"},
		{"claim names kept", JWTConfig{Keys: []JWTKey{{ID: "k", Algorithm: "EdDSA", SignKey: edKey}}, SessionIDClaim: "session", UserIDClaim: "uid"}, "k", "session", "uid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.cfg.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			if c.SigningKeyID != tt.signer || c.SessionIDClaim != tt.sidClaim || c.UserIDClaim != tt.user || c.Leeway != DefaultJWTLeeway {
				t.Errorf("got signer %q, session claim %q, user claim %q, leeway %v", c.SigningKeyID, c.SessionIDClaim, c.UserIDClaim, c.Leeway)
			}
			v, err := newJWTVerifier(&c)
			if err != nil {
				t.Fatal(err)
			}
			if v.canSign() != (tt.signer != "") {
				t.Errorf("canSign = %v", v.canSign())
			}
		})
	}
	if _, err := newJWTVerifier(&JWTConfig{Keys: []JWTKey{{ID: "k"}}}); err == nil {
		t.Error("newJWTVerifier took a config that skipped withDefaults")
	}
}

func TestJWTConfigRefused(t *testing.T) {
	key := []JWTKey{{ID: "k", Algorithm: "HS256", VerifyKey: claimTestSecret}}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name string
		cfg  JWTConfig
		want string
	}{
		{"no keys", JWTConfig{}, "set one"},
		// Tokens the Guard does not sign are someone else's: an issuer's
		// token for another application must not open a session here.
		{"verify only, no issuer", JWTConfig{Keys: key, Audience: "panel"}, "JWT.Issuer is required"},
		{"verify only, no audience", JWTConfig{Keys: key, Issuer: "https://idp.example"}, "JWT.Audience is required"},
		{"audience and any audience", JWTConfig{Keys: key, Issuer: "https://idp.example", Audience: "panel", AnyAudience: true}, "both set"},
		{"a signer's audience and any audience", JWTConfig{Keys: []JWTKey{{ID: "k", Algorithm: "EdDSA", SignKey: edKey}}, Audience: "panel", AnyAudience: true}, "both set"},
		{"keys and a JWKS", JWTConfig{Keys: key, JWKS: &JWKS{}}, "not both"},
		{"signing key with a JWKS", JWTConfig{JWKS: &JWKS{}, SigningKeyID: "k"}, "holds no signing key"},
		{"JWKS not from NewJWKS", JWTConfig{JWKS: &JWKS{}}, "not built by NewJWKS"},
		{"signing key without SignKey", JWTConfig{Keys: key, SigningKeyID: "k"}, "has no SignKey"},
		{"bad user claim", JWTConfig{Keys: key, UserIDClaim: "user id"}, "UserIDClaim"},
		{"bad tenant claim", JWTConfig{Keys: key, TenantIDClaim: `"tid"`}, "TenantIDClaim"},
		{"tenant claim is the user claim", JWTConfig{Keys: key, TenantIDClaim: "sub"}, "must differ"},
		{"session claim is the user claim", JWTConfig{Keys: key, SessionIDClaim: "sub"}, "must differ"},
		{"bad required claim", JWTConfig{Keys: key, RequiredClaims: []string{""}}, "RequiredClaims[0]"},
		{"exp required and allowed absent", JWTConfig{Keys: key, RequiredClaims: []string{"exp"}, AllowNoExpiry: true}, "AllowNoExpiry"},
		{"negative leeway", JWTConfig{Keys: key, Leeway: -time.Second}, "Leeway"},
		{"ed25519 key for RS256", JWTConfig{Keys: []JWTKey{{ID: "k", Algorithm: "RS256", VerifyKey: ed25519.PublicKey(make([]byte, 32))}}}, "does not fit RS256"},
		{"short ed25519 key", JWTConfig{Keys: []JWTKey{{ID: "k", Algorithm: "EdDSA", VerifyKey: ed25519.PublicKey(make([]byte, 8))}}}, "malformed ed25519"},
		{"short ed25519 private key", JWTConfig{Keys: []JWTKey{{ID: "k", Algorithm: "EdDSA", SignKey: ed25519.PrivateKey(make([]byte, 8))}}}, "want ed25519.PrivateKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.withDefaults()
			if err == nil || !strings.HasPrefix(err.Error(), "middleware: config: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

// TestJWTSignWritesMappedClaims: a minted token carries the configured claim
// names, the tenant only when there is one, and verifies with its own config.
func TestJWTSignWritesMappedClaims(t *testing.T) {
	const sid = "6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e"
	for _, tenant := range []int64{0, 7} {
		v := claimVerifier(t, func(c *JWTConfig) {
			c.Keys[0] = JWTKey{ID: "k", Algorithm: "HS256", SignKey: claimTestSecret}
			c.TenantIDClaim, c.UserIDClaim, c.Issuer = "tid", "uid", "https://app.example"
		})
		now := time.Now()
		tok, err := v.sign(sid, 42, tenant, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var m jwt.MapClaims
		if _, _, err := jwt.NewParser().ParseUnverified(tok, &m); err != nil {
			t.Fatal(err)
		}
		_, hasTid := m["tid"]
		if m["uid"] != "42" || m["sid"] != sid || hasTid != (tenant > 0) || m["iss"] != "https://app.example" || m["aud"] != nil {
			t.Errorf("tenant %d: claims %v", tenant, m)
		}
		got, err := v.verify(tok)
		want := jwtClaims{UserID: 42, TenantID: tenant, HasTenant: tenant > 0, SessionID: sid, Expires: now.Truncate(time.Second).Add(time.Hour)}
		if err != nil || !got.Expires.Equal(want.Expires) || !got.IssuedAt.Equal(now.Truncate(time.Second)) {
			t.Errorf("tenant %d: verify = %+v, %v; want Expires %v, IssuedAt %v", tenant, got, err, want.Expires, now.Truncate(time.Second))
		}
		got.Expires, want.Expires, got.IssuedAt = time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("tenant %d: verify = %+v, %v", tenant, got, err)
		}
	}
	if _, err := claimVerifier(t, nil).sign(sid, 42, 0, time.Now(), time.Hour); err == nil {
		t.Error("a verify-only config signed a token")
	}
}

func TestJWKSConfigDefaults(t *testing.T) {
	c, err := JWKSConfig{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.RefreshInterval != 15*time.Minute || c.UnknownKIDInterval != time.Minute || c.FetchTimeout != 10*time.Second ||
		c.Client == nil || c.Logger == nil {
		t.Errorf("defaults: %+v", c)
	}
	if l, ok := c.Client.Transport.(limitBody); !ok {
		t.Errorf("the client's responses are not capped: %T", c.Client.Transport)
	} else if _, ok := l.base.(httpsOnly); !ok {
		t.Errorf("the client's redirects are not held to https: %T", l.base)
	}
}
