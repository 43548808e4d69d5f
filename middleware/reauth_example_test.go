package middleware_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// ExampleGuard_Require asks for a password entered in the last ten minutes
// before a password change. A bearer client that falls short gets RFC 9470's
// challenge; after Reauthenticate (the application checked the password
// again) it uses the new token. In an application the store is
// pgstore.New(pool); here it is an in-memory fake.
func ExampleGuard_Require() {
	store := newFakeStore()
	guard, _ := middleware.New(middleware.Config{Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.Handle("POST /account/password", guard.Require(middleware.Requirement{MaxAge: 10 * time.Minute},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "password changed") })))
	mux.Handle("POST /account/reauthenticate", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// … check the password in the request first …
		token, _, err := guard.Reauthenticate(w, r, middleware.Reauthentication{AMR: []string{"pwd"}})
		if err != nil {
			middleware.DenyJSON(w, r, err)
			return
		}
		fmt.Fprint(w, token) // a bearer client's new token; a cookie client gets a new cookie instead
	})))
	call := func(path, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		return rec
	}

	token, _, _ := guard.SignIn(nil, nil, middleware.SignIn{UserID: 42})
	store.advance(15 * time.Minute)
	rec := call("/account/password", token)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	fmt.Println(strings.TrimSpace(rec.Body.String()))

	fresh := call("/account/reauthenticate", token).Body.String()
	fmt.Println(call("/account/password", token).Code, "with the old token")
	fmt.Println(call("/account/password", fresh).Body.String())
	// Output:
	// 401 Bearer realm="sessionguard", error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=600
	// {"error":"insufficient_user_authentication","reason":"reauthentication_required","max_age":600}
	// 401 with the old token
	// password changed
}
