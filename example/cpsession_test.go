package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The control panel keeps flash messages and form state in scs, through
// pgstore.SCSStore, next to the sessions table.

// TestControlPanelFlashAfterAdminRevoke: an admin revokes a staff member's
// session on the admin page; the staff member's next page load goes to the
// sign-in page, which says why once.
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

	redirectsTo(t, staff.get("/cp/"), "/cp/signin")
	staff.flashOnce(t, "/cp/signin", signinReasons["admin_revoke"])
	// Still signed out, and nothing more to say.
	redirectsTo(t, staff.get("/cp/"), "/cp/signin")
	if got := notice(t, staff.get("/cp/signin")); got != "" {
		t.Errorf("the sign-in page says %q on the next visit", got)
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

// TestControlPanelRemembersEmail: a failed sign-in keeps the e-mail (never
// the password) in the visitor's scs session, so the form comes back filled
// in; a successful sign-in forgets it.
func TestControlPanelRemembersEmail(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	const wrong = "wrong-password-123"
	b := s.browser(nil)
	res := b.post("/cp/signin", formOf("email", "staff@example.com", "password", wrong))
	if res.StatusCode != http.StatusUnauthorized || b.cookie == nil {
		t.Fatalf("failed sign-in: %d, cookie %v; want 401 and an scs cookie", res.StatusCode, b.cookie)
	}
	// Later, after going elsewhere: the form is filled in.
	redirectsTo(t, b.get("/cp/"), "/cp/signin")
	const filled = `value="staff@example.com"`
	res = b.get("/cp/signin")
	if !strings.Contains(string(res.body), filled) {
		t.Errorf("the sign-in form is not filled in with the e-mail of the failed attempt")
	}
	if strings.Contains(string(res.body), wrong) {
		t.Errorf("the sign-in page shows the password")
	}
	data, ok := s.scsData(b.cookie.Value)
	if !ok {
		t.Fatalf("the anonymous scs session has no data row")
	}
	if !bytes.Contains(data, []byte("staff@example.com")) || bytes.Contains(data, []byte(wrong)) {
		t.Errorf("scs data %q: want the e-mail, never the password", data)
	}
	if got := notice(t, res); got != "" {
		t.Errorf("the sign-in page says %q", got)
	}

	// A fresh browser sees an empty form.
	if res := s.do("GET", "/cp/signin", cred{}, nil); strings.Contains(string(res.body), filled) {
		t.Errorf("another browser sees the remembered e-mail")
	}

	// Signing in renews the token (the anonymous one is gone) and forgets
	// the e-mail.
	anonymous := b.cookie.Value
	redirectsTo(t, b.post("/cp/signin", formOf("email", "staff@example.com", "password", testPassword)), "/cp/")
	if b.cookie == nil || b.cookie.Value == anonymous {
		t.Fatalf("sign-in kept the anonymous scs token")
	}
	if s.scsDataExists(anonymous) {
		t.Errorf("the anonymous scs data outlived the sign-in")
	}
	redirectsTo(t, b.post("/cp/signout", nil), "/cp/signin?reason=logout")
	if res := b.get("/cp/signin"); strings.Contains(string(res.body), filled) {
		t.Errorf("the e-mail is still remembered after a successful sign-in and sign-out")
	}
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

// queryCounter counts the statements a pool sends.
type queryCounter struct{ n atomic.Int64 }

// startCountingExample is startExample on a pool whose statements are
// counted.
func startCountingExample(t *testing.T, change ...func(*config)) (*exampleServer, *queryCounter) {
	t.Helper()
	queries := &queryCounter{}
	s := startExample(t, append([]func(*config){func(c *config) {
		pc := c.pool.Config()
		pc.ConnConfig.Tracer = queries
		pool, err := pgxpool.NewWithConfig(t.Context(), pc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		c.pool = pool
	}}, change...)...)
	return s, queries
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestMalformedCredentialsCostNoQuery: whatever a request carries, if it
// cannot be a token (or is ambiguous), it is refused without a query: the
// /api dispatch, the control panel's scs cookie and the tenant API alike.
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
		{"opaque bearer with a byte changed", "GET", "/api/me", bearer(staff.token[:42] + "!"), nil, 401},
		{"JWT-shaped garbage", "GET", "/api/me", bearer("a.b.c"), nil, 401},
		{"forged JWT", "POST", "/api/session/keepalive", bearer(alice.token[:len(alice.token)-4] + "AAAA"), nil, 401},
		{"bearer with a space", "GET", "/api/me", cred{}, []string{"Authorization", "Bearer a b"}, 401},
		{"malformed cp cookie", "GET", "/api/me", cookieOf(cpCookie, "not-a-token"), nil, 401},
		{"cp cookie holding a JWT", "GET", "/api/me", cookieOf(cpCookie, alice.token), nil, 401},
		{"cp cookie and another bearer", "GET", "/api/me", cred{cookie: staff.cookie, bearer: alice.token}, nil, 401},
		{"two cp cookies", "GET", "/api/session", cred{}, two(staff.token, staff.token), 401},
		{"malformed bearer logout", "POST", "/api/logout", bearer("x.y"), nil, 200},
		{"malformed cp cookie on a page", "GET", "/cp/sessions", cookieOf(cpCookie, "not-a-token"), nil, 303},
		{"cp cookie holding a JWT on a page", "GET", "/cp/", cookieOf(cpCookie, alice.token), nil, 303},
		{"malformed cp cookie on the sign-in page", "GET", "/cp/signin", cookieOf(cpCookie, "x"), nil, 200},
		{"malformed bearer on the tenant API", "GET", "/t/acme/api/me", bearer("abc"), nil, 401},
		{"tenant cookie and another bearer", "GET", "/t/acme/api/me", cred{cookie: alice.cookie, bearer: staff.token}, nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := queries.n.Load()
			res := s.do(tt.method, tt.path, tt.c, nil, tt.header...)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, res.body)
			}
			if n := queries.n.Load() - before; n != 0 {
				t.Errorf("%d queries, want none", n)
			}
		})
	}
	// The counter counts: a well-formed token is looked up.
	for _, c := range []cred{bearer(staff.token), cookie(staff.cookie), bearer(alice.token)} {
		before := queries.n.Load()
		if res := s.do("GET", "/api/session", c, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", c, res.StatusCode)
		}
		if queries.n.Load() == before {
			t.Errorf("a valid %s cost no query: the counter does not count", c)
		}
	}
}
