package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// goodSessionManager has the settings Config.SCS needs, over scs's in-memory
// store (these tests need no database).
func goodSessionManager() *scs.SessionManager {
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	sm.HashTokenInStore = true
	sm.Lifetime = 8 * time.Hour
	sm.Cookie.Name = "__Host-session"
	sm.Cookie.Secure = true
	return sm
}

func TestNewChecksTheSessionManager(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		sm   func(*scs.SessionManager)
		cfg  func(*middleware.Config)
		want string // in the error; "" means success
	}{
		{name: "good"},
		{name: "no store", sm: func(sm *scs.SessionManager) { sm.Store = nil }, want: "Store is nil"},
		{name: "raw tokens in the store", sm: func(sm *scs.SessionManager) { sm.HashTokenInStore = false }, want: "HashTokenInStore"},
		{name: "scs idle timeout", sm: func(sm *scs.SessionManager) { sm.IdleTimeout = 20 * time.Minute }, want: "IdleTimeout = 0"},
		{name: "no opaque tokens", cfg: func(c *middleware.Config) {
			c.JWT = hmacJWT()
			c.Tokens = middleware.JWTs
		}, want: "OpaqueTokens"},
		{name: "JWT bearer tokens beside scs", cfg: func(c *middleware.Config) { c.JWT = hmacJWT() }},
		{name: "another cookie name", cfg: func(c *middleware.Config) { c.CookieName = "sid" }, want: "differs"},
		{name: "same cookie name", cfg: func(c *middleware.Config) { c.CookieName = "__Host-session" }},
		{name: "script-readable cookie", sm: func(sm *scs.SessionManager) { sm.Cookie.HttpOnly = false }, want: "HttpOnly"},
		{name: "SameSite None", sm: func(sm *scs.SessionManager) { sm.Cookie.SameSite = http.SameSiteNoneMode }, want: "SameSite"},
		{name: "SameSite unset", sm: func(sm *scs.SessionManager) { sm.Cookie.SameSite = 0 }, want: "SameSite"},
		{name: "SameSite Strict", sm: func(sm *scs.SessionManager) { sm.Cookie.SameSite = http.SameSiteStrictMode }},
		{name: "insecure cookie", sm: func(sm *scs.SessionManager) { sm.Cookie.Secure = false; sm.Cookie.Name = "session" }, want: "Secure"},
		{name: "insecure cookie for development", sm: func(sm *scs.SessionManager) { sm.Cookie.Secure = false; sm.Cookie.Name = "session" },
			cfg: func(c *middleware.Config) { c.InsecureCookie = true }},
		{name: "__Host- cookie without Secure", sm: func(sm *scs.SessionManager) { sm.Cookie.Secure = false },
			cfg: func(c *middleware.Config) { c.InsecureCookie = true }, want: "needs a Secure cookie"},
		{name: "__Host- cookie with a Domain", sm: func(sm *scs.SessionManager) { sm.Cookie.Domain = "example.com" }, want: "__Host-"},
		{name: "lifetime shorter than the absolute timeout", cfg: func(c *middleware.Config) { c.AbsoluteTimeout = 12 * time.Hour }, want: "Lifetime"},
		{name: "lifetime longer than the absolute timeout", cfg: func(c *middleware.Config) { c.AbsoluteTimeout = 4 * time.Hour }},
		{name: "lifetime below the idle timeout", sm: func(sm *scs.SessionManager) { sm.Lifetime = time.Hour }, want: "IdleTimeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sm := goodSessionManager()
			if tc.sm != nil {
				tc.sm(sm)
			}
			cfg := middleware.Config{SCS: sm, Store: newFakeStore(), AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler)}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			g, err := middleware.New(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New = %v, want an error about %q", err, tc.want)
			case tc.want != "" && !strings.HasPrefix(err.Error(), "middleware: config:"):
				t.Fatalf("error %q lacks the config prefix", err)
			case tc.want == "" && g == nil:
				t.Fatal("New returned no Guard")
			}
		})
	}
}

// The absolute timeout of new sessions is scs's Lifetime unless set.
func TestNewTakesTheSCSLifetime(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	sm := goodSessionManager()
	sm.Lifetime = 6 * time.Hour
	g, err := middleware.New(middleware.Config{SCS: sm, Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := g.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := g.SignIn(w, r, middleware.SignIn{UserID: 7}); err != nil {
			t.Error(err)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil))
	if len(store.created) != 1 || store.created[0].AbsoluteTimeout != 6*time.Hour {
		t.Fatalf("created %+v, want one session with the 6h lifetime", store.created)
	}
}

// With scs the cookie is scs's: Record sets no cookie of its own.
func TestSCSGuardRecordsNoCookie(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	g, err := middleware.New(middleware.Config{SCS: goodSessionManager(), Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, err := g.Record(rec, httptest.NewRequest("POST", "/", nil), strings.Repeat("A", 43), middleware.SignIn{UserID: 1}); err == nil {
		t.Fatal("Record on an scs Guard set a cookie of its own")
	}
	if len(rec.Result().Cookies()) != 0 || store.totalCalls() != 0 {
		t.Fatalf("cookies %v, %d store calls; want none", rec.Result().Cookies(), store.totalCalls())
	}
}

// Outside the Guard's LoadAndSave, with no scs session or inside scs's own
// LoadAndSave (which queries any cookie it is sent), the Guard fails closed
// (503) instead of panicking or passing, says why in its log, and the
// helpers return an error.
func TestSCSOutsideLoadAndSave(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		wrap func(sm *scs.SessionManager, h http.Handler) http.Handler
	}{
		{"no scs session", func(_ *scs.SessionManager, h http.Handler) http.Handler { return h }},
		{"inside scs's own LoadAndSave", func(sm *scs.SessionManager, h http.Handler) http.Handler { return sm.LoadAndSave(h) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeStore()
			sm := goodSessionManager()
			var logs bytes.Buffer
			g, err := middleware.New(middleware.Config{SCS: sm, Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			ran := false
			var inner error
			h := tt.wrap(sm, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				g.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true })).ServeHTTP(w, r)
				if _, err := g.Authenticate(r); !errors.Is(err, middleware.ErrUnavailable) {
					inner = fmt.Errorf("Authenticate = %v, want ErrUnavailable", err)
				} else if _, _, err := g.SignIn(nil, r, middleware.SignIn{UserID: 1}); err == nil {
					inner = errors.New("SignIn outside the Guard's LoadAndSave succeeded")
				} else if err := g.SignOut(nil, r); err == nil {
					inner = errors.New("SignOut outside the Guard's LoadAndSave succeeded")
				}
			}))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(&http.Cookie{Name: "__Host-session", Value: strings.Repeat("A", 43)})
			h.ServeHTTP(rec, req)
			if ran || rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, handler ran %v; want 503, false", rec.Code, ran)
			}
			if inner != nil {
				t.Fatal(inner)
			}
			if !strings.Contains(logs.String(), "Guard.LoadAndSave") {
				t.Errorf("the log does not say to use Guard.LoadAndSave:\n%s", logs.String())
			}
			if n := store.totalCalls(); n != 0 {
				t.Fatalf("%d store calls outside the Guard's LoadAndSave", n)
			}
		})
	}
}

// SignIn renews the scs token, records the new one, and ends the session of
// the token it replaces; SignOut ends it and destroys the scs session.
func TestSCSSignInAndOutOnAFakeStore(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	sm := goodSessionManager()
	g, err := middleware.New(middleware.Config{SCS: sm, Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	h := g.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			_, s, err := g.SignIn(w, r, middleware.SignIn{UserID: 9})
			if err != nil || s.UserID != 9 || s.Bearer {
				t.Errorf("SignIn = %v, %v", s, err)
			}
			tokens = append(tokens, sm.Token(r.Context()))
		case "/logout":
			if err := g.SignOut(w, r); err != nil {
				t.Error(err)
			}
		}
	}))
	send := func(path, cookie string) *http.Response {
		req := httptest.NewRequest("POST", path, nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "__Host-session", Value: cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	first := send("/login", "").Cookies()[0].Value
	second := send("/login", first).Cookies()[0].Value
	if first != tokens[0] || second != tokens[1] || first == second {
		t.Fatal("the cookie is not the token SignIn recorded, or sign-in kept the old token")
	}
	if len(store.revokes) == 0 || store.revokes[0] != (fakeRevoke{sha256Hex(first), sessionguard.ReasonLogout}) {
		t.Fatalf("revokes %v: the replaced session was not ended with logout", store.revokes)
	}
	out := send("/logout", second)
	if c := out.Cookies(); len(c) != 1 || c[0].MaxAge >= 0 || out.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("sign-out: cookies %v, Cache-Control %q; want the scs cookie deleted, no-store", c, out.Header.Get("Cache-Control"))
	}
	if last := store.revokes[len(store.revokes)-1]; last != (fakeRevoke{sha256Hex(second), sessionguard.ReasonLogout}) {
		t.Fatalf("sign-out revoked %v", last)
	}
	if ctx, err := sm.Load(context.Background(), second); err != nil || sm.Token(ctx) != "" {
		t.Fatalf("the scs session survived sign-out (%v)", err)
	}
}
