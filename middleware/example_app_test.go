package middleware_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// Example wires sessionguard into an application: migrate the schema, build
// the store over the application's own pool, and guard the routes. It is the
// snippet of the README. (It compiles but does not run here: it needs a
// database and listens on a port.)
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := schema.Migrate(ctx, pool); err != nil { // needs the users and tenants tables
		log.Fatal(err)
	}
	store, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(middleware.Config{Store: store, AppType: sessionguard.ControlPanel})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		userID, ok := checkPassword(r) // the application's own credential check
		if !ok {
			http.Error(w, "wrong email or password", http.StatusUnauthorized)
			return
		}
		// A brand-new token, a sessions row, and the __Host-session cookie.
		if _, _, err := guard.SignIn(w, r, middleware.SignIn{UserID: userID}); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.Handle("GET /dashboard", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		fmt.Fprintf(w, "signed in as user %d; %v before the idle sign-out", s.UserID, s.IdleRemaining)
	})))
	// The page's "how long is left?" poll: answered, never extended.
	mux.Handle("GET /api/session", guard.PeekMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent) // the X-Session-* headers carry the answer
	})))
	mux.Handle("POST /logout", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := guard.SignOut(w, r); err != nil { // revoke_reason "logout", cookie cleared
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})))
	// When the password changes: end every other session of the user.
	// store.RevokeAllExcept(ctx, userID, currentSession.ID, sessionguard.ReasonPasswordChange)

	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}

func checkPassword(*http.Request) (userID int64, ok bool) { return 0, false }
