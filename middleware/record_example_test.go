package middleware_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http/httptest"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// ExampleGuard_Record opens the session of a token the Guard did not mint:
// here an opaque token from another service of the app (an identity
// provider's JWT works the same, verified through Config.JWT first: see
// ExampleNewJWKS). The row
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
