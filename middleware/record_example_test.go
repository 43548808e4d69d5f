package middleware_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// ExampleGuard_Record_jwks is the tenant app of a team whose users sign in
// at its own identity provider: EdDSA JWTs with "sub" and "tid", no "sid",
// no "aud", keys published as a JWKS. The Guard holds no private key; the
// app records each token the provider hands out, and from then on the
// token (as the session cookie or a bearer token) answers to its row.
func ExampleGuard_Record_jwks() {
	// The identity provider, in process: its own key and JWKS endpoint.
	_, idpKey, _ := ed25519.GenerateKey(rand.Reader)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := base64.RawURLEncoding.EncodeToString(idpKey.Public().(ed25519.PublicKey))
		fmt.Fprintf(w, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"idp-1","alg":"EdDSA","use":"sig","x":%q}]}`, x)
	}))
	defer idp.Close()
	issue := func(userID, tenantID int64) string {
		t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
			"iss": "https://idp.example", "sub": fmt.Sprint(userID), "tid": tenantID,
			"exp": time.Now().Add(time.Hour).Unix(),
		})
		t.Header["kid"] = "idp-1"
		s, _ := t.SignedString(idpKey)
		return s
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop() // ends the key set's background refresh
	// idp.URL is the provider's JWKS URL (https://…/.well-known/jwks.json).
	jwks, err := middleware.NewJWKS(ctx, idp.URL, middleware.JWKSConfig{})
	if err != nil {
		panic(err)
	}
	guard, err := middleware.New(middleware.Config{
		Store:   newFakeStore(), // pgstore.New(pool, pgstore.Config{}) in an app
		AppType: sessionguard.TenantApp,
		Tenant:  func(*http.Request) (int64, error) { return 7, nil }, // e.g. from /t/{tenant}/
		Logger:  slog.New(slog.DiscardHandler),
		JWT:     &middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example", TenantIDClaim: "tid"},
	})
	if err != nil {
		panic(err)
	}

	// The provider's sign-in callback hands the app a token: record it. The
	// user and tenant come from its claims; the cookie ends with its exp.
	login := httptest.NewRecorder()
	if _, err := guard.Record(login, httptest.NewRequest("POST", "/t/acme/login", nil), issue(42, 7), middleware.SignIn{}); err != nil {
		panic(err)
	}
	cookie := login.Result().Cookies()[0]
	fmt.Println("cookie:", cookie.Name, cookie.MaxAge <= 3600)

	r := httptest.NewRequest("GET", "/t/acme/api/me", nil)
	r.AddCookie(cookie)
	s, err := guard.Authenticate(r)
	fmt.Println("user", s.UserID, "tenant", s.TenantID, err)

	// A token of another tenant is refused by its claim, before any query.
	r = httptest.NewRequest("GET", "/t/acme/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+issue(42, 8))
	_, err = guard.Authenticate(r)
	fmt.Println(err)
	// Output:
	// cookie: __Host-session true
	// user 42 tenant 7 <nil>
	// middleware: session refused: wrong_tenant
}

// ExampleGuard_Record opens the session of a token the Guard did not mint:
// here an opaque token from another service of the app (the same works for
// an identity provider's JWT, verified through Config.JWT first). The row
// gets the Guard's timeouts, client address and User-Agent; the token is
// accepted from then on, as a cookie or a bearer token.
func ExampleGuard_Record() {
	store := newFakeStore() // pgstore.New(pool, pgstore.Config{}) in an app
	guard, err := middleware.New(middleware.Config{
		Store:   store,
		AppType: sessionguard.ControlPanel,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}

	// The other service's token: 32 random bytes, base64url (43 characters).
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)

	login := httptest.NewRecorder()
	if _, err := guard.Record(login, httptest.NewRequest("POST", "/login", nil), token, middleware.SignIn{UserID: 42}); err != nil {
		panic(err)
	}
	c := login.Result().Cookies()[0]
	fmt.Println("cookie:", c.Name, c.Value == token, c.MaxAge)

	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	s, err := guard.Authenticate(r)
	fmt.Println("user", s.UserID, err)
	// Output:
	// cookie: __Host-session true 28800
	// user 42 <nil>
}
