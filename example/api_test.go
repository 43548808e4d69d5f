package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard/example/idp"
)

// Tenant ids in a fresh database: acme is seeded first.
const (
	acmeID   = 1
	globexID = 2
)

func TestAPILogin(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	const (
		cp     = "/api/login"
		acme   = "/t/acme/api/login"
		globex = "/t/globex/api/login"
		staff  = `{"email":"staff@example.com","password":"demo-password"}`
	)
	tests := []struct {
		name   string
		path   string
		body   string
		header []string
		status int
		cookie string // the cookie set on success
	}{
		{"control panel", cp, staff, nil, 200, cpCookie},
		{"admin, e-mail case and spaces", cp, `{"email":" Admin@Example.com ","password":"demo-password"}`, nil, 200, cpCookie},
		{"tenant app", acme, `{"email":"alice@acme.example","password":"demo-password"}`, nil, 200, tenantCookie},
		{"JSON with a charset", globex, `{"email":"bob@globex.example","password":"demo-password"}`, []string{"Content-Type", "application/json; charset=utf-8"}, 200, tenantCookie},
		{"wrong password", cp, `{"email":"staff@example.com","password":"wrong-password"}`, nil, 401, ""},
		{"unknown e-mail", cp, `{"email":"nobody@example.com","password":"demo-password"}`, nil, 401, ""},
		{"staff into the tenant app", acme, staff, nil, 401, ""},
		{"customer into the control panel", cp, `{"email":"alice@acme.example","password":"demo-password"}`, nil, 401, ""},
		{"customer into another tenant", globex, `{"email":"alice@acme.example","password":"demo-password"}`, nil, 401, ""},
		{"unknown tenant", "/t/initech/api/login", `{"email":"alice@acme.example","password":"demo-password"}`, nil, 404, ""},
		{"not JSON", cp, `email=staff@example.com`, nil, 400, ""},
		{"empty body", cp, ``, nil, 400, ""},
		{"unknown field", cp, `{"email":"staff@example.com","password":"demo-password","admin":true}`, nil, 400, ""},
		{"app field (the tenant is the path's)", acme, `{"email":"alice@acme.example","password":"demo-password","app":"tenant_app","tenant_id":1}`, nil, 400, ""},
		{"two objects", cp, staff + `{}`, nil, 400, ""},
		{"wrong type", cp, `{"email":"staff@example.com","password":1}`, nil, 400, ""},
		{"too large", cp, `{"email":"` + strings.Repeat("a", 5000) + `","password":"x"}`, nil, 400, ""},
		{"no password", cp, `{"email":"staff@example.com"}`, nil, 400, ""},
		{"no e-mail", acme, `{"password":"demo-password"}`, nil, 400, ""},
		{"text content type", cp, staff, []string{"Content-Type", "text/plain"}, 415, ""},
		{"form content type", acme, staff, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"no content type", cp, staff, []string{"Content-Type", ""}, 415, ""},
		{"malformed content type", cp, staff, []string{"Content-Type", "application/json; charset"}, 415, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.postJSON(tt.path, cred{}, tt.body, tt.header...)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, res.body)
			}
			m := res.json(t)
			if tt.status != 200 {
				if _, ok := m["token"]; ok {
					t.Errorf("refusal carries a token: %s", res.body)
				}
				if len(res.Cookies()) != 0 {
					t.Errorf("refusal sets cookies: %v", res.Header["Set-Cookie"])
				}
				if strings.Contains(string(res.body), "demo-password") {
					t.Errorf("refusal echoes the password: %s", res.body)
				}
				return
			}
			token, _ := m["token"].(string)
			c, err := setCookie(res, tt.cookie)
			if err != nil {
				t.Fatalf("no %s cookie: %v", tt.cookie, res.Header["Set-Cookie"])
			}
			if c.Value != token || token == "" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("cookie %+v; want the token, Secure, HttpOnly, SameSite=Lax, Path=/", c)
			}
			if got := len(res.Cookies()); got != 1 {
				t.Errorf("%d cookies set, want 1 (the app's own)", got)
			}
			if idle := res.headerInt(t, "X-Session-Idle-Remaining"); idle != int(testIdle/time.Second) {
				t.Errorf("idle remaining %d at login, want %d", idle, int(testIdle/time.Second))
			}
			if m["token_type"] != "Bearer" || m["session_id"] == "" {
				t.Errorf("body %s", res.body)
			}
		})
	}
	t.Run("GET is not allowed", func(t *testing.T) {
		if res := s.do("GET", "/api/login", cred{}, nil); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", res.StatusCode)
		}
	})
}

// TestAPIMe checks GET /api/me and its timing headers, with a bearer token
// and with the cookie, for both apps and both API mounts.
func TestAPIMe(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	admin := s.login("admin@example.com", "control_panel", 0)
	alice := s.login("alice@acme.example", "tenant_app", acmeID)
	tests := []struct {
		name, path string
		c          cred
		email      string
		app        string
		tenant     string
		credential string
	}{
		{"control panel bearer", "/api/me", bearer(admin.token), "admin@example.com", "control_panel", "", "bearer"},
		{"control panel cookie", "/api/me", cookie(admin.cookie), "admin@example.com", "control_panel", "", "cookie"},
		{"tenant bearer", "/t/acme/api/me", bearer(alice.token), "alice@acme.example", "tenant_app", "acme", "bearer"},
		{"tenant cookie", "/t/acme/api/me", cookie(alice.cookie), "alice@acme.example", "tenant_app", "acme", "cookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do("GET", tt.path, tt.c, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", res.StatusCode, res.body)
			}
			checkTimingHeaders(t, res)
			m := res.json(t)
			user, _ := m["user"].(map[string]any)
			if user["email"] != tt.email || m["app_type"] != tt.app || m["credential"] != tt.credential {
				t.Errorf("body %s", res.body)
			}
			tenant, _ := m["tenant"].(map[string]any)
			if slug, _ := tenant["slug"].(string); slug != tt.tenant {
				t.Errorf("tenant %v, want %q", m["tenant"], tt.tenant)
			}
			if id, _ := m["session_id"].(string); id == "" {
				t.Errorf("no session_id: %s", res.body)
			}
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		res := s.do("GET", "/api/me", cred{}, nil)
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("status %d, WWW-Authenticate %q; want 401 with a challenge", res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
		if reason, _ := endReason(t, res); reason != "missing" {
			t.Errorf("reason %q, want missing", reason)
		}
	})
}

// checkTimingHeaders checks that the X-Session-* headers are there and sane
// for a session of the test server's timeouts that was just used.
func checkTimingHeaders(t *testing.T, res response) {
	t.Helper()
	idle := res.headerInt(t, "X-Session-Idle-Remaining")
	abs := res.headerInt(t, "X-Session-Absolute-Remaining")
	warn := res.headerInt(t, "X-Session-Warning-Threshold")
	if idle <= 0 || idle > int(testIdle/time.Second) {
		t.Errorf("idle remaining %d, want 1..%d", idle, int(testIdle/time.Second))
	}
	if abs < idle || abs > int(testAbsolute/time.Second) {
		t.Errorf("absolute remaining %d, want %d..%d", abs, idle, int(testAbsolute/time.Second))
	}
	if warn != int(testWarning/time.Second) {
		t.Errorf("warning threshold %d, want %d", warn, int(testWarning/time.Second))
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if v := strings.Join(res.Header.Values("Vary"), ","); !strings.Contains(v, "Cookie") || !strings.Contains(v, "Authorization") {
		t.Errorf("Vary %q, want Cookie and Authorization", v)
	}
}

// TestAPIPeekAndKeepalive: GET /api/session reports the time left without
// moving last_activity_at; POST /api/session/keepalive restores the full idle
// time.
func TestAPIPeekAndKeepalive(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	for _, tc := range []struct {
		name, base string
		login      func() session
		cred       func(session) cred
	}{
		{"control panel cookie", "/api", func() session { return s.login("staff@example.com", "control_panel", 0) }, func(x session) cred { return cookie(x.cookie) }},
		{"control panel bearer", "/api", func() session { return s.login("admin@example.com", "control_panel", 0) }, func(x session) cred { return bearer(x.token) }},
		{"tenant bearer", "/t/acme/api", func() session { return s.login("alice@acme.example", "tenant_app", acmeID) }, func(x session) cred { return bearer(x.token) }},
		{"tenant cookie", "/t/globex/api", func() session { return s.login("bob@globex.example", "tenant_app", globexID) }, func(x session) cred { return cookie(x.cookie) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := tc.login()
			c := tc.cred(x)
			s.age(x.id, 8*time.Second) // 8 s of inactivity
			before := s.lastActivity(x.id)
			for range 3 {
				res := s.do("GET", tc.base+"/session", c, nil)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("peek: %d %s", res.StatusCode, res.body)
				}
				checkTimingHeaders(t, res)
				if idle := res.headerInt(t, "X-Session-Idle-Remaining"); idle > 12 {
					t.Errorf("peek reports %d s idle left after 8 s of inactivity, want <= 12", idle)
				}
				if got := res.json(t)["idle_remaining_seconds"]; got != float64(res.headerInt(t, "X-Session-Idle-Remaining")) {
					t.Errorf("body idle_remaining_seconds %v disagrees with the header", got)
				}
			}
			if after := s.lastActivity(x.id); !after.Equal(before) {
				t.Fatalf("peek moved last_activity_at from %v to %v", before, after)
			}

			res := s.do("POST", tc.base+"/session/keepalive", c, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("keepalive: %d %s", res.StatusCode, res.body)
			}
			checkTimingHeaders(t, res)
			if idle := res.headerInt(t, "X-Session-Idle-Remaining"); idle != int(testIdle/time.Second) {
				t.Errorf("keepalive reports %d s idle left, want the full %d", idle, int(testIdle/time.Second))
			}
			if after := s.lastActivity(x.id); !after.After(before) {
				t.Errorf("keepalive did not move last_activity_at (%v)", after)
			}
			if res := s.do("GET", tc.base+"/session/keepalive", c, nil); res.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("GET keepalive: %d, want 405", res.StatusCode)
			}
		})
	}
}

// TestAPIRefusedAfterSessionEnds: every way a session ends gives 401 with
// the reason, for the bearer token and the cookie alike.
func TestAPIRefusedAfterSessionEnds(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	tests := []struct {
		name          string
		end           func(t *testing.T, victim session)
		reason, ended string
	}{
		{"logout", func(t *testing.T, v session) {
			// A browser signs out with the cookie it holds, which the
			// answer clears.
			res := s.do("POST", "/api/logout", cookie(v.cookie), nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("logout: %d %s", res.StatusCode, res.body)
			}
			if c, err := setCookie(res, cpCookie); err != nil || c.MaxAge >= 0 || c.Value != "" {
				t.Errorf("logout does not clear the cookie: %v", res.Header["Set-Cookie"])
			}
		}, "revoked", "logout"},
		{"logout with the bearer token", func(t *testing.T, v session) {
			res := s.do("POST", "/api/logout", bearer(v.token), nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("logout: %d %s", res.StatusCode, res.body)
			}
		}, "revoked", "logout"},
		{"admin revoke", func(t *testing.T, v session) {
			admin := s.login("admin@example.com", "control_panel", 0)
			redirectsTo(t, s.postForm("/cp/admin/revoke", cookie(admin.cookie), formOf("id", v.id)), "/cp/admin")
		}, "revoked", "admin_revoke"},
		{"password change elsewhere", func(t *testing.T, v session) {
			other := s.login("staff@example.com", "control_panel", 0)
			changePassword(t, s, other, testPassword, "a-new-password")
			changePassword(t, s, other, "a-new-password", testPassword) // back, for the other cases
		}, "revoked", "password_change"},
		{"sign out everywhere else", func(t *testing.T, v session) {
			other := s.login("staff@example.com", "control_panel", 0)
			res := s.postForm("/cp/sessions/revoke-others", cookie(other.cookie), nil)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("revoke others: %d", res.StatusCode)
			}
		}, "revoked", "user_revoke"},
		{"idle timeout", func(t *testing.T, v session) { s.age(v.id, testIdle+time.Second) }, "idle_timeout", ""},
		{"absolute timeout", func(t *testing.T, v session) {
			if _, err := s.pool.Exec(t.Context(), "UPDATE sessions SET absolute_expires_at = now() - interval '1 second' WHERE id = $1", v.id); err != nil {
				t.Fatal(err)
			}
		}, "absolute_timeout", ""},
	}
	for _, tt := range tests {
		for _, how := range []string{"bearer", "cookie"} {
			t.Run(tt.name+"/"+how, func(t *testing.T) {
				v := s.login("staff@example.com", "control_panel", 0)
				c := bearer(v.token)
				if how == "cookie" {
					c = cookie(v.cookie)
				}
				if res := s.do("GET", "/api/me", c, nil); res.StatusCode != http.StatusOK {
					t.Fatalf("before: %d", res.StatusCode)
				}
				tt.end(t, v)
				for _, path := range []string{"/api/me", "/api/session"} {
					res := s.do("GET", path, c, nil)
					if res.StatusCode != http.StatusUnauthorized {
						t.Fatalf("%s after %s: %d %s, want 401", path, tt.name, res.StatusCode, res.body)
					}
					if reason, ended := endReason(t, res); reason != tt.reason || ended != tt.ended {
						t.Errorf("%s: reason %q/%q, want %q/%q", path, reason, ended, tt.reason, tt.ended)
					}
					if res.Header.Get("X-Session-Idle-Remaining") != "" {
						t.Errorf("%s: a refusal carries timing headers", path)
					}
				}
				if res := s.do("POST", "/api/session/keepalive", c, nil); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("keepalive revived the session: %d", res.StatusCode)
				}
			})
		}
	}
}

func TestAPILogout(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	t.Run("tenant cookie", func(t *testing.T) {
		alice := s.login("alice@acme.example", "tenant_app", acmeID)
		res := s.do("POST", "/t/acme/api/logout", cookie(alice.cookie), nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("logout: %d %s", res.StatusCode, res.body)
		}
		if c, err := setCookie(res, tenantCookie); err != nil || c.MaxAge >= 0 {
			t.Errorf("tenant cookie not cleared: %v", res.Header["Set-Cookie"])
		}
		if res := s.do("GET", "/t/acme/api/me", bearer(alice.token), nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("the token still works after logout: %d", res.StatusCode)
		}
	})
	t.Run("twice", func(t *testing.T) {
		v := s.login("staff@example.com", "control_panel", 0)
		for i := range 2 {
			if res := s.do("POST", "/api/logout", bearer(v.token), nil); res.StatusCode != http.StatusOK {
				t.Errorf("logout %d: %d, want 200 (idempotent)", i+1, res.StatusCode)
			}
		}
	})
	t.Run("cookie and another bearer", func(t *testing.T) {
		a := s.login("staff@example.com", "control_panel", 0)
		b := s.login("admin@example.com", "control_panel", 0)
		res := s.do("POST", "/api/logout", cred{bearer: b.token, cookie: a.cookie}, nil)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("ambiguous logout: %d, want 400", res.StatusCode)
		}
		for _, x := range []session{a, b} {
			if res := s.do("GET", "/api/session", bearer(x.token), nil); res.StatusCode != http.StatusOK {
				t.Errorf("a refused logout ended a session: %d", res.StatusCode)
			}
		}
	})
}

// TestAPICrossAppAndTenant: a session opens its own app and tenant only.
func TestAPICrossAppAndTenant(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	staff := s.login("staff@example.com", "control_panel", 0)
	alice := s.login("alice@acme.example", "tenant_app", acmeID)
	bob := s.login("bob@globex.example", "tenant_app", globexID)
	tests := []struct {
		name, method, path string
		c                  cred
		status             int
		reason             string
	}{
		{"control panel token on the tenant API", "GET", "/t/acme/api/me", bearer(staff.token), 401, "invalid"},
		{"tenant token on the control panel's API", "GET", "/api/me", bearer(alice.token), 401, "invalid"},
		{"control panel cookie value as tenant cookie", "GET", "/t/acme/api/me", cookieOf(tenantCookie, staff.token), 401, "invalid"},
		{"tenant cookie on /api (control-panel cookie only)", "GET", "/api/me", cookie(alice.cookie), 401, "missing"},
		{"tenant A token on tenant B", "GET", "/t/globex/api/me", bearer(alice.token), 403, "wrong_tenant"},
		{"tenant B cookie on tenant A", "GET", "/t/acme/api/session", cookie(bob.cookie), 403, "wrong_tenant"},
		{"tenant B keepalive on tenant A", "POST", "/t/acme/api/session/keepalive", bearer(bob.token), 403, "wrong_tenant"},
		{"forged token", "GET", "/api/me", bearer(alice.token[:len(alice.token)-2] + "xx"), 401, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.lastActivity(bob.id)
			res := s.do(tt.method, tt.path, tt.c, nil)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, res.body)
			}
			if reason, _ := endReason(t, res); reason != tt.reason {
				t.Errorf("reason %q, want %q", reason, tt.reason)
			}
			if after := s.lastActivity(bob.id); !after.Equal(before) {
				t.Errorf("a refused request touched a session")
			}
		})
	}
	// The refusals ended nothing.
	for _, x := range []struct {
		path string
		c    cred
	}{{"/api/me", bearer(staff.token)}, {"/t/acme/api/me", bearer(alice.token)}, {"/t/globex/api/me", bearer(bob.token)}} {
		if res := s.do("GET", x.path, x.c, nil); res.StatusCode != http.StatusOK {
			t.Errorf("%s afterwards: %d", x.path, res.StatusCode)
		}
	}
}

// TestCrossOriginRequestsRefused: state-changing requests from another site
// are refused before any handler runs, forms and JSON alike.
func TestCrossOriginRequestsRefused(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	staff := s.login("staff@example.com", "control_panel", 0)
	other := s.login("staff@example.com", "control_panel", 0)
	crossSite := []string{"Sec-Fetch-Site", "cross-site"}
	evilOrigin := []string{"Sec-Fetch-Site", "", "Origin", "http://evil.example"}
	tests := []struct {
		name   string
		send   func() response
		status int
	}{
		{"sign out everywhere else, cross-site", func() response {
			return s.postForm("/cp/sessions/revoke-others", cookie(staff.cookie), nil, crossSite...)
		}, 403},
		{"sign out everywhere else, foreign Origin", func() response {
			return s.postForm("/cp/sessions/revoke-others", cookie(staff.cookie), nil, evilOrigin...)
		}, 403},
		{"change password, cross-site", func() response {
			return s.postForm("/cp/password", cookie(staff.cookie), formOf("current", testPassword, "new", "evil-password", "confirm", "evil-password"), crossSite...)
		}, 403},
		{"sign in (login CSRF), cross-site", func() response {
			return s.postForm("/cp/signin", cred{}, formOf("email", "staff@example.com", "password", testPassword), crossSite...)
		}, 403},
		{"JSON login, foreign Origin", func() response {
			return s.postJSON("/api/login", cred{}, `{"email":"staff@example.com","password":"demo-password"}`, evilOrigin...)
		}, 403},
		{"logout, cross-site", func() response {
			return s.do("POST", "/api/logout", cookie(staff.cookie), nil, crossSite...)
		}, 403},
		{"same-origin keepalive passes", func() response {
			return s.do("POST", "/api/session/keepalive", cookie(staff.cookie), nil, "Sec-Fetch-Site", "same-origin")
		}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := tt.send(); res.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tt.status, res.body)
			}
		})
	}
	for _, x := range []session{staff, other} {
		if res := s.do("GET", "/api/session", bearer(x.token), nil); res.StatusCode != http.StatusOK {
			t.Errorf("a refused cross-origin request ended a session: %d", res.StatusCode)
		}
	}
	if res := s.postJSON("/api/login", cred{}, `{"email":"staff@example.com","password":"demo-password"}`); res.StatusCode != http.StatusOK {
		t.Errorf("the password changed through a cross-origin form: login %d", res.StatusCode)
	}
}

// TestAPILoginImpossibleEmail: an e-mail that no account can have (NUL,
// control characters, invalid UTF-8, too long) is a wrong e-mail, 401,
// decided without a query; PostgreSQL would refuse NUL in text and turn the
// sign-in into a 503.
func TestAPILoginImpossibleEmail(t *testing.T) {
	t.Parallel()
	s, queries := startCountingExample(t)
	for _, tt := range []struct{ name, email string }{
		{"NUL", `staff@example.com\u0000`},
		{"NUL inside", `st\u0000aff@example.com`},
		{"newline", `staff@example.com\nBcc: x@example.com`},
		{"escape", `\u001bstaff@example.com`},
		{"DEL", `staff\u007f@example.com`},
		{"C1 control", `staff\u0085@example.com`},
		{"invalid UTF-8", "staff\xff@example.com"},
		{"lone surrogate", `staff\ud800@example.com`},
		{"too long", strings.Repeat("a", 250) + "@example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := queries.n.Load()
			res := s.postJSON("/api/login", cred{}, `{"email":"`+tt.email+`","password":"demo-password"}`)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", res.StatusCode, res.body)
			}
			if n := queries.n.Load() - before; n != 0 {
				t.Errorf("%d queries, want none", n)
			}
		})
	}
	// The counter counts: a possible e-mail is looked up.
	before := queries.n.Load()
	if res := s.postJSON("/api/login", cred{}, `{"email":"nobody@example.com","password":"demo-password"}`); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown e-mail: %d", res.StatusCode)
	}
	if queries.n.Load() == before {
		t.Errorf("an unknown e-mail cost no query: the counter does not count")
	}
}

// TestIdentityProviderJWKS: the example serves its identity provider's
// public key, and only that, at the JWKS path.
func TestIdentityProviderJWKS(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	res := s.do("GET", idp.JWKSPath, cred{}, nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("JWKS: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	keys, _ := res.json(t)["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("%d keys, want 1: %s", len(keys), res.body)
	}
	key, _ := keys[0].(map[string]any)
	if key["kty"] != "OKP" || key["crv"] != "Ed25519" || key["x"] == nil || key["d"] != nil {
		t.Errorf("key %v: want the Ed25519 public key alone", key)
	}
}

// TestLoginCredentialsWorkEverywhere: the contract of the JSON API. Both
// credentials a login returns, the cookie it sets and the token in its body
// (as a bearer token), work on every endpoint of its mount.
func TestLoginCredentialsWorkEverywhere(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	for _, mount := range []struct {
		name, base, email, app string
		tenant                 int64
	}{
		{"control panel", "/api", "staff@example.com", "control_panel", 0},
		{"tenant app", "/t/acme/api", "alice@acme.example", "tenant_app", acmeID},
	} {
		for _, how := range []string{"cookie", "bearer"} {
			t.Run(mount.name+"/"+how, func(t *testing.T) {
				x := s.login(mount.email, mount.app, mount.tenant)
				c := cookie(x.cookie)
				if how == "bearer" {
					c = bearer(x.token)
				}
				for _, ep := range []struct{ method, path string }{
					{"GET", "/me"}, {"GET", "/session"}, {"POST", "/session/keepalive"}, {"POST", "/logout"},
				} {
					res := s.do(ep.method, mount.base+ep.path, c, nil)
					if res.StatusCode != http.StatusOK {
						t.Errorf("%s %s with the login's %s: %d %s", ep.method, mount.base+ep.path, how, res.StatusCode, res.body)
					}
				}
				if res := s.do("GET", mount.base+"/me", c, nil); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("after logout: %d, want 401", res.StatusCode)
				}
			})
		}
	}
}

// TestTenantTokensComeFromTheIdentityProvider: the tenant app's tokens are
// the identity provider's (its key id, its claim names uid and tid, no sid,
// the tenant app's audience), the tenant Guard verifies them through the JWKS alone, and each is
// recorded at sign-in: its session row is found by the SHA-256 of the exact
// token string.
func TestTenantTokensComeFromTheIdentityProvider(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	alice := s.login("alice@acme.example", "tenant_app", acmeID)

	jwks := s.do("GET", idp.JWKSPath, cred{}, nil).json(t)
	kid, _ := jwks["keys"].([]any)[0].(map[string]any)["kid"].(string)
	token, _, err := jwt.NewParser().ParseUnverified(alice.token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	claims := token.Claims.(jwt.MapClaims)
	if token.Header["alg"] != "EdDSA" || token.Header["kid"] != kid || claims["iss"] == nil {
		t.Errorf("header %v, iss %v: want the provider's EdDSA key %q and issuer", token.Header, claims["iss"], kid)
	}
	var userID int64
	if err := s.pool.QueryRow(t.Context(), "SELECT id FROM users WHERE email = 'alice@acme.example'").Scan(&userID); err != nil {
		t.Fatal(err)
	}
	if claims[idp.ClaimUserID] != float64(userID) || claims[idp.ClaimTenantID] != float64(acmeID) {
		t.Errorf("claims %v: want %s %d and %s %d", claims, idp.ClaimUserID, userID, idp.ClaimTenantID, acmeID)
	}
	if aud, _ := claims.GetAudience(); len(aud) != 1 || aud[0] != idpAudience {
		t.Errorf("aud %v, want [%s]", aud, idpAudience)
	}
	for _, absent := range []string{"sid"} {
		if _, ok := claims[absent]; ok {
			t.Errorf("the provider's token carries %q", absent)
		}
	}
	var id string
	var tenant int64
	err = s.pool.QueryRow(t.Context(), `SELECT id::text, tenant_id FROM sessions
		WHERE session_token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, alice.token).Scan(&id, &tenant)
	if err != nil || id != alice.id || tenant != acmeID {
		t.Errorf("row by the token's hash: id %q tenant %d (%v), want %q tenant %d", id, tenant, err, alice.id, acmeID)
	}
	// A token the provider did not sign, with the same claims, is refused.
	other, err := idp.New(idp.Config{Issuer: claims["iss"].(string), Audience: idpAudience})
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.Issue(userID, acmeID)
	if res := s.do("GET", "/t/acme/api/me", bearer(forged), nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a token of another key: %d, want 401", res.StatusCode)
	}
}
