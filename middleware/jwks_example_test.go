package middleware_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// ExampleNewJWKS verifies the JWTs of an identity provider the app does not
// control. The Guard needs the provider's JWKS URL, its issuer and the names
// of its claims; no private key. The app records each token the provider
// hands out, and from then on the token (as the session cookie or a bearer
// token) answers to its row. A token the provider did not sign, or one for
// another tenant, is refused before any query.
func ExampleNewJWKS() {
	idp := startExampleIdP() // the provider, in process
	defer idp.Close()

	ctx, stop := context.WithCancel(context.Background())
	defer stop() // ends the background refresh
	// idp.URL is the provider's JWKS URL (https://…/.well-known/jwks.json).
	jwks, err := middleware.NewJWKS(ctx, idp.URL, middleware.JWKSConfig{})
	if err != nil {
		panic(err)
	}
	store := newFakeStore() // pgstore.New(pool, pgstore.Config{}) in an app
	guard, err := middleware.New(middleware.Config{
		Store:   store,
		AppType: sessionguard.TenantApp,
		Tenant:  func(*http.Request) (int64, error) { return 7, nil }, // e.g. from /t/{tenant}/
		Logger:  slog.New(slog.DiscardHandler),
		JWT: &middleware.JWTConfig{
			JWKS:          jwks,
			Issuer:        "https://idp.example",
			Audience:      "tenant-app", // the provider's client id of this app
			TenantIDClaim: "tid",
			// The user id is in "sub" (UserIDClaim); "exp" is required.
		},
	})
	if err != nil {
		panic(err)
	}

	// The provider's sign-in callback hands the app a token: record it. The
	// user and tenant come from its claims; the cookie ends with its exp.
	token := idp.signIn(42, 7)
	login := httptest.NewRecorder()
	if _, err := guard.Record(login, httptest.NewRequest("POST", "/t/acme/login", nil), token, middleware.SignIn{}); err != nil {
		panic(err)
	}

	r := httptest.NewRequest("GET", "/t/acme/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	s, err := guard.Authenticate(r)
	fmt.Println("user", s.UserID, "tenant", s.TenantID, err)

	// Forged, and for another tenant: refused before any query.
	calls := store.totalCalls()
	for _, refused := range []string{idp.forge(42, 7), idp.signIn(42, 8)} {
		r.Header.Set("Authorization", "Bearer "+refused)
		_, err = guard.Authenticate(r)
		fmt.Println(err)
	}
	fmt.Println("queries:", store.totalCalls()-calls)
	// Output:
	// user 42 tenant 7 <nil>
	// middleware: session refused: invalid
	// middleware: session refused: wrong_tenant
	// queries: 0
}
