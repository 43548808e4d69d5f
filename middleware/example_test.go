package middleware_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// ExampleGuard_Middleware protects a control-panel route. In an application
// the store is pgstore.New(pool); here it is an in-memory fake.
func ExampleGuard_Middleware() {
	guard, err := middleware.New(middleware.Config{
		Store:   newFakeStore(),
		AppType: sessionguard.ControlPanel,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /dashboard", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		fmt.Fprintf(w, "hello user %d", s.UserID)
	})))

	// Without a session: 401.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/dashboard", nil))
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))

	// Sign in (after checking a password), then use the cookie.
	signin := httptest.NewRecorder()
	if _, _, err := guard.SignIn(signin, httptest.NewRequest("POST", "/login", nil), middleware.SignIn{UserID: 42}); err != nil {
		panic(err)
	}
	req := httptest.NewRequest("GET", "/dashboard", nil)
	req.AddCookie(signin.Result().Cookies()[0])
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	fmt.Println("idle seconds left:", rec.Header().Get("X-Session-Idle-Remaining"))
	// Output:
	// 401 {"error":"session_invalid","reason":"missing"}
	// 200 hello user 42
	// idle seconds left: 14400
}

// ExampleGuard_PeekMiddleware serves the page's "how long is left?" poll
// without extending the session.
func ExampleGuard_PeekMiddleware() {
	store := newFakeStore()
	guard, _ := middleware.New(middleware.Config{Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler)})
	token, _, _ := guard.SignIn(nil, nil, middleware.SignIn{UserID: 42}) // a bearer client

	poll := guard.PeekMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	store.advance(3*time.Hour + 56*time.Minute) // the user has been away for 3h56m

	req := httptest.NewRequest("GET", "/session/status", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	poll.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("X-Session-Idle-Remaining"), rec.Header().Get("X-Session-Warning-Threshold"))
	// Output: 204 240 300
}

// ExampleGuard_Authenticate uses the decision without the middleware.
func ExampleGuard_Authenticate() {
	guard, _ := middleware.New(middleware.Config{Store: newFakeStore(), Logger: slog.New(slog.DiscardHandler)})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer not-a-real-token")
	_, err := guard.Authenticate(req)
	fmt.Println(errors.Is(err, middleware.ErrInvalidToken))
	// Output: true
}

// ExampleGuard_SignOut ends the session and clears the cookie.
func ExampleGuard_SignOut() {
	guard, _ := middleware.New(middleware.Config{Store: newFakeStore(), AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler)})
	token, _, _ := guard.SignIn(nil, nil, middleware.SignIn{UserID: 42})

	logout := guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := guard.SignOut(w, r); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}))
	req := httptest.NewRequest("POST", "/logout", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-session", Value: token})
	rec := httptest.NewRecorder()
	logout.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Set-Cookie"))

	_, err := guard.Authenticate(req)
	fmt.Println(err)
	// Output:
	// 303 __Host-session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax
	// middleware: session refused: revoked (logout)
}

// ExampleNew_jwt configures JWT mode with key rotation: "2026-02" signs new
// tokens, "2026-01" still verifies the tokens it signed.
func ExampleNew_jwt() {
	newKey := []byte("a 32-byte or longer secret, new.") // from a secret store, not source code
	oldKey := []byte("a 32-byte or longer secret, old.")
	_, err := middleware.New(middleware.Config{
		Store:   newFakeStore(),
		AppType: sessionguard.ControlPanel,
		JWT: &middleware.JWTConfig{
			Keys: []middleware.JWTKey{
				{ID: "2026-02", Algorithm: "HS256", SignKey: newKey},
				{ID: "2026-01", Algorithm: "HS256", VerifyKey: oldKey},
			},
			Issuer:   "https://panel.example.com",
			Audience: "panel",
		},
	})
	fmt.Println(err)
	// Output: <nil>
}

// ExampleConfig_tenant protects a tenant app whose routes carry the tenant.
func ExampleConfig_tenant() {
	store := newFakeStore()
	guard, _ := middleware.New(middleware.Config{
		Store:   store,
		AppType: sessionguard.TenantApp,
		Tenant: func(r *http.Request) (int64, error) {
			var id int64
			_, err := fmt.Sscan(r.PathValue("tenant"), &id)
			return id, err
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	token, _, _ := guard.SignIn(nil, nil, middleware.SignIn{UserID: 5, TenantID: 7})

	mux := http.NewServeMux()
	mux.Handle("/t/{tenant}/", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	for _, path := range []string{"/t/7/orders", "/t/8/orders"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Printf("%s %d %q\n", path, rec.Code, rec.Header().Get("X-Session-End-Reason"))
	}
	// Output:
	// /t/7/orders 200 ""
	// /t/8/orders 403 "wrong_tenant"
}
