package middleware_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// issuer is an identity provider the library does not control: it signs
// tokens with its own keys and publishes the public halves as a JWKS.
type issuer struct {
	rsa *rsa.PrivateKey
	ed  ed25519.PrivateKey

	mu       sync.Mutex
	keys     []map[string]any // the JWKS served
	status   int              // non-zero: answer with this status instead
	requests atomic.Int64
	srv      *httptest.Server
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{rsa: rsaKey(), ed: ed}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.requests.Add(1)
		is.mu.Lock()
		status, body := is.status, map[string]any{"keys": is.keys}
		is.mu.Unlock()
		if status != 0 {
			http.Error(w, "down", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(is.srv.Close)
	return is
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rsaJWK and edJWK are JWKs written by hand, independent of the JWKS client.
func rsaJWK(kid, alg string, k *rsa.PublicKey) map[string]any {
	m := map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

func edJWK(kid string, k ed25519.PublicKey) map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig", "x": b64(k)}
}

func (is *issuer) serve(keys ...map[string]any) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys, is.status = keys, 0
}

func (is *issuer) fail(status int) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.status = status
}

// waitRequests waits until the endpoint has been asked n times in all.
func (is *issuer) waitRequests(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for is.requests.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the JWKS was fetched %d times, want %d", is.requests.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// idpClaims are the claims of the issuer's tokens: its own names (tid), no
// sid, no aud; a jti keeps two tokens of the same second apart.
func idpClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": "https://idp.example", "aud": "tenant-app", "sub": "42", "tid": 7, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": rand.Text()}
}

// jwksGuard is a Guard that verifies the issuer's tokens, with a logger
// that keeps the debug lines (the refusal causes).
func jwksGuard(t *testing.T, st sessionguard.Store, jwks *middleware.JWKS) (*middleware.Guard, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	g := newGuard(t, st, func(c *middleware.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.JWT = &middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid"}
	})
	return g, logs
}

func newJWKS(t *testing.T, ctx context.Context, url string, c middleware.JWKSConfig) *middleware.JWKS {
	t.Helper()
	if c.Logger == nil {
		c.Logger = discard
	}
	j, err := middleware.NewJWKS(ctx, url, c)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// accepted authenticates token against a store holding its row.
func accepted(t *testing.T, g *middleware.Guard, st *fakeStore, token string) error {
	t.Helper()
	st.seed(token, sessionguard.NewSession{UserID: 42, TenantID: 7, AppType: sessionguard.ControlPanel})
	before := st.totalCalls()
	s, err := g.Authenticate(request(nil, "Bearer "+token))
	if err == nil && s.UserID != 42 {
		t.Fatalf("session of user %d, want 42", s.UserID)
	}
	if err != nil && st.totalCalls() != before {
		t.Errorf("a refused token cost %d store calls", st.totalCalls()-before)
	}
	return err
}

// TestJWKSExternalTokens: RS256 and EdDSA tokens of another issuer, with
// its claim names, no sid and no aud, verify against its JWKS; forged,
// confused and foreign tokens are refused before the store, and the log
// names why.
func TestJWKSExternalTokens(t *testing.T) {
	is := newIssuer(t)
	is.serve(rsaJWK("rsa-1", "RS256", &is.rsa.PublicKey), edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{})
	st := newFakeStore()
	g, logs := jwksGuard(t, st, jwks)

	pubDER, err := x509.MarshalPKIXPublicKey(&is.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(jwt.MapClaims)) jwt.MapClaims { c := idpClaims(); f(c); return c }
	tests := []struct {
		name  string
		token func(t *testing.T) string
		cause string // "" = accepted
	}{
		{"RS256", func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, idpClaims()) }, ""},
		{"EdDSA", func(t *testing.T) string { return sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims()) }, ""},
		{"tenant as a string", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, mod(func(c jwt.MapClaims) { c["tid"] = "7" }))
		}, ""},
		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, "rsa-1", jwt.UnsafeAllowNoneSignatureType, idpClaims())
		}, "alg not allowed"},
		{"HS256 signed with the RSA public key (PEM)", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "rsa-1", rsaPEM, idpClaims())
		}, "alg not allowed"},
		{"HS256 signed with the RSA public key (DER)", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, "rsa-1", pubDER, idpClaims())
		}, "alg not allowed"},
		{"RS384 with an RS256 key", func(t *testing.T) string { return sign(t, jwt.SigningMethodRS384, "rsa-1", is.rsa, idpClaims()) }, "alg does not match the key"},
		{"RS256 naming the EdDSA key", func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, "ed-1", is.rsa, idpClaims()) }, "alg does not match the key"},
		{"forged: another RSA key", func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, "rsa-1", otherRSA, idpClaims()) }, "signature invalid"},
		{"no kid", func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, "", is.rsa, idpClaims()) }, "missing kid: a key set's token must name its key"},
		{"wrong issuer", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, mod(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }))
		}, "claim iss is not the configured issuer"},
		{"expired", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, mod(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))
		}, "claim exp: expired"},
		{"no exp", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, mod(func(c jwt.MapClaims) { delete(c, "exp") }))
		}, "missing claim exp"},
		{"tenant not an id", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, mod(func(c jwt.MapClaims) { c["tid"] = "acme" }))
		}, "claim tid is not a tenant id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token(t)
			err := accepted(t, g, st, token)
			if tt.cause == "" {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, logs)
				}
				return
			}
			if !errors.Is(err, middleware.ErrInvalidToken) {
				t.Fatalf("got %v, want ErrInvalidToken", err)
			}
			if want := fmt.Sprintf("cause=%q", "jwt rejected: "+tt.cause); !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %s:\n%s", want, logs)
			}
			if strings.Contains(logs.String(), token) {
				t.Error("the log holds the token")
			}
		})
	}
}

// TestJWKSRotation: a key the issuer adds verifies at once (one fetch, no
// restart); a key it removes is refused once the background refresh has run.
func TestJWKSRotation(t *testing.T) {
	is := newIssuer(t)
	_, ed2, _ := ed25519.GenerateKey(rand.Reader)
	is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{RefreshInterval: 50 * time.Millisecond, UnknownKIDInterval: time.Hour})
	st := newFakeStore()
	g, _ := jwksGuard(t, st, jwks)

	if err := accepted(t, g, st, sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims())); err != nil {
		t.Fatal(err)
	}
	is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)), edJWK("ed-2", ed2.Public().(ed25519.PublicKey)))
	if err := accepted(t, g, st, sign(t, jwt.SigningMethodEdDSA, "ed-2", ed2, idpClaims())); err != nil {
		t.Fatalf("the new key: %v", err)
	}

	is.serve(edJWK("ed-2", ed2.Public().(ed25519.PublicKey)))
	is.waitRequests(t, is.requests.Load()+2) // a whole refresh after the change
	if err := accepted(t, g, st, sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims())); !errors.Is(err, middleware.ErrInvalidToken) {
		t.Fatalf("the removed key: %v, want ErrInvalidToken", err)
	}
	if err := accepted(t, g, st, sign(t, jwt.SigningMethodEdDSA, "ed-2", ed2, idpClaims())); err != nil {
		t.Fatalf("the remaining key: %v", err)
	}
}

// TestJWKSUnknownKIDFetchesOnce: a burst of tokens with kids the issuer never
// published costs at most one fetch per UnknownKIDInterval, and no request
// waits for its turn.
func TestJWKSUnknownKIDFetchesOnce(t *testing.T) {
	is := newIssuer(t)
	is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{RefreshInterval: time.Hour, UnknownKIDInterval: time.Hour})
	st := newFakeStore()
	g, logs := jwksGuard(t, st, jwks)
	before := is.requests.Load()

	var wg sync.WaitGroup
	start := time.Now()
	for i := range 50 {
		wg.Go(func() {
			tok := sign(t, jwt.SigningMethodEdDSA, fmt.Sprintf("forged-%d", i), is.ed, idpClaims())
			if _, err := g.Authenticate(request(nil, "Bearer "+tok)); !errors.Is(err, middleware.ErrInvalidToken) {
				t.Errorf("unknown kid: %v", err)
			}
		})
	}
	wg.Wait()
	if n := is.requests.Load() - before; n != 1 {
		t.Errorf("%d fetches for 50 unknown kids, want 1", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("50 refusals took %v: requests waited for the rate limit", d)
	}
	if st.totalCalls() != 0 {
		t.Errorf("store calls = %d, want 0", st.totalCalls())
	}
	if !strings.Contains(logs.String(), `cause="jwt rejected: unknown kid"`) {
		t.Errorf("log lacks the cause:\n%s", logs)
	}
	if err := accepted(t, g, st, sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims())); err != nil {
		t.Errorf("the known key after the burst: %v", err)
	}
}

// TestJWKSEndpointDown: while the endpoint answers 500, and after it is
// gone, the last good keys keep verifying.
func TestJWKSEndpointDown(t *testing.T) {
	is := newIssuer(t)
	is.serve(rsaJWK("rsa-1", "RS256", &is.rsa.PublicKey))
	logs := &syncBuffer{}
	jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{
		RefreshInterval: 20 * time.Millisecond, UnknownKIDInterval: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	st := newFakeStore()
	g, _ := jwksGuard(t, st, jwks)
	token := func() string { return sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, idpClaims()) }

	is.fail(http.StatusInternalServerError)
	is.waitRequests(t, is.requests.Load()+3)
	if err := accepted(t, g, st, token()); err != nil {
		t.Fatalf("endpoint answering 500: %v", err)
	}
	if err := accepted(t, g, st, sign(t, jwt.SigningMethodRS256, "rsa-2", is.rsa, idpClaims())); !errors.Is(err, middleware.ErrInvalidToken) {
		t.Fatalf("unknown kid while down: %v", err)
	}
	if err := accepted(t, g, st, token()); err != nil {
		t.Fatalf("after a failed unknown-kid fetch: %v", err)
	}

	is.srv.Close()
	time.Sleep(100 * time.Millisecond) // several failed refreshes
	if err := accepted(t, g, st, token()); err != nil {
		t.Fatalf("endpoint gone: %v", err)
	}
	if !strings.Contains(logs.String(), "JWKS refresh failed; keeping the last good set") {
		t.Errorf("failed refreshes were not logged:\n%s", logs)
	}
}

// TestJWKSStops: the refresh ends with the context, and from then on the set
// verifies nothing (keys never refreshed could be withdrawn ones).
func TestJWKSStops(t *testing.T) {
	is := newIssuer(t)
	is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	ctx, cancel := context.WithCancel(t.Context())
	jwks := newJWKS(t, ctx, is.srv.URL, middleware.JWKSConfig{RefreshInterval: 10 * time.Millisecond})
	st := newFakeStore()
	g, logs := jwksGuard(t, st, jwks)
	tok := sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims())
	if err := accepted(t, g, st, tok); err != nil {
		t.Fatal(err)
	}
	cancel()
	time.Sleep(200 * time.Millisecond) // a fetch under way when ctx ended has ended too
	n := is.requests.Load()
	time.Sleep(100 * time.Millisecond)
	if is.requests.Load() != n {
		t.Error("the refresh goes on after the context ended")
	}
	tok = sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims())
	if err := accepted(t, g, st, tok); !errors.Is(err, middleware.ErrInvalidToken) || !strings.Contains(logs.String(), "key set stopped") {
		t.Fatalf("after stop: %v\n%s", err, logs)
	}
}

// TestJWKSAlgorithms: a JWK without "alg" verifies only algorithms on the
// allow-list, a JWK's own "alg" must also be on it when one is set, and
// keys not meant for signatures verify nothing.
func TestJWKSAlgorithms(t *testing.T) {
	is := newIssuer(t)
	encKey := rsaJWK("rsa-enc", "RS256", &is.rsa.PublicKey)
	encKey["use"] = "enc"
	// key_ops (RFC 7517 section 4.3) says what a key is for as well:
	// "verify" is what verifying a signature needs.
	encOpsKey := rsaJWK("rsa-enc-ops", "RS256", &is.rsa.PublicKey)
	delete(encOpsKey, "use")
	encOpsKey["key_ops"] = []string{"encrypt", "wrapKey"}
	verifyOpsKey := rsaJWK("rsa-verify-ops", "RS256", &is.rsa.PublicKey)
	delete(verifyOpsKey, "use")
	verifyOpsKey["key_ops"] = []string{"verify"}
	secret := []byte("a secret published by mistake, 32+ bytes")
	octKey := map[string]any{"kty": "oct", "kid": "oct", "alg": "HS256", "k": b64(secret)}
	priv := is.rsa
	privKey := rsaJWK("rsa-private", "RS256", &priv.PublicKey)
	for k, v := range map[string]*big.Int{"d": priv.D, "p": priv.Primes[0], "q": priv.Primes[1],
		"dp": priv.Precomputed.Dp, "dq": priv.Precomputed.Dq, "qi": priv.Precomputed.Qinv} {
		privKey[k] = b64(v.Bytes())
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	is.serve(rsaJWK("rsa-noalg", "", &is.rsa.PublicKey), rsaJWK("rsa-256", "RS256", &is.rsa.PublicKey), encKey,
		encOpsKey, verifyOpsKey, octKey, privKey, rsaJWK("rsa-1024", "RS256", &weak.PublicKey))
	tests := []struct {
		name  string
		algs  []string
		kid   string
		m     jwt.SigningMethod
		key   any // default is.rsa
		cause string
	}{
		{"no alg, no allow-list", nil, "rsa-noalg", jwt.SigningMethodRS256, nil, "alg not allowed"},
		{"no alg, allowed", []string{"RS256", "PS256"}, "rsa-noalg", jwt.SigningMethodPS256, nil, ""},
		{"no alg, not on the list", []string{"RS256"}, "rsa-noalg", jwt.SigningMethodPS256, nil, "alg not allowed"},
		{"alg on the list", []string{"RS256"}, "rsa-256", jwt.SigningMethodRS256, nil, ""},
		{"alg off the list", []string{"PS256"}, "rsa-256", jwt.SigningMethodPS256, nil, "alg does not match the key"},
		{"key's alg, list without it", []string{"PS256"}, "rsa-256", jwt.SigningMethodRS256, nil, "alg not allowed"},
		{"encryption key", nil, "rsa-enc", jwt.SigningMethodRS256, nil, "key is not for signatures"},
		{"encryption key by its key_ops", nil, "rsa-enc-ops", jwt.SigningMethodRS256, nil, "key is not for signatures"},
		{"verification key by its key_ops", nil, "rsa-verify-ops", jwt.SigningMethodRS256, nil, ""},
		{"symmetric key", nil, "oct", jwt.SigningMethodHS256, secret, "alg not allowed"},
		{"private key in the set", nil, "rsa-private", jwt.SigningMethodRS256, nil, "alg does not match the key"},
		{"RSA key below 2048 bits", nil, "rsa-1024", jwt.SigningMethodRS256, weak, "alg does not match the key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{Algorithms: tt.algs})
			st := newFakeStore()
			g, logs := jwksGuard(t, st, jwks)
			key := tt.key
			if key == nil {
				key = is.rsa
			}
			err := accepted(t, g, st, sign(t, tt.m, tt.kid, key, idpClaims()))
			if tt.cause == "" {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, logs)
				}
				return
			}
			if want := fmt.Sprintf("cause=%q", "jwt rejected: "+tt.cause); !errors.Is(err, middleware.ErrInvalidToken) || !strings.Contains(logs.String(), want) {
				t.Fatalf("got %v, want a refusal with %s:\n%s", err, want, logs)
			}
		})
	}
}

func TestNewJWKSRefused(t *testing.T) {
	is := newIssuer(t)
	is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	// Some issuers publish no "alg": with no
	// allow-list, none of their keys verifies anything.
	noAlg := newIssuer(t)
	noAlg.serve(rsaJWK("rsa-a", "", &noAlg.rsa.PublicKey), rsaJWK("rsa-b", "", &noAlg.rsa.PublicKey))
	down := newIssuer(t)
	down.fail(http.StatusInternalServerError)
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"keys":[],"pad":"%s"}`, strings.Repeat("x", middleware.MaxJWKSBytes))
	}))
	t.Cleanup(huge.Close)
	tests := []struct {
		name, url string
		cfg       middleware.JWKSConfig
		want      string
	}{
		{"plain http off loopback", "http://idp.example/jwks.json", middleware.JWKSConfig{}, "must be https"},
		{"relative URL", "/jwks.json", middleware.JWKSConfig{}, "not an absolute URL"},
		{"negative refresh", is.srv.URL, middleware.JWKSConfig{RefreshInterval: -time.Second}, "RefreshInterval"},
		{"negative unknown-kid interval", is.srv.URL, middleware.JWKSConfig{UnknownKIDInterval: -time.Second}, "UnknownKIDInterval"},
		{"negative timeout", is.srv.URL, middleware.JWKSConfig{FetchTimeout: -time.Second}, "FetchTimeout"},
		{"HMAC on the allow-list", is.srv.URL, middleware.JWKSConfig{Algorithms: []string{"HS256"}}, "not a public-key algorithm"},
		{"none on the allow-list", is.srv.URL, middleware.JWKSConfig{Algorithms: []string{"none"}}, "not a public-key algorithm"},
		{"first fetch fails", down.srv.URL, middleware.JWKSConfig{}, "500"},
		{"no key names its alg, no allow-list", noAlg.srv.URL, middleware.JWKSConfig{}, "JWKSConfig.Algorithms"},
		{"response too large", huge.URL, middleware.JWKSConfig{}, "MaxJWKSBytes"},
		{"https redirected to plain http", "https://idp.example/jwks.json", middleware.JWKSConfig{Client: &http.Client{Transport: redirectToHTTP{is}}}, "must be https"},
		// The key set is the URL's host's: a redirect elsewhere (an open
		// redirect on the issuer's host) would hand it to another.
		{"https redirected to another host", "https://idp.example/jwks.json",
			middleware.JWKSConfig{Client: &http.Client{Transport: redirectTo{is, "https://keys.evil.example/jwks.json"}}}, "another host"},
		{"https redirected to plain http on loopback", "https://idp.example/jwks.json",
			middleware.JWKSConfig{Client: &http.Client{Transport: redirectTo{is, "http://127.0.0.1:9/jwks.json"}}}, "another host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := middleware.NewJWKS(t.Context(), tt.url, tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), "middleware: JWKS: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewJWKS = %v, %v; want an error with %q", j, err, tt.want)
			}
		})
	}
	// The same set with the issuer's algorithm listed is taken.
	if _, err := middleware.NewJWKS(t.Context(), noAlg.srv.URL, middleware.JWKSConfig{Algorithms: []string{"RS256"}}); err != nil {
		t.Fatalf("NewJWKS of keys without alg, with Algorithms: %v", err)
	}
}

// A redirect on the key set URL's own scheme and host is followed, also
// when one of the two spells out the scheme's default port.
func TestNewJWKSFollowsARedirectOnItsHost(t *testing.T) {
	for _, tt := range []struct{ url, location string }{
		{"https://idp.example/jwks.json", "/keys/current.json"},
		{"https://idp.example:443/jwks.json", "https://idp.example/keys/current.json"},
		{"https://idp.example/jwks.json", "https://IDP.example:443/keys/current.json"},
	} {
		t.Run(tt.url+" to "+tt.location, func(t *testing.T) {
			is := newIssuer(t)
			is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
			jwks := newJWKS(t, t.Context(), tt.url,
				middleware.JWKSConfig{Client: &http.Client{Transport: redirectTo{is, tt.location}}})
			st := newFakeStore()
			g, _ := jwksGuard(t, st, jwks)
			if err := accepted(t, g, st, sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims())); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestJWKSVerifiedTokenMemo: a token the Guard verified before (and now
// answers from its memo) is refused once its key leaves the JWKS or is
// replaced under the same kid.
func TestJWKSVerifiedTokenMemo(t *testing.T) {
	for _, change := range []string{"removed", "replaced"} {
		t.Run(change, func(t *testing.T) {
			is := newIssuer(t)
			_, ed2, _ := ed25519.GenerateKey(rand.Reader)
			is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)), edJWK("ed-2", ed2.Public().(ed25519.PublicKey)))
			jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{RefreshInterval: 50 * time.Millisecond, UnknownKIDInterval: time.Hour})
			st := newFakeStore()
			g, _ := jwksGuard(t, st, jwks)
			token := sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims())
			if err := accepted(t, g, st, token); err != nil {
				t.Fatal(err)
			}
			again := func() error { _, err := g.Authenticate(request(nil, "Bearer "+token)); return err }
			if err := again(); err != nil {
				t.Fatalf("the same token again: %v", err)
			}
			if change == "removed" {
				is.serve(edJWK("ed-2", ed2.Public().(ed25519.PublicKey)))
			} else {
				is.serve(edJWK("ed-1", ed2.Public().(ed25519.PublicKey)))
			}
			is.waitRequests(t, is.requests.Load()+2) // a whole refresh after the change
			if err := again(); !errors.Is(err, middleware.ErrInvalidToken) {
				t.Fatalf("the same token after its key was %s: %v, want ErrInvalidToken", change, err)
			}
		})
	}
}

// redirectToHTTP is an issuer whose https key set URL redirects to plain
// http, where it serves is's keys.
type redirectToHTTP struct{ is *issuer }

func (rt redirectToHTTP) RoundTrip(r *http.Request) (*http.Response, error) {
	return redirectTo{rt.is, "http://keys.idp.example/jwks.json"}.RoundTrip(r)
}

// redirectTo is an issuer whose key set URL https://idp.example/… redirects
// to location, where it serves is's keys.
type redirectTo struct {
	is       *issuer
	location string
}

func (rt redirectTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Hostname() == "idp.example" && r.URL.Path == "/jwks.json" {
		return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {rt.location}},
			Body: http.NoBody, Request: r}, nil
	}
	served, err := http.Get(rt.is.srv.URL)
	if err != nil {
		return nil, err
	}
	served.Request = r
	return served, nil
}
