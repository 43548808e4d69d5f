package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// formOf builds form values from name, value pairs.
func formOf(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// changePassword changes the password through the control panel's form.
func changePassword(t *testing.T, s *exampleServer, x session, current, next string) {
	t.Helper()
	res := s.postForm("/cp/password", cookie(x.cookie), formOf("current", current, "new", next, "confirm", next))
	redirectsTo(t, res, "/cp/password")
}

// signinForm signs in through the form of an app and returns the cookie.
func (s *exampleServer) signinForm(path, email, password, cookieName string) (response, *http.Cookie) {
	s.t.Helper()
	res := s.postForm(path, cred{}, formOf("email", email, "password", password))
	c, _ := setCookie(res, cookieName)
	return res, c
}

func TestControlPanelPages(t *testing.T) {
	t.Parallel()
	s := startExample(t)

	t.Run("signed out pages redirect to sign-in", func(t *testing.T) {
		for _, p := range []string{"/cp/", "/cp/sessions", "/cp/password", "/cp/admin"} {
			res := s.do("GET", p, cred{}, nil)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/cp/signin" {
				t.Errorf("%s: %d → %q, want 303 → /cp/signin", p, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		res, c := s.signinForm("/cp/signin", "staff@example.com", "nope-nope-nope", cpCookie)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(res.body), "Wrong e-mail or password.") {
			t.Errorf("status %d", res.StatusCode)
		}
		// The form comes back filled in, never with the password, and no
		// anonymous session was made to remember anything.
		if body := string(res.body); !strings.Contains(body, `value="staff@example.com"`) || strings.Contains(body, "nope-nope-nope") {
			t.Errorf("the form is not filled in with the e-mail alone")
		}
		if c != nil {
			t.Errorf("a failed sign-in set a cookie: %v", res.Header["Set-Cookie"])
		}
	})

	res, c := s.signinForm("/cp/signin", "staff@example.com", testPassword, cpCookie)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/cp/" || c == nil {
		t.Fatalf("sign in: %d → %q, cookie %v", res.StatusCode, res.Header.Get("Location"), c)
	}
	staff := cookie(&http.Cookie{Name: c.Name, Value: c.Value})

	t.Run("dashboard carries the warning script", func(t *testing.T) {
		res := s.do("GET", "/cp/", staff, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("dashboard: %d", res.StatusCode)
		}
		checkTimingHeaders(t, res)
		body := string(res.body)
		for _, want := range []string{
			`src="/sessionguard/warning.js"`, `data-peek-url="/api/session"`,
			`data-keepalive-url="/api/session/keepalive"`, `data-logout-url="/api/logout"`, `data-signin-url="/cp/signin"`,
			"staff@example.com",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("dashboard lacks %s", want)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
		if strings.Contains(body, `href="/cp/admin"`) {
			t.Errorf("staff sees the admin link")
		}
	})

	t.Run("warning script is served", func(t *testing.T) {
		res := s.do("GET", "/sessionguard/warning.js", cred{}, nil)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("warning.js: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
	})

	t.Run("your sessions, revoke one", func(t *testing.T) {
		phone := s.login("staff@example.com", "control_panel", 0)
		res := s.do("GET", "/cp/sessions", staff, nil)
		body := string(res.body)
		if res.StatusCode != http.StatusOK || strings.Count(body, "This session") != 1 || !strings.Contains(body, phone.id) {
			t.Fatalf("sessions page: %d; want one current marker and the other session listed", res.StatusCode)
		}
		b := s.browser(staff.cookie)
		redirectsTo(t, b.post("/cp/sessions/revoke", formOf("id", phone.id)), "/cp/sessions")
		b.flashOnce(t, "/cp/sessions", "That session was signed out.")
		if r := s.do("GET", "/api/me", bearer(phone.token), nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("revoked session still works: %d", r.StatusCode)
		}
		admin := s.login("admin@example.com", "control_panel", 0)
		redirectsTo(t, b.post("/cp/sessions/revoke", formOf("id", admin.id)), "/cp/sessions")
		b.flashOnce(t, "/cp/sessions", "That session had already ended.")
		if r := s.do("GET", "/api/me", bearer(admin.token), nil); r.StatusCode != http.StatusOK {
			t.Errorf("a user ended another user's session: %d", r.StatusCode)
		}
	})

	t.Run("password change rules", func(t *testing.T) {
		for _, f := range []url.Values{
			formOf("current", "wrong-password", "new", "new-password-1", "confirm", "new-password-1"),
			formOf("current", testPassword, "new", "new-password-1", "confirm", "new-password-2"),
			formOf("current", testPassword, "new", "short", "confirm", "short"),
			formOf("current", testPassword, "new", testPassword, "confirm", testPassword),
		} {
			if res := s.postForm("/cp/password", staff, f); res.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%v: %d, want 422", f, res.StatusCode)
			}
		}
	})

	t.Run("admin page", func(t *testing.T) {
		if res := s.do("GET", "/cp/admin", staff, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("staff on the admin page: %d, want 403", res.StatusCode)
		}
		alice := s.login("alice@acme.example", "tenant_app", acmeID)
		if res := s.postForm("/cp/admin/revoke", staff, formOf("id", alice.id)); res.StatusCode != http.StatusForbidden {
			t.Errorf("staff revoking: %d, want 403", res.StatusCode)
		}
		admin := s.login("admin@example.com", "control_panel", 0)
		res := s.do("GET", "/cp/admin", cookie(admin.cookie), nil)
		body := string(res.body)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "alice@acme.example") || !strings.Contains(body, "Acme Corporation") {
			t.Errorf("admin page: %d, want alice's session listed", res.StatusCode)
		}
	})

	t.Run("own session id in upper case is signing out", func(t *testing.T) {
		x := s.login("staff@example.com", "control_panel", 0)
		b := s.browser(x.cookie)
		res := b.post("/cp/sessions/revoke", formOf("id", strings.ToUpper(x.id)))
		redirectsTo(t, res, "/cp/signin?reason=logout")
		if b.cookie != nil {
			t.Errorf("the cookie was not cleared: %v", res.Header["Set-Cookie"])
		}
		var reason string
		if err := s.pool.QueryRow(t.Context(), "SELECT revoke_reason FROM sessions WHERE id = $1", x.id).Scan(&reason); err != nil || reason != "logout" {
			t.Errorf("the session ended with %q (%v), want logout", reason, err)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		res := s.postForm("/cp/signout", staff, nil)
		redirectsTo(t, res, "/cp/signin?reason=logout")
		if c, err := setCookie(res, cpCookie); err != nil || c.MaxAge >= 0 {
			t.Errorf("cookie not cleared")
		}
		if got := notice(t, s.do("GET", "/cp/signin?reason=logout", cred{}, nil)); got != signinReasons["logout"] {
			t.Errorf("after sign-out the sign-in page says %q", got)
		}
		// The old cookie, replayed, sends the browser to the sign-in page,
		// which says why.
		redirectsTo(t, s.do("GET", "/cp/", staff, nil), "/cp/signin?reason=logout")
	})
}

// TestPageRefusalsSayWhy: a refused control-panel page sends the browser to
// the sign-in page with ?reason=, which the page turns into a fixed message;
// the refusal sets no cookie (no session was made to carry the message).
func TestPageRefusalsSayWhy(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	revoke := func(reason string) func(x session) {
		return func(x session) {
			if _, err := s.pool.Exec(t.Context(), "SELECT revoke_session(session_token_hash, $2) FROM sessions WHERE id = $1", x.id, reason); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		end    func(x session)
		reason string
	}{
		{"idle", func(x session) { s.age(x.id, testIdle+time.Second) }, "idle"},
		{"absolute", func(x session) {
			if _, err := s.pool.Exec(t.Context(), "UPDATE sessions SET absolute_expires_at = now() - interval '1 second' WHERE id = $1", x.id); err != nil {
				t.Fatal(err)
			}
		}, "absolute"},
		{"admin revoke", revoke("admin_revoke"), "admin_revoke"},
		{"password change", revoke("password_change"), "password_change"},
		{"other reason", revoke("cleanup_stale"), "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := s.login("staff@example.com", "control_panel", 0)
			tt.end(x)
			res := s.do("GET", "/cp/sessions", cookie(x.cookie), nil)
			redirectsTo(t, res, "/cp/signin?reason="+tt.reason)
			if got := res.Header.Get("X-Session-End-Reason"); got == "" {
				t.Errorf("no X-Session-End-Reason")
			}
			if sc := res.Header["Set-Cookie"]; len(sc) != 0 {
				t.Errorf("the refusal sets a cookie: %v", sc)
			}
			page := s.do("GET", res.Header.Get("Location"), cred{}, nil)
			if got := notice(t, page); got != signinReasons[tt.reason] {
				t.Errorf("the sign-in page says %q, want %q", got, signinReasons[tt.reason])
			}
		})
	}
}

// TestPageWithAMalformedAuthorizationHeader: a page request whose
// Authorization header is malformed (added by an extension or a proxy, not
// by the page) is a 400 page, not a redirect to the sign-in page: signing in
// again would open a session that the next page refuses the same way, and
// the session the cookie names stays as it was.
func TestPageWithAMalformedAuthorizationHeader(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	x := s.login("staff@example.com", "control_panel", 0)
	for _, path := range []string{"/cp/", "/cp/sessions"} {
		res := s.do("GET", path, cookie(x.cookie), nil, "Authorization", "Bearer a b")
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Errorf("%s with a malformed Authorization header: %d → %q, want a 400 page", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if res := s.do("GET", "/cp/", cookie(x.cookie), nil); res.StatusCode != http.StatusOK {
		t.Errorf("the session after: %d, want 200", res.StatusCode)
	}
}

func TestSigninReasons(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	for _, path := range []string{"/cp/signin", "/t/acme/signin"} {
		for reason, msg := range signinReasons {
			res := s.do("GET", path+"?reason="+reason, cred{}, nil)
			if res.StatusCode != http.StatusOK || !strings.Contains(string(res.body), msg) {
				t.Errorf("%s?reason=%s: %d, message missing", path, reason, res.StatusCode)
			}
		}
		res := s.do("GET", path+"?reason="+url.QueryEscape(`<script>alert(1)</script>`), cred{}, nil)
		if strings.Contains(string(res.body), "alert(1)") || strings.Contains(string(res.body), `class="notice"`) {
			t.Errorf("%s echoes an unknown reason", path)
		}
	}
	if res := s.do("GET", "/t/initech/signin", cred{}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown tenant sign-in page: %d, want 404", res.StatusCode)
	}
}

func TestTenantPages(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	if res := s.do("GET", "/t/acme/", cred{}, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/t/acme/signin" {
		t.Errorf("signed out: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res, c := s.signinForm("/t/globex/signin", "alice@acme.example", testPassword, tenantCookie); res.StatusCode != http.StatusUnauthorized || c != nil {
		t.Errorf("alice into globex: %d, cookie %v", res.StatusCode, c)
	}
	res, c := s.signinForm("/t/acme/signin", "alice@acme.example", testPassword, tenantCookie)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/t/acme/" || c == nil {
		t.Fatalf("form sign-in: %d → %s, cookie %v", res.StatusCode, res.Header.Get("Location"), c)
	}
	alice := cookie(&http.Cookie{Name: c.Name, Value: c.Value})
	res = s.do("GET", "/t/acme/", alice, nil)
	body := string(res.body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("home: %d", res.StatusCode)
	}
	for _, want := range []string{`data-peek-url="/t/acme/api/session"`, `data-signin-url="/t/acme/signin"`,
		`data-bearer-storage-key="sessionguard-example:acme:token"`, `data-me-url="/t/acme/api/me"`} {
		if !strings.Contains(body, want) {
			t.Errorf("tenant home lacks %s", want)
		}
	}
	if res := s.do("GET", "/t/globex/", alice, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/t/globex/signin?reason=other_tenant" {
		t.Errorf("acme cookie on globex: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res := s.do("GET", "/t/initech/", alice, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown tenant: %d, want 404", res.StatusCode)
	}
	// The tenant app's token is a JWT, never an scs token: as the
	// control-panel cookie it is refused as invalid, and scs makes no session.
	res = s.do("GET", "/cp/", cookieOf(cpCookie, alice.cookie.Value), nil)
	redirectsTo(t, res, "/cp/signin?reason=invalid")
	if len(res.Cookies()) != 0 {
		t.Errorf("a tenant token as control-panel cookie made an scs session: %v", res.Header["Set-Cookie"])
	}
	res = s.postForm("/t/acme/signout", alice, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/t/acme/signin?reason=logout" {
		t.Errorf("sign out: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res := s.do("GET", "/t/acme/api/me", alice, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d", res.StatusCode)
	}
}

func TestStartPage(t *testing.T) {
	t.Parallel()
	const password = "not-the-default"
	s := startExample(t, func(c *config) { c.DemoPassword = password })
	res := s.do("GET", "/", cred{}, nil)
	body := string(res.body)
	for _, want := range []string{"/cp/", "/t/acme/", "/t/globex/", "alice@acme.example", "bob@globex.example"} {
		if !strings.Contains(body, want) {
			t.Errorf("start page lacks %s", want)
		}
	}
	if strings.Contains(body, password) {
		t.Errorf("start page shows the password")
	}
	if res := s.do("GET", "/nope", cred{}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d", res.StatusCode)
	}
}

// TestUnknownTenant: every route under /t/{tenant}/ answers 404 for a tenant
// that does not exist, before any guard runs: no redirect to a sign-in page,
// no cookie, and nothing of the path in a Location header.
func TestUnknownTenant(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	alice := s.login("alice@acme.example", "tenant_app", acmeID)
	for _, slug := range []string{"initech", "ACME", "%3Cscript%3E", "acme%2F..%2Fcp", "x%0D%0ALocation:%20evil"} {
		for _, tt := range []struct {
			method, path string
			c            cred
			json         bool
		}{
			{"GET", "/", cred{}, false},
			{"GET", "/", cookie(alice.cookie), false},
			{"GET", "/signin", cred{}, false},
			{"POST", "/signin", cred{}, false},
			{"POST", "/signout", cookie(alice.cookie), false},
			{"GET", "/api/me", bearer(alice.token), true},
			{"GET", "/api/session", cred{}, true},
			{"POST", "/api/session/keepalive", cookie(alice.cookie), true},
			{"POST", "/api/logout", bearer(alice.token), true},
		} {
			path := "/t/" + slug + tt.path
			t.Run(tt.method+" "+path, func(t *testing.T) {
				var res response
				if tt.method == "POST" && !tt.json {
					res = s.postForm(path, tt.c, formOf("email", "alice@acme.example", "password", testPassword))
				} else {
					res = s.do(tt.method, path, tt.c, nil, "Sec-Fetch-Site", "same-origin")
				}
				if res.StatusCode != http.StatusNotFound {
					t.Fatalf("status %d, want 404", res.StatusCode)
				}
				if loc := res.Header.Get("Location"); loc != "" {
					t.Errorf("Location %q on a 404", loc)
				}
				if sc := res.Header["Set-Cookie"]; len(sc) != 0 {
					t.Errorf("Set-Cookie %v on a 404", sc)
				}
				if tt.json && res.json(t)["error"] != "unknown_tenant" {
					t.Errorf("body %s", res.body)
				}
			})
		}
	}
	// The session was not touched by any of it.
	if res := s.do("GET", "/t/acme/api/me", bearer(alice.token), nil); res.StatusCode != http.StatusOK {
		t.Errorf("alice afterwards: %d", res.StatusCode)
	}
}
