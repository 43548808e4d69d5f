package middleware_test

// The middleware against a real PostgreSQL through pgstore.Store: what the
// fake-store tests cannot show.

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

var _ sessionguard.Store = (*pgstore.Store)(nil)

// countingStore counts the calls that reach PostgreSQL.
type countingStore struct {
	*pgstore.Store
	calls atomic.Int64
}

func (c *countingStore) Validate(ctx context.Context, hash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	c.calls.Add(1)
	return c.Store.Validate(ctx, hash, scope)
}

func (c *countingStore) Peek(ctx context.Context, hash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	c.calls.Add(1)
	return c.Store.Peek(ctx, hash, scope)
}

type pgFixture struct {
	pool   *pgxpool.Pool
	store  *countingStore
	logs   *bytes.Buffer
	logger *slog.Logger
	staff  int64
	acme   int64
	globex int64
	alice  int64 // of acme
	bob    int64 // of globex
}

func newPGFixture(t *testing.T, pool *pgxpool.Pool) *pgFixture {
	t.Helper()
	store, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := &pgFixture{pool: pool, store: &countingStore{Store: store}, logs: &bytes.Buffer{}}
	f.logger = slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.acme = pgtest.CreateTenant(t, pool, "acme")
	f.globex = pgtest.CreateTenant(t, pool, "globex")
	f.staff = pgtest.CreateUser(t, pool, "staff@example.com", 0)
	f.alice = pgtest.CreateUser(t, pool, "alice@acme.example", f.acme)
	f.bob = pgtest.CreateUser(t, pool, "bob@globex.example", f.globex)
	return f
}

func (f *pgFixture) guard(t *testing.T, edit func(*middleware.Config)) *middleware.Guard {
	t.Helper()
	cfg := middleware.Config{Store: f.store, AppType: sessionguard.ControlPanel, Logger: f.logger}
	if edit != nil {
		edit(&cfg)
	}
	g, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// signIn opens a session through the guard and returns its token.
func signIn(t *testing.T, g *middleware.Guard, p middleware.SignIn) string {
	t.Helper()
	rec := httptest.NewRecorder()
	token, _, err := g.SignIn(rec, httptest.NewRequest("POST", "/login", nil), p)
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	return token
}

// okHandler answers 200 and echoes the session's user id.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	s, ok := middleware.SessionFrom(r.Context())
	if !ok {
		http.Error(w, "no session in context", http.StatusInternalServerError)
		return
	}
	w.Write([]byte(strconv.FormatInt(s.UserID, 10)))
})

func do(h http.Handler, method, path string, edit func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if edit != nil {
		edit(r)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func withCookie(token string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: middleware.DefaultCookieName, Value: token}) }
}

func withBearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

type refusalBody struct {
	Error     string `json:"error"`
	Reason    string `json:"reason"`
	EndReason string `json:"end_reason"`
}

func refusal(t *testing.T, rec *httptest.ResponseRecorder) refusalBody {
	t.Helper()
	var b refusalBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("refusal body %q: %v", rec.Body.String(), err)
	}
	if got := rec.Header().Get(middleware.HeaderEndReason); got != b.Reason {
		t.Fatalf("%s = %q, body reason %q", middleware.HeaderEndReason, got, b.Reason)
	}
	return b
}

func (f *pgFixture) lastActivity(t *testing.T, userID int64) time.Time {
	t.Helper()
	var at time.Time
	if err := f.pool.QueryRow(context.Background(),
		"SELECT max(last_activity_at) FROM sessions WHERE user_id = $1", userID).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

func (f *pgFixture) ageUser(t *testing.T, userID int64, d time.Duration) {
	t.Helper()
	if _, err := f.pool.Exec(context.Background(), `UPDATE sessions
		SET last_activity_at = last_activity_at - make_interval(secs => $2) WHERE user_id = $1`,
		userID, d.Seconds()); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresLifecycle(t *testing.T) {
	t.Parallel()
	f := newPGFixture(t, pgtest.NewPool(t))
	g := f.guard(t, nil)
	h := g.Middleware(okHandler)
	token := signIn(t, g, middleware.SignIn{UserID: f.staff})

	rec := do(h, "GET", "/dashboard", withCookie(token))
	if rec.Code != http.StatusOK || rec.Body.String() != strconv.FormatInt(f.staff, 10) {
		t.Fatalf("signed-in request: %d %q", rec.Code, rec.Body.String())
	}
	hdr := rec.Header()
	// Within the touch interval (60 s) of the full idle timeout: the idle
	// clock may start up to that interval early, never late.
	if idle, _ := strconv.Atoi(hdr.Get(middleware.HeaderIdleRemaining)); idle < 14400-60 || idle > 14400 {
		t.Errorf("idle remaining = %d, want within 60 s of 14400", idle)
	}
	if abs, _ := strconv.Atoi(hdr.Get(middleware.HeaderAbsoluteRemaining)); abs < 28790 || abs > 28800 {
		t.Errorf("absolute remaining = %d, want ~28800", abs)
	}
	if got := hdr.Get(middleware.HeaderWarningThreshold); got != "300" {
		t.Errorf("warning threshold = %q", got)
	}
	if hdr.Get("Cache-Control") != "no-store" || !strings.Contains(strings.Join(hdr.Values("Vary"), ","), "Authorization") {
		t.Errorf("caching headers: Cache-Control %q Vary %q", hdr.Get("Cache-Control"), hdr.Values("Vary"))
	}

	// Sign out: the row is revoked with "logout" and the cookie refused.
	signOut := do(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := g.SignOut(w, r); err != nil {
			t.Errorf("SignOut: %v", err)
		}
	}), "POST", "/logout", withCookie(token))
	if c := signOut.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("sign out did not clear the cookie: %+v", c)
	}
	rec = do(h, "GET", "/dashboard", withCookie(token))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("after sign out: %d", rec.Code)
	}
	if b := refusal(t, rec); b.Reason != "revoked" || b.EndReason != "logout" {
		t.Fatalf("after sign out: %+v", b)
	}
}

// TestPostgresSignOutOutlivesTheClient: a browser that sends its sign-out and
// goes away at once (a closed tab cancels the request's context) is still
// signed out: the revocation is not abandoned with the request, or the
// session would live on behind a cookie the browser never saw cleared.
func TestPostgresSignOutOutlivesTheClient(t *testing.T) {
	t.Parallel()
	f := newPGFixture(t, pgtest.NewPool(t))
	g := f.guard(t, nil)
	signOut := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		cancel() // the client went away
		if err := g.SignOut(w, r.WithContext(ctx)); err != nil {
			t.Errorf("SignOut: %v", err)
		}
	})
	for _, tt := range []struct {
		name string
		h    http.Handler
	}{
		{"token of the request", signOut},
		{"session of the middleware", g.Middleware(signOut)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			token := signIn(t, g, middleware.SignIn{UserID: f.staff})
			do(tt.h, "POST", "/logout", withCookie(token))
			rec := do(g.Middleware(okHandler), "GET", "/dashboard", withCookie(token))
			if b := refusal(t, rec); rec.Code != http.StatusUnauthorized || b.Reason != "revoked" || b.EndReason != "logout" {
				t.Fatalf("after a sign-out whose client went away: %d %+v", rec.Code, b)
			}
		})
	}
}

// TestPostgresClientGoneIsCanceled: a client that goes away while
// PostgreSQL has not answered (the sessions table locked by another
// transaction) is refused as "canceled", not logged as an outage: pgx's
// error for the abandoned query carries the cancellation, which is what
// ErrCanceled asks of the store's error.
func TestPostgresClientGoneIsCanceled(t *testing.T) {
	t.Parallel()
	f := newPGFixture(t, pgtest.NewPool(t))
	g := f.guard(t, nil)
	token := signIn(t, g, middleware.SignIn{UserID: f.staff})
	bg := context.Background()
	tx, err := f.pool.Begin(bg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(bg) }()
	if _, err := tx.Exec(bg, "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, time.Hour)
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel) // the client goes away
	r := httptest.NewRequestWithContext(ctx, "GET", "/dashboard", nil)
	withCookie(token)(r)
	rec := httptest.NewRecorder()
	g.Middleware(okHandler).ServeHTTP(rec, r)
	if b := refusal(t, rec); rec.Code != http.StatusServiceUnavailable || b.Reason != "canceled" {
		t.Fatalf("client gone while the table is locked: %d %+v", rec.Code, b)
	}
	if strings.Contains(f.logs.String(), `"level":"ERROR"`) {
		t.Errorf("a client that left was logged as an error:\n%s", f.logs.String())
	}
}

func TestPostgresExpiryReasons(t *testing.T) {
	t.Parallel()
	f := newPGFixture(t, pgtest.NewPool(t))
	g := f.guard(t, nil)
	h := g.Middleware(okHandler)

	idle := signIn(t, g, middleware.SignIn{UserID: f.staff})
	f.ageUser(t, f.staff, 4*time.Hour)
	rec := do(h, "GET", "/", withBearer(idle))
	if b := refusal(t, rec); rec.Code != http.StatusUnauthorized || b.Reason != "idle_timeout" {
		t.Fatalf("idle session: %d %+v", rec.Code, b)
	}
	if !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("bearer refusal without challenge: %q", rec.Header().Get("WWW-Authenticate"))
	}

	other := pgtest.CreateUser(t, f.pool, "old@example.com", 0)
	absolute := signIn(t, g, middleware.SignIn{UserID: other})
	if _, err := f.pool.Exec(context.Background(),
		"UPDATE sessions SET absolute_expires_at = now() - interval '1 second' WHERE user_id = $1", other); err != nil {
		t.Fatal(err)
	}
	rec = do(h, "GET", "/", withCookie(absolute))
	if b := refusal(t, rec); b.Reason != "absolute_timeout" {
		t.Fatalf("absolute-expired session: %+v", b)
	}
}

func TestPostgresAppAndTenantIsolation(t *testing.T) {
	t.Parallel()
	f := newPGFixture(t, pgtest.NewPool(t))
	panel := f.guard(t, nil)
	tenants := f.guard(t, func(c *middleware.Config) {
		c.AppType = sessionguard.TenantApp
		c.Tenant = func(r *http.Request) (int64, error) { return strconv.ParseInt(r.PathValue("tenant"), 10, 64) }
	})
	mux := http.NewServeMux()
	mux.Handle("/panel/", panel.Middleware(okHandler))
	mux.Handle("/t/{tenant}/", tenants.Middleware(okHandler))

	staff := signIn(t, panel, middleware.SignIn{UserID: f.staff})
	alice := signIn(t, tenants, middleware.SignIn{UserID: f.alice, TenantID: f.acme})
	f.ageUser(t, f.staff, 10*time.Minute)
	f.ageUser(t, f.alice, 10*time.Minute)
	staffSeen, aliceSeen := f.lastActivity(t, f.staff), f.lastActivity(t, f.alice)

	acme, globex := "/t/"+strconv.FormatInt(f.acme, 10)+"/", "/t/"+strconv.FormatInt(f.globex, 10)+"/"
	tests := []struct {
		name   string
		path   string
		token  string
		status int
		reason string
	}{
		{"control panel session on the tenant app", acme, staff, http.StatusForbidden, "wrong_app"},
		{"tenant session on the control panel", "/panel/", alice, http.StatusForbidden, "wrong_app"},
		{"acme session on globex", globex, alice, http.StatusForbidden, "wrong_tenant"},
		{"tenant that does not parse", "/t/acme/", alice, http.StatusBadRequest, "bad_tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(mux, "GET", tt.path, withBearer(tt.token))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body.String())
			}
			if b := refusal(t, rec); b.Reason != tt.reason {
				t.Fatalf("reason %q, want %q", b.Reason, tt.reason)
			}
		})
	}
	// A refused request never extended either session.
	if !f.lastActivity(t, f.staff).Equal(staffSeen) || !f.lastActivity(t, f.alice).Equal(aliceSeen) {
		t.Fatal("a refused cross-app or cross-tenant request touched a session")
	}
	if rec := do(mux, "GET", acme, withBearer(alice)); rec.Code != http.StatusOK {
		t.Fatalf("acme session on acme: %d", rec.Code)
	}
	if rec := do(mux, "GET", "/panel/", withBearer(staff)); rec.Code != http.StatusOK {
		t.Fatalf("staff session on the control panel: %d", rec.Code)
	}
}

func TestPostgresPeekNeverExtends(t *testing.T) {
	t.Parallel()
	f := newPGFixture(t, pgtest.NewPool(t))
	g := f.guard(t, nil)
	token := signIn(t, g, middleware.SignIn{UserID: f.staff})
	f.ageUser(t, f.staff, 10*time.Minute)
	before := f.lastActivity(t, f.staff)

	for range 3 {
		rec := do(g.PeekMiddleware(okHandler), "GET", "/api/session", withCookie(token))
		if rec.Code != http.StatusOK {
			t.Fatalf("peek: %d", rec.Code)
		}
		if idle, _ := strconv.Atoi(rec.Header().Get(middleware.HeaderIdleRemaining)); idle > 14400-600 || idle < 14400-610 {
			t.Fatalf("peek idle remaining = %d, want ~13800 (not extended)", idle)
		}
	}
	if !f.lastActivity(t, f.staff).Equal(before) {
		t.Fatal("peek moved last_activity_at")
	}
	rec := do(g.Middleware(okHandler), "GET", "/", withCookie(token))
	if got := rec.Header().Get(middleware.HeaderIdleRemaining); got != "14400" {
		t.Fatalf("a touching request reports %q idle seconds, want 14400", got)
	}
	if f.lastActivity(t, f.staff).Equal(before) {
		t.Fatal("a touching request did not move last_activity_at")
	}
}

// Tokens that can be judged locally never cost a database call.
func TestPostgresBadTokensCostNoQuery(t *testing.T) {
	t.Parallel()
	f := newPGFixture(t, pgtest.NewPool(t))
	key := []byte("0123456789abcdef0123456789abcdef")
	g := f.guard(t, func(c *middleware.Config) {
		c.JWT = &middleware.JWTConfig{
			Keys:     []middleware.JWTKey{{ID: "k1", Algorithm: "HS256", SignKey: key, VerifyKey: key}},
			Issuer:   "sessionguard-test",
			Audience: "control-panel",
		}
	})
	good := signIn(t, g, middleware.SignIn{UserID: f.staff})
	parts := strings.Split(good, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoiazEifQ." + parts[1] + "."

	h := g.Middleware(okHandler)
	before := f.store.calls.Load()
	for name, token := range map[string]string{
		"malformed":        "not-a-jwt",
		"oversized":        strings.Repeat("a", 4097),
		"forged signature": forged,
		"alg none":         none,
		"sql":              "' OR 1=1; --",
	} {
		// A token with a character no bearer token has (SQL's quote, a
		// space) is a malformed request (RFC 6750's invalid_request).
		want := http.StatusUnauthorized
		if name == "sql" {
			want = http.StatusBadRequest
		}
		rec := do(h, "GET", "/", withBearer(token))
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d", name, rec.Code, want)
		}
	}
	if n := f.store.calls.Load() - before; n != 0 {
		t.Fatalf("bad tokens cost %d store calls, want 0", n)
	}
	if rec := do(h, "GET", "/", withBearer(good)); rec.Code != http.StatusOK || f.store.calls.Load()-before != 1 {
		t.Fatalf("good token: %d after %d calls", rec.Code, f.store.calls.Load()-before)
	}
}

// Fail closed: with the database down nothing passes, and the app recovers
// by itself when it is back.
func TestPostgresDatabaseDownIs503(t *testing.T) {
	t.Parallel()
	srv, pool := pgtest.NewIsolatedServer(t)
	f := newPGFixture(t, pool)
	g := f.guard(t, func(c *middleware.Config) { c.StoreTimeout = 3 * time.Second })
	var passed atomic.Int64
	h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { passed.Add(1) }))
	token := signIn(t, g, middleware.SignIn{UserID: f.staff})
	if rec := do(h, "GET", "/", withCookie(token)); rec.Code != http.StatusOK {
		t.Fatalf("before the outage: %d", rec.Code)
	}

	ctx := context.Background()
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	passed.Store(0)
	for range 5 {
		rec := do(h, "GET", "/", withCookie(token))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("database down: status %d, want 503", rec.Code)
		}
		if b := refusal(t, rec); b.Reason != "unavailable" {
			t.Fatalf("database down: %+v", b)
		}
	}
	if passed.Load() != 0 {
		t.Fatalf("%d requests passed with the database down", passed.Load())
	}

	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec := do(h, "GET", "/", withCookie(token))
		if rec.Code == http.StatusOK {
			break
		}
		if rec.Code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after restart: status %d", rec.Code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(f.logs.String(), token) {
		t.Fatal("a log line contains the token")
	}
}

// The request that finds a session expired is the audit trail's "expired"
// event; later requests with the same token are plain refusals.
func TestPostgresExpiredIsReportedOnce(t *testing.T) {
	t.Parallel()
	f := newPGFixture(t, pgtest.NewPool(t))
	var (
		mu     sync.Mutex
		events []sessionguard.Event
	)
	g := f.guard(t, func(c *middleware.Config) {
		c.OnEvent = func(e sessionguard.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }
	})
	token := signIn(t, g, middleware.SignIn{UserID: f.staff})
	f.ageUser(t, f.staff, 4*time.Hour)
	for range 3 {
		if rec := do(g.Middleware(okHandler), "GET", "/", withCookie(token)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("expired session: %d", rec.Code)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var kinds []sessionguard.EventKind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	want := []sessionguard.EventKind{sessionguard.EventCreated, sessionguard.EventExpired, sessionguard.EventRefused, sessionguard.EventRefused}
	if !slices.Equal(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	if events[1].Reason != middleware.ErrIdleTimeout.Reason || events[3].Reason != middleware.ErrIdleTimeout.Reason {
		t.Fatalf("reasons %q, %q", events[1].Reason, events[3].Reason)
	}
}
