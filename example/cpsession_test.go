package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// The control panel keeps flash messages in scs, through
// pgstore.SCSStore, next to the sessions table.

// TestControlPanelFlashAfterAdminRevoke: an admin revokes a staff member's
// session on the admin page and is told so once (a flash in the admin's
// session); the staff member's next page load goes to the sign-in page,
// which says why.
func TestControlPanelFlashAfterAdminRevoke(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	_, c := s.signinForm("/cp/signin", "staff@example.com", testPassword, cpCookie)
	if c == nil {
		t.Fatal("staff sign-in set no cookie")
	}
	staff := s.browser(&http.Cookie{Name: c.Name, Value: c.Value})
	if res := staff.get("/cp/"); res.StatusCode != http.StatusOK {
		t.Fatalf("staff dashboard: %d", res.StatusCode)
	}
	staffID := s.onlySession("staff@example.com")

	_, c = s.signinForm("/cp/signin", "admin@example.com", testPassword, cpCookie)
	admin := s.browser(&http.Cookie{Name: c.Name, Value: c.Value})
	if res := admin.get("/cp/admin"); !strings.Contains(string(res.body), staffID) {
		t.Fatalf("the admin page does not list the staff session")
	}
	redirectsTo(t, admin.post("/cp/admin/revoke", formOf("id", staffID)), "/cp/admin")
	admin.flashOnce(t, "/cp/admin", "The session was revoked. Its user is signed out on their next request.")
	redirectsTo(t, admin.post("/cp/admin/revoke", formOf("id", staffID)), "/cp/admin")
	admin.flashOnce(t, "/cp/admin", "That session had already ended.")

	redirectsTo(t, staff.get("/cp/"), "/cp/signin?reason=admin_revoke")
	if got := notice(t, staff.get("/cp/signin?reason=admin_revoke")); got != signinReasons["admin_revoke"] {
		t.Errorf("the sign-in page says %q", got)
	}
}

// TestControlPanelFlashAfterRevokingOthers: "sign out everywhere else" and a
// password change say how many sessions they ended, once.
func TestControlPanelFlashAfterRevokingOthers(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	x := s.login("staff@example.com", "control_panel", 0)
	b := s.browser(x.cookie)
	s.login("staff@example.com", "control_panel", 0)
	s.login("staff@example.com", "control_panel", 0)
	redirectsTo(t, b.post("/cp/sessions/revoke-others", nil), "/cp/sessions")
	b.flashOnce(t, "/cp/sessions", "Signed out 2 other sessions.")
	redirectsTo(t, b.post("/cp/sessions/revoke-others", nil), "/cp/sessions")
	b.flashOnce(t, "/cp/sessions", "You had no other sessions.")

	s.login("staff@example.com", "control_panel", 0)
	redirectsTo(t, b.post("/cp/password", formOf("current", testPassword, "new", "a-new-password", "confirm", "a-new-password")), "/cp/password")
	b.flashOnce(t, "/cp/password", "Your password was changed. Signed out 1 other session.")
}

// scsData is the scs data row of token, looked up as the store does: by
// hex(SHA-256(token)), the sessions table's key too.
func (s *exampleServer) scsData(token string) ([]byte, bool) {
	s.t.Helper()
	var data []byte
	err := s.pool.QueryRow(context.Background(), `SELECT data FROM sessionguard_scs_data
		WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, token).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return data, true
}

// scsDataExists reports whether the scs data of token has a row.
func (s *exampleServer) scsDataExists(token string) bool {
	s.t.Helper()
	_, ok := s.scsData(token)
	return ok
}

// TestControlPanelSCSDataEndsWithSession: the scs data of a control-panel
// session is keyed by its token's hash, as the sessions row, and goes when
// the session ends, however it ends.
func TestControlPanelSCSDataEndsWithSession(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	tests := []struct {
		name string
		end  func(t *testing.T, x session)
	}{
		{"admin revoke", func(t *testing.T, x session) {
			admin := s.login("admin@example.com", "control_panel", 0)
			redirectsTo(t, s.postForm("/cp/admin/revoke", cookie(admin.cookie), formOf("id", x.id)), "/cp/admin")
		}},
		{"revoked from another session", func(t *testing.T, x session) {
			other := s.login("staff@example.com", "control_panel", 0)
			redirectsTo(t, s.postForm("/cp/sessions/revoke", cookie(other.cookie), formOf("id", x.id)), "/cp/sessions")
		}},
		{"bearer logout", func(t *testing.T, x session) {
			if res := s.do("POST", "/api/logout", bearer(x.token), nil); res.StatusCode != http.StatusOK {
				t.Fatalf("logout: %d", res.StatusCode)
			}
		}},
		{"cookie sign-out", func(t *testing.T, x session) {
			redirectsTo(t, s.postForm("/cp/signout", cookie(x.cookie), nil), "/cp/signin?reason=logout")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := s.login("staff@example.com", "control_panel", 0)
			var same bool
			err := s.pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM sessions s
				JOIN sessionguard_scs_data d ON d.token_hash = s.session_token_hash WHERE s.id = $1)`, x.id).Scan(&same)
			if err != nil || !same {
				t.Fatalf("no scs data row under the session's token hash (err %v)", err)
			}
			tt.end(t, x)
			if s.scsDataExists(x.token) {
				t.Errorf("the scs data of the ended session is still there")
			}
			if res := s.do("GET", "/api/me", cookie(x.cookie), nil); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("the cookie still works: %d", res.StatusCode)
			}
		})
	}
}

// TestControlPanelSteadyStateWritesNothing: within the touch interval, the
// control panel's requests (pages, the API with its cookie or bearer token,
// the warning's peek and keepalive) write neither the sessions row nor the
// scs data row: scs has no idle timeout to rewrite, and sessionguard touches
// at most once per interval.
func TestControlPanelSteadyStateWritesNothing(t *testing.T) {
	t.Parallel()
	s := startExample(t, func(c *config) {
		c.IdleTimeout = time.Hour // a touch interval of 60 s
		c.AbsoluteTimeout = 2 * time.Hour
		c.WarningThreshold = 5 * time.Minute
	})
	_, c := s.signinForm("/cp/signin", "staff@example.com", testPassword, cpCookie)
	if c == nil {
		t.Fatal("no cookie")
	}
	staff := cookie(&http.Cookie{Name: c.Name, Value: c.Value})
	id := s.onlySession("staff@example.com")
	rows := func() (sessionXmin, dataXmin string, lastActivity time.Time) {
		t.Helper()
		err := s.pool.QueryRow(t.Context(), `SELECT s.xmin::text, d.xmin::text, s.last_activity_at
			FROM sessions s JOIN sessionguard_scs_data d ON d.token_hash = s.session_token_hash WHERE s.id = $1`, id).
			Scan(&sessionXmin, &dataXmin, &lastActivity)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	sx, dx, at := rows()
	for i := range 3 {
		for _, req := range []struct{ method, path string }{
			{"GET", "/cp/"}, {"GET", "/cp/sessions"}, {"GET", "/cp/password"},
			{"GET", "/api/me"}, {"GET", "/api/session"}, {"POST", "/api/session/keepalive"},
		} {
			res := s.do(req.method, req.path, staff, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d", req.method, req.path, res.StatusCode)
			}
			if len(res.Cookies()) != 0 {
				t.Errorf("%s %s sets a cookie: %v", req.method, req.path, res.Header["Set-Cookie"])
			}
		}
		if res := s.do("GET", "/api/me", bearer(c.Value), nil); res.StatusCode != http.StatusOK {
			t.Fatalf("bearer: %d", res.StatusCode)
		}
		sx2, dx2, at2 := rows()
		if sx2 != sx || dx2 != dx || !at2.Equal(at) {
			t.Fatalf("round %d: a row was written (sessions xmin %s → %s, scs data xmin %s → %s, last_activity_at %v → %v)",
				i+1, sx, sx2, dx, dx2, at, at2)
		}
	}
	// The test can fail: a flash is a write of the scs data, once.
	redirectsTo(t, s.postForm("/cp/sessions/revoke-others", staff, nil), "/cp/sessions")
	if _, dx2, _ := rows(); dx2 == dx {
		t.Errorf("a flash message did not write the scs data")
	}
}

// queryCounter counts the statements that the example's HTTP requests send
// (statements whose context is a request's). Statements of background work
// (cleanup) and of the test itself are not counted.
type queryCounter struct{ n atomic.Int64 }

// startCountingExample is startExample on a pool whose statements are
// counted.
func startCountingExample(t *testing.T, change ...func(*config)) (*exampleServer, *queryCounter) {
	t.Helper()
	queries := &queryCounter{}
	s := startExample(t, append([]func(*config){func(c *config) {
		c.poolConfig.ConnConfig.Tracer = queries
	}}, change...)...)
	return s, queries
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if ctx.Value(http.LocalAddrContextKey) == nil {
		return ctx // not on behalf of a request
	}
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestMalformedCredentialsCostNoQuery: whatever a request carries, if it
// cannot be a token (or is ambiguous), it is refused without a query: the
// /api dispatch, the control panel's scs cookie and the tenant API alike.
// One exception, by design: a well-formed control-panel cookie beside a
// bearer token that contradicts it is refused too, but its scs session is
// loaded first (Guard.LoadAndSave: a public page that writes to the session
// keeps the user's cookie), one lookup, what the same cookie alone costs.
func TestMalformedCredentialsCostNoQuery(t *testing.T) {
	t.Parallel()
	s, queries := startCountingExample(t)
	staff := s.login("staff@example.com", "control_panel", 0)
	alice := s.login("alice@acme.example", "tenant_app", acmeID)
	opaqueLike := strings.Repeat("A", 42) + "B" // 43 characters, but not a canonical encoding of 32 bytes
	two := func(v1, v2 string) []string {
		return []string{"Cookie", cpCookie + "=" + v1 + "; " + cpCookie + "=" + v2}
	}
	tests := []struct {
		name, method, path string
		c                  cred
		header             []string
		status             int
	}{
		{"no credentials", "GET", "/api/me", cred{}, nil, 401},
		{"short bearer", "GET", "/api/me", bearer("abc"), nil, 401},
		{"not quite opaque bearer", "GET", "/api/session", bearer(opaqueLike), nil, 401},
		{"opaque bearer with a byte changed", "GET", "/api/me", bearer(staff.token[:42] + "!"), nil, 400}, // no token has "!": RFC 6750's invalid_request
		{"JWT-shaped garbage", "GET", "/api/me", bearer("a.b.c"), nil, 401},
		{"forged JWT", "POST", "/api/session/keepalive", bearer(alice.token[:len(alice.token)-4] + "AAAA"), nil, 401},
		{"bearer with a space", "GET", "/api/me", cred{}, []string{"Authorization", "Bearer a b"}, 400},
		{"malformed cp cookie", "GET", "/api/me", cookieOf(cpCookie, "not-a-token"), nil, 401},
		{"cp cookie holding a JWT", "GET", "/api/me", cookieOf(cpCookie, alice.token), nil, 401},
		{"cp cookie and another bearer", "GET", "/api/me", cred{cookie: staff.cookie, bearer: alice.token}, nil, 401},
		{"two cp cookies", "GET", "/api/session", cred{}, two(staff.token, staff.token), 401},
		{"malformed bearer logout", "POST", "/t/acme/api/logout", bearer("x.y"), nil, 200},
		{"forged JWT logout", "POST", "/t/acme/api/logout", bearer(alice.token[:len(alice.token)-4] + "AAAA"), nil, 200},
		{"quoted cp cookie", "GET", "/api/me", cred{}, []string{"Cookie", cpCookie + `="` + staff.token + `"`}, 401},
		{"tenant token on the control panel's API", "GET", "/api/me", bearer(alice.token), nil, 401},
		{"cp token on the tenant API", "GET", "/t/acme/api/me", bearer(staff.token), nil, 401},
		{"cp cookie, and a bearer that differs in case only", "GET", "/api/me", cred{cookie: staff.cookie, bearer: strings.ToLower(staff.token)}, nil, 401},
		{"malformed cp cookie on a page", "GET", "/cp/sessions", cookieOf(cpCookie, "not-a-token"), nil, 303},
		{"cp cookie holding a JWT on a page", "GET", "/cp/", cookieOf(cpCookie, alice.token), nil, 303},
		{"malformed cp cookie on the sign-in page", "GET", "/cp/signin", cookieOf(cpCookie, "x"), nil, 200},
		{"malformed bearer on the tenant API", "GET", "/t/acme/api/me", bearer("abc"), nil, 401},
		{"forged JWT on the tenant API", "GET", "/t/acme/api/session", bearer(alice.token[:len(alice.token)-4] + "AAAA"), nil, 401},
		{"tenant cookie and another bearer", "GET", "/t/acme/api/me", cred{cookie: alice.cookie, bearer: staff.token}, nil, 401},
	}
	// The scs session's load of a well-formed cookie beside a bearer token
	// that contradicts it; every other request, none.
	scsLoads := map[string]int64{"cp cookie and another bearer": 1, "cp cookie, and a bearer that differs in case only": 1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := queries.n.Load()
			res := s.do(tt.method, tt.path, tt.c, nil, tt.header...)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, res.body)
			}
			if n := queries.n.Load() - before; n != scsLoads[tt.name] {
				t.Errorf("%d queries, want %d", n, scsLoads[tt.name])
			}
		})
	}
	// The counter counts: a well-formed token is looked up.
	for _, x := range []struct {
		path string
		c    cred
	}{{"/api/session", bearer(staff.token)}, {"/api/session", cookie(staff.cookie)}, {"/t/acme/api/session", bearer(alice.token)}} {
		c := x.c
		before := queries.n.Load()
		if res := s.do("GET", x.path, c, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", c, res.StatusCode)
		}
		if queries.n.Load() == before {
			t.Errorf("a valid %s cost no query: the counter does not count", c)
		}
	}
}

// sessionTables is every row version of the sessions and scs data tables: a
// write of any row (insert, delete, even an update that changes nothing)
// changes it.
func (s *exampleServer) sessionTables() string {
	s.t.Helper()
	var state string
	err := s.pool.QueryRow(context.Background(), `SELECT
		coalesce((SELECT string_agg(xmin::text || ':' || id::text, ',' ORDER BY id) FROM sessions), '') || '|' ||
		coalesce((SELECT string_agg(xmin::text || ':' || token_hash, ',' ORDER BY token_hash) FROM sessionguard_scs_data), '')`).
		Scan(&state)
	if err != nil {
		s.t.Fatal(err)
	}
	return state
}

// TestRefusedRequestsWriteNothing: a refused or anonymous request writes
// nothing: no sessions row, no scs data row, no cookie. Before, each refused
// control-panel page stored its flash message in a new anonymous scs session
// (20 refused requests, 20 rows living for the absolute timeout); now the
// reason travels in the redirect.
func TestRefusedRequestsWriteNothing(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	ended := s.login("staff@example.com", "control_panel", 0)
	if res := s.do("POST", "/api/logout", bearer(ended.token), nil); res.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	idle := s.login("admin@example.com", "control_panel", 0)
	s.age(idle.id, testIdle+time.Second)
	alice := s.login("alice@acme.example", "tenant_app", acmeID)
	s.age(alice.id, testIdle+time.Second)
	// The first request that finds a session timed out records its end (the
	// library's audit, once per session: Status.EndedNow); that write is the
	// session's, not the refusal's, so it happens before the count.
	for _, x := range []struct {
		path string
		c    cred
	}{{"/api/me", bearer(idle.token)}, {"/t/acme/api/me", bearer(alice.token)}} {
		if res := s.do("GET", x.path, x.c, nil); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", x.path, res.StatusCode)
		}
	}
	type request struct {
		name string
		send func() response
	}
	var requests []request
	for i := range 20 {
		c := []cred{cookie(ended.cookie), cookie(idle.cookie)}[i%2]
		requests = append(requests, request{"control-panel page, ended session", func() response { return s.do("GET", "/cp/sessions", c, nil) }})
	}
	requests = append(requests,
		request{"control-panel page, no cookie", func() response { return s.do("GET", "/cp/", cred{}, nil) }},
		request{"control-panel page, malformed cookie", func() response { return s.do("GET", "/cp/", cookieOf(cpCookie, "x"), nil) }},
		request{"control-panel admin page, ended session", func() response { return s.do("GET", "/cp/admin", cookie(ended.cookie), nil) }},
		request{"control-panel form, ended session", func() response {
			return s.postForm("/cp/sessions/revoke-others", cookie(ended.cookie), nil)
		}},
		request{"sign-in page with a reason", func() response { return s.do("GET", "/cp/signin?reason=idle", cookie(ended.cookie), nil) }},
		request{"failed control-panel sign-in", func() response {
			return s.postForm("/cp/signin", cred{}, formOf("email", "staff@example.com", "password", "wrong-password"))
		}},
		request{"failed control-panel sign-in, ended cookie", func() response {
			return s.postForm("/cp/signin", cookie(ended.cookie), formOf("email", "nobody@example.com", "password", "wrong-password"))
		}},
		request{"failed tenant sign-in", func() response {
			return s.postForm("/t/acme/signin", cred{}, formOf("email", "alice@acme.example", "password", "wrong-password"))
		}},
		request{"failed API sign-in", func() response {
			return s.postJSON("/t/acme/api/login", cred{}, `{"email":"alice@acme.example","password":"wrong-password"}`)
		}},
		request{"tenant page, idle session", func() response { return s.do("GET", "/t/acme/", cookie(alice.cookie), nil) }},
		request{"API, ended cookie", func() response { return s.do("GET", "/api/me", cookie(ended.cookie), nil) }},
		request{"API keepalive, idle bearer", func() response { return s.do("POST", "/api/session/keepalive", bearer(idle.token), nil) }},
		request{"tenant API keepalive, idle cookie", func() response {
			return s.do("POST", "/t/acme/api/session/keepalive", cookie(alice.cookie), nil)
		}},
	)
	before := s.sessionTables()
	for _, rq := range requests {
		res := rq.send()
		if res.StatusCode == http.StatusOK && !strings.HasPrefix(rq.name, "sign-in page") || res.StatusCode >= 500 {
			t.Errorf("%s: %d, want a refusal", rq.name, res.StatusCode)
		}
		if sc := res.Header["Set-Cookie"]; len(sc) != 0 {
			t.Errorf("%s sets a cookie: %v", rq.name, sc)
		}
	}
	if after := s.sessionTables(); after != before {
		t.Errorf("the refused requests wrote:\nbefore %s\nafter  %s", before, after)
	}
	// The check can fail: a touch, even one that changes no value, is seen.
	live := s.login("staff@example.com", "control_panel", 0)
	before = s.sessionTables()
	if res := s.do("GET", "/api/me", bearer(live.token), nil); res.StatusCode != http.StatusOK {
		t.Fatalf("live session: %d", res.StatusCode)
	}
	if s.sessionTables() == before {
		t.Errorf("a touch went unseen")
	}
}

// TestRevocationsRecordTheActor: the store's audit events go to the app's
// logger, and a revocation made on a page records who made it: the admin on
// the admin page, the user on "your sessions".
func TestRevocationsRecordTheActor(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	s := startExample(t, func(c *config) { c.logger = slog.New(slog.NewTextHandler(&out, nil)) })
	userID := func(email string) (id int64) {
		t.Helper()
		if err := s.pool.QueryRow(t.Context(), "SELECT id FROM users WHERE email = $1", email).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	admin := s.login("admin@example.com", "control_panel", 0)
	staff := s.login("staff@example.com", "control_panel", 0)
	alice := s.login("alice@acme.example", "tenant_app", acmeID)
	redirectsTo(t, s.postForm("/cp/admin/revoke", cookie(admin.cookie), formOf("id", alice.id)), "/cp/admin")
	other := s.login("staff@example.com", "control_panel", 0)
	redirectsTo(t, s.postForm("/cp/sessions/revoke", cookie(staff.cookie), formOf("id", other.id)), "/cp/sessions")
	for _, want := range []string{
		fmt.Sprintf("reason=admin_revoke count=1 session_id=%s user_id=%d tenant_id=%d app_type=tenant_app actor_id=%d",
			alice.id, userID("alice@acme.example"), acmeID, userID("admin@example.com")),
		fmt.Sprintf("reason=user_revoke count=1 session_id=%s user_id=%d actor_id=%d",
			other.id, userID("staff@example.com"), userID("staff@example.com")),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no audit line with %q in:\n%s", want, out.String())
		}
	}
}

// The control panel's scs store fails on a request (cpSessionError): a 503
// either way, logged at Error level when the database fails, but at Debug
// level when the client left before the store answered (the call failing
// with its context canceled), as the Guards log a "canceled" refusal: a
// client closing its tab is no outage to page about.
func TestControlPanelSessionErrorLevel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := connect(ctx, pgtest.NewPool(t).Config(), slog.New(slog.DiscardHandler), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.close() })
	down, err := pgxpool.NewWithConfig(ctx, db.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	down.Close()
	for _, tt := range []struct {
		name  string
		pool  *pgxpool.Pool
		leave func(t *testing.T, cancel context.CancelFunc)
		want  slog.Level
	}{
		{"the database down", down, nil, slog.LevelError},
		{"the client gone before the query", db.pool, func(_ *testing.T, cancel context.CancelFunc) { cancel() }, slog.LevelDebug},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store, err := pgstore.New(tt.pool, pgstore.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			scsStore, err := pgstore.NewSCSStore(store, pgstore.SCSConfig{})
			if err != nil {
				t.Fatal(err)
			}
			logged := &levels{}
			a := &app{cfg: config{AbsoluteTimeout: time.Hour}, log: slog.New(logged)}
			h := a.newCPSessions(scsStore).LoadAndSave(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				t.Error("the request was served without its session data")
			}))
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if tt.leave != nil {
				tt.leave(t, cancel)
			}
			r := httptest.NewRequestWithContext(rctx, http.MethodGet, "/api/me", nil)
			r.AddCookie(&http.Cookie{Name: cpCookie, Value: strings.Repeat("t", 43)})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusServiceUnavailable {
				t.Errorf("status %d, want 503", w.Code)
			}
			if got := logged.of("example: control-panel session data"); !slices.Equal(got, []slog.Level{tt.want}) {
				t.Errorf("logged at %v, want once at %v", got, tt.want)
			}
		})
	}
}

// levels is a slog.Handler that keeps the level of every record, by message.
type levels struct {
	mu sync.Mutex
	by map[string][]slog.Level
}

func (l *levels) Enabled(context.Context, slog.Level) bool { return true }
func (l *levels) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *levels) WithGroup(string) slog.Handler            { return l }
func (l *levels) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[string][]slog.Level{}
	}
	l.by[r.Message] = append(l.by[r.Message], r.Level)
	return nil
}

func (l *levels) of(msg string) []slog.Level {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[msg]
}
