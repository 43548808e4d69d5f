package middleware_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// ExampleNewJWKS verifies the JWTs of an identity provider the app does not
// control. The Guard needs the provider's JWKS URL, its issuer and the names
// of its claims; no private key. The provider's tokens carry "sub" and "tid"
// but no "sid" and no "aud". The session row is found by the SHA-256 of the
// token, as for any token.
func ExampleNewJWKS() {
	// The identity provider: its own Ed25519 key, published as a JWKS.
	_, idpKey, _ := ed25519.GenerateKey(rand.Reader)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := base64.RawURLEncoding.EncodeToString(idpKey.Public().(ed25519.PublicKey))
		fmt.Fprintf(w, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"idp-1","alg":"EdDSA","use":"sig","x":%q}]}`, x)
	}))
	defer idp.Close()

	ctx, stop := context.WithCancel(context.Background())
	defer stop() // ends the background refresh
	// In production: "https://idp.example/.well-known/jwks.json".
	jwks, err := middleware.NewJWKS(ctx, idp.URL, middleware.JWKSConfig{})
	if err != nil {
		panic(err)
	}

	store := newFakeStore() // pgstore.New(pool, pgstore.Config{}) in an app
	guard, err := middleware.New(middleware.Config{
		Store:   store,
		AppType: sessionguard.TenantApp,
		Tenant:  func(*http.Request) (int64, error) { return 7, nil }, // e.g. from the path
		Logger:  slog.New(slog.DiscardHandler),
		JWT: &middleware.JWTConfig{
			JWKS:          jwks,
			Issuer:        "https://idp.example",
			TenantIDClaim: "tid",
			// The user id is in "sub" (UserIDClaim); "exp" is required.
		},
	})
	if err != nil {
		panic(err)
	}

	// The provider signs a user in and hands the app a token…
	idpToken := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": "https://idp.example", "sub": "42", "tid": 7,
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	idpToken.Header["kid"] = "idp-1"
	token, _ := idpToken.SignedString(idpKey)
	// …and the app opens its session row (with the Guard's Record method;
	// here the fake store takes it directly).
	store.seed(token, sessionguard.NewSession{UserID: 42, TenantID: 7, AppType: sessionguard.TenantApp})

	r := httptest.NewRequest("GET", "/t/acme/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	s, err := guard.Authenticate(r)
	fmt.Println("user", s.UserID, "tenant", s.TenantID, err)

	// A token the provider did not sign is refused before any query.
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := idpToken.SignedString(otherKey)
	r.Header.Set("Authorization", "Bearer "+forged)
	calls := store.totalCalls()
	_, err = guard.Authenticate(r)
	fmt.Println(errors.Is(err, middleware.ErrInvalidToken), "queries:", store.totalCalls()-calls)
	// Output:
	// user 42 tenant 7 <nil>
	// true queries: 0
}
