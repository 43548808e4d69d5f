package main

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ageAuth moves a session's last authentication back by d, as if the
// password had been entered d earlier: the database's clock decides.
func (s *exampleServer) ageAuth(id string, d time.Duration) {
	s.t.Helper()
	if _, err := s.pool.Exec(context.Background(),
		"UPDATE sessions SET auth_time = auth_time - make_interval(secs => $2) WHERE id = $1", id, d.Seconds()); err != nil {
		s.t.Fatal(err)
	}
}

// reauthURL is where a page that asks for a recent authentication sends the
// browser from path.
func reauthURL(path string) string {
	return cpReauthPath + "?" + url.Values{"return": {path}, "reason": {"reauthentication_required"}}.Encode()
}

// returnField is the value of the re-enter-password form's return field.
func returnField(t *testing.T, res response) string {
	t.Helper()
	body := string(res.body)
	const open = `<input type="hidden" name="return" value="`
	i := strings.Index(body, open)
	if i < 0 {
		t.Fatalf("%s: no return field", res.Request.URL)
	}
	v, _, _ := strings.Cut(body[i+len(open):], `"`)
	return html.UnescapeString(v)
}

// TestReauthenticationWindow: the password change, "your sessions" and the
// admin pages let in a session whose password was entered within the window,
// and send an older one to the re-enter-password page with the path to
// return to, without ending it; the dashboard asks nothing more.
func TestReauthenticationWindow(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	staffID := s.login("staff@example.com", "control_panel", 0).id
	tests := []struct {
		method, path, email string
		form                url.Values
		fresh               int    // status with a fresh authentication
		freshTo             string // its Location, for a redirect
	}{
		{"GET", "/cp/sessions", "staff@example.com", nil, http.StatusOK, ""},
		{"GET", "/cp/password", "staff@example.com", nil, http.StatusOK, ""},
		{"POST", "/cp/password", "staff@example.com", formOf("current", "wrong-password"), http.StatusUnprocessableEntity, ""},
		{"POST", "/cp/sessions/revoke", "staff@example.com", formOf("id", staffID), http.StatusSeeOther, "/cp/sessions"},
		{"POST", "/cp/sessions/revoke-others", "staff@example.com", nil, http.StatusSeeOther, "/cp/sessions"},
		{"GET", "/cp/admin", "admin@example.com", nil, http.StatusOK, ""},
		{"GET", "/cp/admin?page=2", "admin@example.com", nil, http.StatusOK, ""},
		{"POST", "/cp/admin/revoke", "admin@example.com", formOf("id", staffID), http.StatusSeeOther, "/cp/admin"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			x := s.login(tt.email, "control_panel", 0)
			call := func() response {
				if tt.method == "POST" {
					return s.postForm(tt.path, cookie(x.cookie), tt.form)
				}
				return s.do("GET", tt.path, cookie(x.cookie), nil)
			}
			s.ageAuth(x.id, 9*time.Minute)
			if res := call(); res.StatusCode != tt.fresh || res.Header.Get("Location") != tt.freshTo {
				t.Fatalf("9 minutes after sign-in: %d → %q, want %d → %q", res.StatusCode, res.Header.Get("Location"), tt.fresh, tt.freshTo)
			}
			s.ageAuth(x.id, 2*time.Minute)
			res := call()
			redirectsTo(t, res, reauthURL(tt.path))
			if h := res.Header.Get("X-Session-Reauthentication"); h != "reauthentication_required" {
				t.Errorf("X-Session-Reauthentication %q", h)
			}
			if sc := res.Header["Set-Cookie"]; len(sc) != 0 {
				t.Errorf("the refusal sets a cookie: %v", sc)
			}
			// Not ended: the dashboard still opens, and asks nothing more.
			if res := s.do("GET", "/cp/", cookie(x.cookie), nil); res.StatusCode != http.StatusOK {
				t.Errorf("dashboard after the refusal: %d", res.StatusCode)
			}
		})
	}
}

// TestReauthenticate: the re-enter-password page checks the password, gives
// the session a new cookie (the old one refused at once), keeps the session,
// and returns to the page that asked, which then opens.
func TestReauthenticate(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	x := s.login("staff@example.com", "control_panel", 0)
	s.ageAuth(x.id, 11*time.Minute)
	b := s.browser(x.cookie)
	res := b.get("/cp/password")
	redirectsTo(t, res, reauthURL("/cp/password"))

	page := b.get(res.Header.Get("Location"))
	if page.StatusCode != http.StatusOK || notice(t, page) != signinReasons["reauthentication_required"] {
		t.Fatalf("re-enter-password page: %d, notice %q", page.StatusCode, notice(t, page))
	}
	if got := returnField(t, page); got != "/cp/password" {
		t.Errorf("return field %q", got)
	}
	if !strings.Contains(string(page.body), "in the last 10 minutes") {
		t.Errorf("the page does not say how recent the password must be")
	}

	wrong := b.post(cpReauthPath, formOf("return", "/cp/password", "password", "wrong-password"))
	if wrong.StatusCode != http.StatusUnauthorized || !strings.Contains(string(wrong.body), "The password is wrong.") {
		t.Errorf("wrong password: %d", wrong.StatusCode)
	}
	if b.cookie.Value != x.cookie.Value {
		t.Errorf("a wrong password changed the cookie")
	}
	redirectsTo(t, b.get("/cp/password"), reauthURL("/cp/password"))

	redirectsTo(t, b.post(cpReauthPath, formOf("return", "/cp/password", "password", testPassword)), "/cp/password")
	if b.cookie == nil || b.cookie.Value == x.cookie.Value {
		t.Fatalf("re-authentication kept the cookie; ASVS 7.2.4 asks for a new token")
	}
	if res := b.get("/cp/password"); res.StatusCode != http.StatusOK {
		t.Errorf("the password page after re-authentication: %d", res.StatusCode)
	}
	if res := b.get("/cp/sessions"); res.StatusCode != http.StatusOK {
		t.Errorf("your sessions after re-authentication: %d", res.StatusCode)
	}
	// The same session, with its history.
	if id := s.do("GET", "/api/me", b.cred(), nil).json(t)["session_id"]; id != x.id {
		t.Errorf("the new cookie's session is %v, want %s", id, x.id)
	}
	var live, count int
	if err := s.pool.QueryRow(t.Context(), "SELECT count(*) FILTER (WHERE is_active), count(*) FROM sessions WHERE id = $1", x.id).Scan(&live, &count); err != nil || live != 1 {
		t.Errorf("session %s: live %d of %d (%v)", x.id, live, count, err)
	}
	// The old cookie is refused at once.
	res = s.do("GET", "/cp/", cookie(x.cookie), nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/cp/signin") {
		t.Errorf("the old cookie after re-authentication: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	// Signed out: the page sends the browser to sign in, not to re-enter.
	redirectsTo(t, s.do("GET", cpReauthPath, cred{}, nil), "/cp/signin")
	// A refused POST returns to its own path: its GET leads to the form.
	for action, form := range map[string]string{"/cp/sessions/revoke": "/cp/sessions",
		"/cp/sessions/revoke-others": "/cp/sessions", "/cp/admin/revoke": "/cp/admin"} {
		redirectsTo(t, s.do("GET", action, cred{}, nil), form)
	}
}

// TestReauthenticationReturnPath: a return value that could lead off the site
// becomes the control panel's home, in the form and in the redirect after
// the password; a local path (with its query) is kept.
func TestReauthenticationReturnPath(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	x := s.login("staff@example.com", "control_panel", 0)
	b := s.browser(x.cookie)
	tests := []struct{ ret, want string }{
		{"/cp/sessions", "/cp/sessions"},
		{"/cp/admin?page=2", "/cp/admin?page=2"},
		{"", cpHome},
		{"https://evil.example/", cpHome},
		{"//evil.example/cp/", cpHome},
		{"/\\evil.example", cpHome},
		{"\\\\evil.example", cpHome},
		{"/\t/evil.example", cpHome},
		{"/\n/evil.example", cpHome},
		{"javascript:alert(1)", cpHome},
		{"cp/sessions", cpHome},
		{"http:/evil.example", cpHome},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"}, // a path of this site, escaped
		{"/cp/\u00e9", cpHome},
		{"/" + strings.Repeat("a", 3000), cpHome},
	}
	for _, tt := range tests {
		t.Run(tt.ret, func(t *testing.T) {
			page := b.get(cpReauthPath + "?" + url.Values{"return": {tt.ret}}.Encode())
			if page.StatusCode != http.StatusOK {
				t.Fatalf("page: %d", page.StatusCode)
			}
			if got := returnField(t, page); got != tt.want {
				t.Errorf("return field %q, want %q", got, tt.want)
			}
			redirectsTo(t, b.post(cpReauthPath, formOf("return", tt.ret, "password", testPassword)), tt.want)
		})
	}
}

// TestReauthenticationThrottled: re-entering the password is throttled as
// signing in is: after the account's allowance of failures, even the right
// password waits.
func TestReauthenticationThrottled(t *testing.T) {
	t.Parallel()
	s := startExample(t, func(c *config) { c.accountLimit = rateLimit{every: time.Hour, burst: 2} })
	x := s.login("staff@example.com", "control_panel", 0)
	for i, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
		if res := s.postForm(cpReauthPath, cookie(x.cookie), formOf("password", "wrong-password")); res.StatusCode != want {
			t.Errorf("attempt %d: %d, want %d", i+1, res.StatusCode, want)
		}
	}
	res := s.postForm(cpReauthPath, cookie(x.cookie), formOf("password", testPassword))
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("right password while throttled: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if _, err := setCookie(res, cpCookie); err == nil {
		t.Errorf("a throttled attempt renewed the cookie")
	}
	api := s.postJSON("/api/reauthenticate", bearer(x.token), `{"password":"`+testPassword+`"}`)
	if api.StatusCode != http.StatusTooManyRequests || api.json(t)["error"] != "too_many_attempts" {
		t.Errorf("API while throttled: %d %s", api.StatusCode, api.body)
	}
}

// TestAPIReauthentication: GET /api/sessions asks for a recent
// authentication; a bearer client gets RFC 9470's challenge, re-enters the
// password at POST /api/reauthenticate and continues with the new token; the
// old token is refused, the session lives on.
func TestAPIReauthentication(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	x := s.login("staff@example.com", "control_panel", 0)
	if res := s.do("GET", "/api/sessions", bearer(x.token), nil); res.StatusCode != http.StatusOK {
		t.Fatalf("fresh session: %d", res.StatusCode)
	}
	s.ageAuth(x.id, 11*time.Minute)

	res := s.do("GET", "/api/sessions", bearer(x.token), nil)
	const challenge = `Bearer realm="sessionguard", error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=600`
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != challenge {
		t.Fatalf("stale bearer: %d, WWW-Authenticate %q; want 401, %q", res.StatusCode, res.Header.Get("WWW-Authenticate"), challenge)
	}
	if m := res.json(t); m["reason"] != "reauthentication_required" || m["max_age"] != float64(600) ||
		res.Header.Get("X-Session-Reauthentication") != "reauthentication_required" {
		t.Errorf("body %s, X-Session-Reauthentication %q", res.body, res.Header.Get("X-Session-Reauthentication"))
	}
	// A cookie client gets the same refusal with the bare challenge (a 401 has one), no error.
	res = s.do("GET", "/api/sessions", cookie(x.cookie), nil)
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Bearer realm="sessionguard"` || res.json(t)["reason"] != "reauthentication_required" {
		t.Errorf("stale cookie: %d, WWW-Authenticate %q, %s", res.StatusCode, res.Header.Get("WWW-Authenticate"), res.body)
	}
	if res := s.do("GET", "/api/me", bearer(x.token), nil); res.StatusCode != http.StatusOK {
		t.Errorf("the refusal ended the session: %d", res.StatusCode)
	}

	for _, body := range []string{`{"password":"wrong-password"}`, `{"password":""}`} {
		if res := s.postJSON("/api/reauthenticate", bearer(x.token), body); res.StatusCode != http.StatusUnauthorized || res.json(t)["error"] != "invalid_credentials" {
			t.Errorf("%s: %d %s", body, res.StatusCode, res.body)
		}
	}
	if res := s.postJSON("/api/reauthenticate", bearer(x.token), `{"password":1}`); res.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed body: %d", res.StatusCode)
	}
	if res := s.postJSON("/api/reauthenticate", cred{}, `{"password":"`+testPassword+`"}`); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no session: %d", res.StatusCode)
	}
	res = s.postJSON("/api/reauthenticate", bearer(x.token), `{"password":"`+testPassword+`"}`)
	m := res.json(t)
	fresh, _ := m["token"].(string)
	if res.StatusCode != http.StatusOK || fresh == "" || fresh == x.token || m["session_id"] != x.id {
		t.Fatalf("reauthenticate: %d, new token %t, session %v (want %s)", res.StatusCode, fresh != "" && fresh != x.token, m["session_id"], x.id)
	}
	if res := s.do("GET", "/api/me", bearer(x.token), nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old token after re-authentication: %d", res.StatusCode)
	}
	res = s.do("GET", "/api/sessions", bearer(fresh), nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(res.body), `"id":"`+x.id+`","current":true`) {
		t.Errorf("sessions with the new token: %d %s", res.StatusCode, res.body)
	}
}

// TestTenantSessionLimit: a tenant-app user holds at most 3 sessions; a
// fourth sign-in ends the least recently active one with session_limit, and
// that session's next page says why.
func TestTenantSessionLimit(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	var alice []session
	for range 3 {
		alice = append(alice, s.login("alice@acme.example", "tenant_app", acmeID))
	}
	liveCount := func() int {
		var n int
		if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE u.email = 'alice@acme.example' AND s.is_active`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	endedWith := func(id string) string {
		var reason *string
		if err := s.pool.QueryRow(t.Context(), "SELECT revoke_reason FROM sessions WHERE id = $1", id).Scan(&reason); err != nil {
			t.Fatal(err)
		}
		if reason == nil {
			return ""
		}
		return *reason
	}
	// Another user's sessions do not count against alice's.
	s.login("bob@globex.example", "tenant_app", globexID)

	// The fourth sign-in (the form's) ends the oldest session.
	res, c := s.signinForm("/t/acme/signin", "alice@acme.example", testPassword, tenantCookie)
	if res.StatusCode != http.StatusSeeOther || c == nil {
		t.Fatalf("fourth sign-in: %d", res.StatusCode)
	}
	if n := liveCount(); n != 3 {
		t.Errorf("%d live sessions after the fourth sign-in, want 3", n)
	}
	if got := endedWith(alice[0].id); got != "session_limit" {
		t.Errorf("the oldest session ended with %q, want session_limit", got)
	}
	for _, x := range alice[1:] {
		if got := endedWith(x.id); got != "" {
			t.Errorf("session %s ended with %q", x.id, got)
		}
	}
	// Its user sees why: the page sends the browser to the sign-in page,
	// which says so; the API says session_limit.
	res = s.do("GET", "/t/acme/", cookie(alice[0].cookie), nil)
	redirectsTo(t, res, "/t/acme/signin?reason=session_limit")
	const want = "You were signed out because you signed in on another device."
	if got := notice(t, s.do("GET", res.Header.Get("Location"), cred{}, nil)); got != want {
		t.Errorf("the sign-in page says %q, want %q", got, want)
	}
	if reason, end := endReason(t, s.do("GET", "/t/acme/api/me", bearer(alice[0].token), nil)); reason != "revoked" || end != "session_limit" {
		t.Errorf("API refusal: reason %q, end reason %q", reason, end)
	}

	// Least recently active, not oldest: after alice[1] is used, a fifth
	// sign-in ends alice[2].
	if res := s.do("GET", "/t/acme/api/me", bearer(alice[1].token), nil); res.StatusCode != http.StatusOK {
		t.Fatalf("alice[1]: %d", res.StatusCode)
	}
	s.login("alice@acme.example", "tenant_app", acmeID)
	if got := endedWith(alice[2].id); got != "session_limit" {
		t.Errorf("the least recently active session ended with %q, want session_limit", got)
	}
	if got := endedWith(alice[1].id); got != "" {
		t.Errorf("the recently used session ended with %q", got)
	}
	if n := liveCount(); n != 3 {
		t.Errorf("%d live sessions after the fifth sign-in, want 3", n)
	}
}
