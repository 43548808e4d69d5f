package middleware_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/middleware"
)

// findCounter is an scs store that counts the lookups scs makes.
type findCounter struct {
	scs.Store
	finds atomic.Int64
}

func (f *findCounter) Find(token string) ([]byte, bool, error) {
	f.finds.Add(1)
	return f.Store.Find(token)
}

// TestLoadAndSaveLooksUpNoMalformedCookie: through the Guard's LoadAndSave a
// session cookie the Guard refuses by its shape costs no scs lookup and no
// store call, and the Guard still sees the request as it came (and refuses
// it as it would); a well-formed cookie is looked up as scs does, the one the
// Guard reads, also beside an Authorization header the Guard refuses.
func TestLoadAndSaveLooksUpNoMalformedCookie(t *testing.T) {
	t.Parallel()
	sm := goodSessionManager()
	finds := &findCounter{Store: sm.Store}
	sm.Store = finds
	store := newFakeStore()
	g, err := middleware.New(middleware.Config{SCS: sm, Store: store, AppType: sessionguard.ControlPanel, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	signIn := httptest.NewRecorder()
	g.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := g.SignIn(w, r, middleware.SignIn{UserID: 5}); err != nil {
			t.Fatal(err)
		}
	})).ServeHTTP(signIn, httptest.NewRequest(http.MethodPost, "/login", nil))
	live := signIn.Result().Cookies()[0].Value
	other := strings.Repeat("B", 42) + "A" // an scs token's form, not live's

	var seen []string // the session cookies the handler saw
	var scsToken string
	protected := g.LoadAndSave(g.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	open := g.LoadAndSave(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen = r.Header.Values("Cookie")
		scsToken = sm.Token(r.Context())
	}))
	tests := []struct {
		name    string
		cookies []string
		auth    string
		status  int // through the Guard
		finds   int64
	}{
		{"live cookie", cookie(live), "", 200, 1},
		{"no cookie", nil, "", 401, 0},
		{"malformed", cookie("not-a-token"), "", 401, 0},
		{"a JWT's form", cookie("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"), "", 401, 0},
		{"43 characters, not canonical", cookie(strings.Repeat("A", 42) + "B"), "", 401, 0},
		{"quoted", cookie(`"` + live + `"`), "", 401, 0},
		{"two cookies", []string{"__Host-session=" + live + "; __Host-session=" + live}, "", 401, 0},
		// The cookie is well-formed; the Guard refuses the request, but a
		// public page that writes to the session keeps the user's (a junk
		// header from a browser extension would otherwise replace the
		// signed-in cookie with a new session's).
		{"a bearer token that differs", cookie(live), "Bearer " + other, 401, 1},
		{"a malformed Authorization header", cookie(live), "Bearer a b", 400, 1},
		{"the same bearer token", cookie(live), "Bearer " + live, 200, 1},
		// More cookies than net/http parses (3000): scs loads the cookie the
		// Guard reads, not the none that http.Request.Cookie finds.
		{"a live cookie among 3000 others", append([]string{strings.Repeat("x=1; ", 3000)}, cookie(live)...), "", 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := store.totalCalls()
			before := finds.finds.Load()
			rec := httptest.NewRecorder()
			protected.ServeHTTP(rec, request(tt.cookies, authLines(tt.auth)...))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if n := finds.finds.Load() - before; n != tt.finds {
				t.Errorf("%d scs lookups, want %d", n, tt.finds)
			}
			if tt.status != 200 && store.totalCalls() != calls {
				t.Errorf("%d store calls for a refused credential", store.totalCalls()-calls)
			}
			before = finds.finds.Load()
			open.ServeHTTP(httptest.NewRecorder(), request(append(tt.cookies, "theme=dark"), authLines(tt.auth)...))
			if n := finds.finds.Load() - before; n != tt.finds {
				t.Errorf("unguarded route: %d scs lookups, want %d", n, tt.finds)
			}
			if want := append(tt.cookies, "theme=dark"); strings.Join(seen, "|") != strings.Join(want, "|") {
				t.Errorf("the handler saw cookies %q, want them as sent, %q", seen, want)
			}
			if tt.finds == 0 && scsToken != "" {
				t.Errorf("the handler got scs session %q, want a new, empty one", scsToken)
			}
			if tt.finds == 1 && scsToken != live {
				t.Errorf("the handler got scs session %q, want the cookie's", scsToken)
			}
		})
	}
}

// authLines is the Authorization header lines for value: none when it is empty.
func authLines(value string) []string {
	if value == "" {
		return nil
	}
	return []string{value}
}

// LoadAndSave without Config.SCS is a wiring mistake: it panics at once.
func TestLoadAndSaveNeedsSCS(t *testing.T) {
	t.Parallel()
	g, err := middleware.New(middleware.Config{Store: newFakeStore(), Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("LoadAndSave without Config.SCS did not panic")
		}
	}()
	g.LoadAndSave(http.NotFoundHandler())
}

// An application with two scs SessionManagers (two cookies, each with its
// Guard) wraps its mux in both Guards' LoadAndSave, as it would in both
// SessionManagers' own: each Guard answers for the scs session its own
// LoadAndSave loaded, whichever of the two is outside.
func TestLoadAndSaveNestsTwoSessionManagers(t *testing.T) {
	t.Parallel()
	newSCSGuard := func(cookieName string) *middleware.Guard {
		sm := goodSessionManager()
		sm.Cookie.Name = cookieName
		g, err := middleware.New(middleware.Config{SCS: sm, Store: newFakeStore(), AppType: sessionguard.ControlPanel, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	one, two := newSCSGuard("__Host-one"), newSCSGuard("__Host-two")
	mux := http.NewServeMux()
	for path, g := range map[string]*middleware.Guard{"/one": one, "/two": two} {
		mux.Handle("POST "+path+"/login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, _, err := g.SignIn(w, r, middleware.SignIn{UserID: 5}); err != nil {
				t.Errorf("%s: SignIn: %v", path, err)
			}
		}))
		mux.Handle("GET "+path, g.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	}
	for _, order := range []struct {
		name string
		app  http.Handler
	}{
		{"one outside", one.LoadAndSave(two.LoadAndSave(mux))},
		{"two outside", two.LoadAndSave(one.LoadAndSave(mux))},
	} {
		t.Run(order.name, func(t *testing.T) {
			var cookies []string
			for _, path := range []string{"/one", "/two"} {
				rec := httptest.NewRecorder()
				order.app.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path+"/login", nil))
				for _, c := range rec.Result().Cookies() {
					cookies = append(cookies, c.Name+"="+c.Value)
				}
			}
			if len(cookies) != 2 {
				t.Fatalf("cookies after both sign-ins: %q, want one of each", cookies)
			}
			for _, path := range []string{"/one", "/two"} {
				r := request([]string{strings.Join(cookies, "; ")})
				r.URL.Path = path
				rec := httptest.NewRecorder()
				order.app.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					t.Errorf("GET %s with both sessions' cookies: %d, want 200", path, rec.Code)
				}
			}
		})
	}
}

// findFails is an scs store whose Find fails, as a database down does.
type findFails struct{ scs.Store }

func (findFails) Find(string) ([]byte, bool, error) {
	return nil, false, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
}

// With Config.SCS a database that is down fails scs's lookup of the
// session, before any Guard: the request must still count and log as the
// Guard's refusals of an outage do (sessionguard_validations_total
// {reason="unavailable"}, on which README's SessionguardStoreUnavailable
// alert fires, and an Error line), and get scs's error answer, the handler
// never running. Before, an scs application with its database down
// counted nothing and logged nothing of its own: the alert stayed quiet.
func TestLoadAndSaveCountsAStoreFailure(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	var logs syncBuffer
	sm := goodSessionManager()
	sm.Store = findFails{sm.Store}
	g, err := middleware.New(middleware.Config{SCS: sm, Store: newFakeStore(), AppType: sessionguard.ControlPanel,
		MeterProvider: m.Provider, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	h := g.LoadAndSave(g.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true })))
	token := randomToken(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request(cookie(token)))
	if ran || rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, handler ran %v; want scs's ErrorFunc's 500, false", rec.Code, ran)
	}
	if v, _ := metrictest.Sample(m.Exposition(t), "sessionguard_validations_total", "result", "refused", "reason", "unavailable"); v != 1 {
		t.Errorf("sessionguard_validations_total{reason=\"unavailable\"} = %v, want 1", v)
	}
	text := logs.String()
	if !strings.Contains(text, "level=ERROR") || !strings.Contains(text, "reason=unavailable") || !strings.Contains(text, "connection refused") {
		t.Errorf("no Error line for the outage:\n%s", text)
	}
	if strings.Contains(text, token) || strings.Contains(text, sha256Hex(token)) {
		t.Errorf("the log holds the token or its hash:\n%s", text)
	}
}
