package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// ExampleNew_scs moves an scs application onto sessionguard: scs keeps its
// data (flash messages, form state) in PostgreSQL next to the sessions table,
// and every protected request is checked against that table. The same Guard
// answers API routes with JSON and pages with a redirect (WithDeny). It needs
// a database (DATABASE_URL), so it is compiled but not run.
func ExampleNew_scs() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	// Migrations 022 onwards, including 026 (sessionguard_scs_data). Apps
	// with goose, golang-migrate or tern run schema.Goose (etc.) instead.
	if err := schema.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}
	sessions, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	scsData, err := pgstore.NewSCSStore(sessions, pgstore.SCSConfig{CleanupInterval: 5 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	go scsData.Run(ctx) // deletes the expired data of anonymous sessions

	sm := scs.New()
	sm.Store = scsData
	sm.HashTokenInStore = true  // the store sees SHA-256(token), as the sessions table does
	sm.IdleTimeout = 0          // sessionguard keeps the idle timeout, without a write per request
	sm.Lifetime = 8 * time.Hour // the absolute timeout of a signed-in session
	sm.Cookie.Name = "__Host-session"
	sm.Cookie.Secure = true
	sm.Cookie.SameSite = http.SameSiteLaxMode

	guard, err := middleware.New(middleware.Config{
		SCS:         sm,
		Store:       sessions,
		AppType:     sessionguard.ControlPanel,
		IdleTimeout: 4 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	// Pages: a refused request goes back to the sign-in page, which says
	// why from ?reason= (nothing is written for a refused request).
	pages := guard.WithDeny(func(w http.ResponseWriter, r *http.Request, err error) {
		var re *middleware.RefusalError
		if !errors.As(err, &re) || re.Status != http.StatusUnauthorized {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/login?reason="+url.QueryEscape(re.Reason), http.StatusSeeOther)
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, signedOutMessage(r.URL.Query().Get("reason"))) // and the form
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		userID := int64(42) // the user whose credentials r carries, once checked
		if _, _, err := guard.SignIn(w, r, middleware.SignIn{UserID: userID}); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		sm.Put(r.Context(), "flash", "Welcome back")
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	})
	mux.Handle("GET /account", pages.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		fmt.Fprintf(w, "user %d. %s", s.UserID, sm.PopString(r.Context(), "flash"))
	})))
	// "Your sessions" (JSON refusals for the API): list them and end one
	// (the data goes with it).
	mux.Handle("GET /api/sessions", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		list, err := sessions.ListActive(r.Context(), s.UserID)
		if err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		for _, info := range list {
			fmt.Fprintf(w, "%s %s %s\n", info.ID, info.IP, info.LastActivityAt.Format(time.RFC3339))
		}
	})))
	mux.Handle("POST /account/sessions/{id}/end", pages.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		if _, err := sessions.RevokeUserSession(r.Context(), s.UserID, r.PathValue("id"), sessionguard.ReasonLogout); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/account/sessions", http.StatusSeeOther)
	})))
	mux.Handle("POST /logout", pages.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = guard.SignOut(w, r) // a failure is logged; the scs session is destroyed anyway
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})))

	// The Guard's LoadAndSave outside: scs's, minus the store lookup of a
	// cookie that cannot be an scs token; the Guard reads the token of the
	// scs session it loaded.
	log.Fatal(http.ListenAndServe(":8080", guard.LoadAndSave(mux)))
}

// signedOutMessage is what the sign-in page shows for ?reason=.
func signedOutMessage(reason string) string {
	switch reason {
	case middleware.ErrIdleTimeout.Reason:
		return "You were signed out because you were inactive."
	case middleware.ErrAbsoluteTimeout.Reason:
		return "Your session reached its maximum length. Please sign in again."
	case middleware.ErrRevoked.Reason:
		return "You were signed out."
	}
	return "Please sign in."
}

// ExampleGuard_SignIn_scs signs in, makes a request and signs out with scs.
// In an application the stores are pgstore.SCSStore and pgstore.Store, as in
// ExampleNew_scs; here they are scs's memstore and an in-memory fake.
func ExampleGuard_SignIn_scs() {
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	sm.HashTokenInStore = true
	sm.Lifetime = 8 * time.Hour
	sm.Cookie.Name = "__Host-session"
	sm.Cookie.Secure = true

	guard, err := middleware.New(middleware.Config{
		SCS:     sm,
		Store:   newFakeStore(),
		AppType: sessionguard.ControlPanel,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := guard.SignIn(w, r, middleware.SignIn{UserID: 42}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		sm.Put(r.Context(), "flash", "Welcome back")
	})
	mux.Handle("GET /account", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		fmt.Fprintf(w, "user %d. %s", s.UserID, sm.PopString(r.Context(), "flash"))
	})))
	mux.Handle("POST /logout", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = guard.SignOut(w, r)
	})))
	app := guard.LoadAndSave(mux)

	send := func(method, path, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "__Host-session", Value: cookie})
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		return rec
	}

	login := send("POST", "/login", "")
	cookie := login.Result().Cookies()[0]
	fmt.Println("login:", login.Code, cookie.Name, cookie.Secure, cookie.HttpOnly)
	account := send("GET", "/account", cookie.Value)
	fmt.Println("account:", account.Code, account.Body.String())
	logout := send("POST", "/logout", cookie.Value)
	fmt.Println("logout:", logout.Code, "cookie deleted:", logout.Result().Cookies()[0].MaxAge < 0)
	replay := send("GET", "/account", cookie.Value)
	fmt.Println("replayed cookie:", replay.Code, strings.TrimSpace(replay.Body.String()))
	// Output:
	// login: 200 __Host-session true true
	// account: 200 user 42. Welcome back
	// logout: 200 cookie deleted: true
	// replayed cookie: 401 {"error":"session_invalid","reason":"revoked","end_reason":"logout"}
}
