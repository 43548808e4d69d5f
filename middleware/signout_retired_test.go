package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// signOutRaces are the two ways a second tab's sign-out meets the first
// tab's re-authentication: its request carries the token the rotation has
// just retired, or Middleware checked the token just before the rotation
// and SignOut then uses the context's session.
var signOutRaces = []struct {
	name string
	path string
}{
	{"the request carries the retired token", "/signout"},
	{"rotated between the check and the sign-out", "/signout-after-reauth"},
}

// rowEnd is the sessions row of id: active, and the reason it ended.
func rowEnd(t *testing.T, db realDB, id string) (active bool, reason string) {
	t.Helper()
	var r *string
	if err := db.pool.QueryRow(context.Background(), "SELECT is_active, revoke_reason FROM sessions WHERE id = $1", id).Scan(&active, &r); err != nil {
		t.Fatal(err)
	}
	if r != nil {
		reason = *r
	}
	return active, reason
}

// withRaceRoutes puts in front of a's routes, inside the Guard's
// LoadAndSave, POST /reauth (reauthRoutes) and POST /<name>-after-reauth
// for each of then: a route behind Middleware that, once the request's
// session is checked, runs during (another tab's re-authentication) and
// then then[name].
func withRaceRoutes(a *scsApp, during func(), then map[string]http.HandlerFunc) {
	app := http.NewServeMux()
	app.Handle("POST /reauth", reauthRoutes(a.guard))
	for name, h := range then {
		app.Handle("POST /"+name+"-after-reauth", a.guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			during()
			h(w, r)
		})))
	}
	app.Handle("/", a.server.Config.Handler)
	a.server.Config.Handler = a.guard.LoadAndSave(app)
}

// TestSignOutWithARotatedOutToken: a tab whose token another tab's
// re-authentication has just rotated out signs the user out: the session
// ends with "logout" under its new token, which is then refused. Cookie and
// bearer, opaque and JWT, and scs; the token in the request, or the
// context's session checked just before the rotation. Before, SignOut
// ended nothing by the retired token: the session lived on under the new
// one, behind the cleared cookie.
func TestSignOutWithARotatedOutToken(t *testing.T) {
	t.Parallel()
	kinds := []struct {
		name   string
		jwt    bool
		bearer bool
	}{
		{"opaque cookie", false, false},
		{"opaque bearer", false, true},
		{"jwt cookie", true, false},
		{"jwt bearer", true, true},
	}
	for _, kind := range kinds {
		for _, race := range signOutRaces {
			t.Run(kind.name+", "+race.name, func(t *testing.T) {
				t.Parallel()
				db := newRealDB(t, pgstore.Config{})
				cfg := middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard}
				if kind.jwt {
					cfg.Tokens, cfg.JWT = middleware.JWTs, hmacJWT()
				}
				g, err := middleware.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				creds := withCookie
				if kind.bearer {
					creds = withBearer
				}
				old, signedIn, err := g.SignIn(nil, nil, middleware.SignIn{UserID: db.user})
				if err != nil {
					t.Fatal(err)
				}
				reauth := reauthRoutes(g)
				var fresh string
				var otherTab int // the status of the other tab's re-authentication
				reauthenticate := func() {
					rec := do(reauth, "POST", "/reauth", creds(old))
					otherTab, fresh = rec.Code, rec.Body.String()
				}
				signOut := func(w http.ResponseWriter, r *http.Request) {
					if err := g.SignOut(w, r); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
					}
				}
				mux := http.NewServeMux()
				mux.HandleFunc("POST /signout", signOut)
				mux.Handle("POST /signout-after-reauth", g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					reauthenticate()
					signOut(w, r)
				})))
				if race.path == "/signout" {
					reauthenticate()
				}
				rec := do(mux, "POST", race.path, creds(old))
				if rec.Code != http.StatusOK || otherTab != http.StatusOK || fresh == old {
					t.Fatalf("sign-out %d %q, the other tab's re-authentication %d", rec.Code, rec.Body, otherTab)
				}
				if cookies := rec.Result().Cookies(); !kind.bearer && (len(cookies) != 1 || cookies[0].MaxAge >= 0) {
					t.Errorf("the sign-out's cookies %v, want the session cookie cleared", cookies)
				}
				r := httptest.NewRequest("GET", "/", nil)
				creds(fresh)(r)
				if _, err := g.Authenticate(r); !errors.Is(err, middleware.ErrRevoked) {
					t.Errorf("the re-authenticated token after the sign-out: %v, want ErrRevoked", err)
				}
				if active, reason := rowEnd(t, db, signedIn.ID); active || reason != sessionguard.ReasonLogout {
					t.Errorf("session row: active %v, reason %q; want ended with logout", active, reason)
				}
			})
		}
	}
	for _, race := range signOutRaces {
		t.Run("scs, "+race.name, func(t *testing.T) {
			t.Parallel()
			a := newSCSApp(t, nil)
			tabA, tabB := a.browser(t), a.browser(t)
			var otherTab response
			withRaceRoutes(a, func() { otherTab = tabA.do("POST", "/reauth") }, map[string]http.HandlerFunc{
				"signout": func(w http.ResponseWriter, r *http.Request) {
					if err := a.guard.SignOut(w, r); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
					}
				},
			})

			id := tabA.signIn(pgtest.CreateUser(t, a.pool, "scs-signout@example.com", 0))
			old := tabA.cookie
			tabB.cookie = old
			if race.path == "/signout" {
				otherTab = tabA.do("POST", "/reauth")
			}
			tabB.expect("POST", race.path, http.StatusOK)
			if otherTab.status != http.StatusOK || tabA.cookie == old || tabA.cookie == "" {
				t.Fatalf("the other tab's re-authentication: %d, cookie renewed %v", otherTab.status, tabA.cookie != old)
			}
			if tabB.cookie != "" {
				t.Error("the signing-out tab's cookie was not deleted")
			}
			if active, reason := a.sessionRow(t, tabA.cookie); active || reason != sessionguard.ReasonLogout {
				t.Fatalf("session %s under the renewed token: active %v, reason %q; want ended with logout", id, active, reason)
			}
			if r := tabA.expect("GET", "/account", http.StatusUnauthorized); r.refusal.EndReason != sessionguard.ReasonLogout {
				t.Errorf("the renewed cookie after the sign-out: %+v", r.refusal)
			}
		})
	}
}

// TestSCSEndsNothingByARotatedOutToken: with scs, only the sign-out follows
// a token a re-authentication rotated out. scs's RenewToken and Destroy let
// go of the token the request loaded (SCSStore.Delete ends the session
// that holds it, by Store.Revoke's rule); a tab that loaded the old token
// before another tab's re-authentication and then renews or destroys its
// scs session leaves the re-authenticated session alive under its new
// token. Guard.Reauthenticate's own RenewToken, which runs before the
// rotation, is TestReauthenticateSCS's.
func TestSCSEndsNothingByARotatedOutToken(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		scs  func(*scsApp, context.Context) error
	}{
		{"destroy", func(a *scsApp, ctx context.Context) error { return a.sm.Destroy(ctx) }},
		{"renew", func(a *scsApp, ctx context.Context) error { return a.sm.RenewToken(ctx) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newSCSApp(t, nil)
			tabA, tabB := a.browser(t), a.browser(t)
			var otherTab response
			withRaceRoutes(a, func() { otherTab = tabA.do("POST", "/reauth") }, map[string]http.HandlerFunc{
				tt.name: func(w http.ResponseWriter, r *http.Request) {
					if err := tt.scs(a, r.Context()); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
					}
				},
			})
			tabA.signIn(pgtest.CreateUser(t, a.pool, "scs-renew@example.com", 0))
			old := tabA.cookie
			tabB.cookie = old
			tabB.expect("POST", "/"+tt.name+"-after-reauth", http.StatusOK)
			if otherTab.status != http.StatusOK || tabA.cookie == old || tabA.cookie == "" {
				t.Fatalf("the other tab's re-authentication: %d, cookie renewed %v", otherTab.status, tabA.cookie != old)
			}
			if active, reason := a.sessionRow(t, tabA.cookie); !active {
				t.Fatalf("the re-authenticated session ended (%q) by scs's %s of the old token", reason, tt.name)
			}
			tabA.expect("GET", "/account", http.StatusOK)
		})
	}
}

// TestSignOutWithARotatedOutTokenReachesOtherInstances: two instances, each
// with a pgstore.Cache. The first tab re-authenticates on the first
// instance and goes on there (its Cache holds the session under the new
// token); the second tab signs out on the second instance with the retired
// token. Both instances then refuse the new token: the second at once, the
// first as soon as the database's notification reaches its Cache.
func TestSignOutWithARotatedOutTokenReachesOtherInstances(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	instance := func(pool *pgxpool.Pool) (*middleware.Guard, *pgstore.Cache) {
		t.Helper()
		store, err := pgstore.New(pool, pgstore.Config{Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		cache, err := pgstore.NewCache(store, pgstore.CacheConfig{Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		listen(t, cache)
		g, err := middleware.New(middleware.Config{Store: cache, AppType: sessionguard.ControlPanel, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		return g, cache
	}
	poolB, err := pgxpool.NewWithConfig(context.Background(), db.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(poolB.Close)
	first, firstCache := instance(db.pool)
	second, _ := instance(poolB)

	old, signedIn, err := first.SignIn(nil, nil, middleware.SignIn{UserID: db.user})
	if err != nil {
		t.Fatal(err)
	}
	rec := do(reauthRoutes(first), "POST", "/reauth", withCookie(old))
	if rec.Code != http.StatusOK {
		t.Fatalf("re-authentication: %d %s", rec.Code, rec.Body)
	}
	fresh := rec.Body.String()
	check := func(g *middleware.Guard) error {
		r := httptest.NewRequest("GET", "/", nil)
		withCookie(fresh)(r)
		_, err := g.Authenticate(r)
		return err
	}
	for _, g := range []*middleware.Guard{first, second, first} {
		if err := check(g); err != nil {
			t.Fatalf("the new token before the sign-out: %v", err)
		}
	}
	if firstCache.Stats().Hits == 0 {
		t.Fatal("the first instance's Cache does not hold the session under its new token")
	}
	if rec := do(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := second.SignOut(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}), "POST", "/signout", withCookie(old)); rec.Code != http.StatusOK {
		t.Fatalf("sign-out: %d %s", rec.Code, rec.Body)
	}
	if err := check(second); !errors.Is(err, middleware.ErrRevoked) {
		t.Fatalf("the signing-out instance right after the sign-out: %v, want ErrRevoked", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for err := check(first); !errors.Is(err, middleware.ErrRevoked); err = check(first) {
		if time.Now().After(deadline) {
			t.Fatalf("the other instance still answers %v for the signed-out session", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if active, reason := rowEnd(t, db, signedIn.ID); active || reason != sessionguard.ReasonLogout {
		t.Errorf("session row: active %v, reason %q; want ended with logout", active, reason)
	}
}
