package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSigninThrottled: sign-ins are throttled per account (failures; a
// correct password forgets them) and per client address (every attempt),
// on the form and the API alike, answered 429 with Retry-After before any
// query.
func TestSigninThrottled(t *testing.T) {
	t.Parallel()
	apiLogin := func(s *exampleServer, email, password, app string, tenant int) response {
		path := "/api/login"
		if app == "tenant_app" {
			path = "/t/" + map[int]string{acmeID: "acme", globexID: "globex"}[tenant] + "/api/login"
		}
		return s.postJSON(path, cred{}, `{"email":"`+email+`","password":"`+password+`"}`)
	}
	throttled := func(t *testing.T, res response, queries *queryCounter, before int64, maxWait time.Duration) {
		t.Helper()
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s %s: %d, want 429: %s", res.Request.Method, res.Request.URL.Path, res.StatusCode, res.body)
		}
		wait, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if err != nil || wait < 1 || time.Duration(wait)*time.Second > maxWait {
			t.Errorf("Retry-After %q, want 1..%v seconds", res.Header.Get("Retry-After"), maxWait)
		}
		if n := queries.n.Load() - before; n != 0 {
			t.Errorf("a throttled sign-in cost %d queries", n)
		}
		if len(res.Cookies()) != 0 {
			t.Errorf("a throttled sign-in sets cookies: %v", res.Header["Set-Cookie"])
		}
	}

	t.Run("per account", func(t *testing.T) {
		t.Parallel()
		s, queries := startCountingExample(t)
		for i := range defaultAccountLimit.burst {
			if res := apiLogin(s, "staff@example.com", "wrong-password", "control_panel", 0); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d, want 401", i+1, res.StatusCode)
			}
		}
		// Now even the right password waits, on the API and the form, in
		// any letter case of the e-mail.
		before := queries.n.Load()
		res := apiLogin(s, "Staff@Example.com", testPassword, "control_panel", 0)
		throttled(t, res, queries, before, defaultAccountLimit.every)
		if res.json(t)["error"] != "too_many_attempts" {
			t.Errorf("body %s", res.body)
		}
		before = queries.n.Load()
		res = s.postForm("/cp/signin", cred{}, formOf("email", "staff@example.com", "password", testPassword))
		throttled(t, res, queries, before, defaultAccountLimit.every)
		if !strings.Contains(string(res.body), "Too many sign-in attempts. Try again in") {
			t.Errorf("the sign-in page does not say why")
		}
		// Other accounts are not held back.
		s.login("alice@acme.example", "tenant_app", acmeID)
		// A correct password forgets the failures before it.
		for range defaultAccountLimit.burst - 1 {
			apiLogin(s, "admin@example.com", "wrong-password", "control_panel", 0)
		}
		s.login("admin@example.com", "control_panel", 0)
		for i := range defaultAccountLimit.burst {
			if res := apiLogin(s, "admin@example.com", "wrong-password", "control_panel", 0); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d after a sign-in: %d, want 401", i+1, res.StatusCode)
			}
		}
		before = queries.n.Load()
		throttled(t, apiLogin(s, "admin@example.com", "wrong-password", "control_panel", 0), queries, before, defaultAccountLimit.every)
	})

	t.Run("per address", func(t *testing.T) {
		t.Parallel()
		limit := rateLimit{every: time.Hour, burst: 3}
		s, queries := startCountingExample(t, func(c *config) { c.addressLimit = limit })
		s.login("staff@example.com", "control_panel", 0)
		apiLogin(s, "nobody@example.com", "wrong-password", "control_panel", 0)
		s.signinForm("/t/acme/signin", "alice@acme.example", testPassword, tenantCookie)
		for _, send := range []func() response{
			func() response { return apiLogin(s, "bob@globex.example", testPassword, "tenant_app", globexID) },
			func() response {
				return s.postForm("/t/globex/signin", cred{}, formOf("email", "bob@globex.example", "password", testPassword))
			},
			func() response { return apiLogin(s, `staff@example.com\u0000`, testPassword, "control_panel", 0) },
		} {
			before := queries.n.Load()
			throttled(t, send(), queries, before, limit.every)
		}
	})
}

func TestAddressKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ addr, want string }{
		{"127.0.0.1", "127.0.0.1"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::9", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not an address", "not an address"},
	} {
		if got := addressKey(tt.addr); got != tt.want {
			t.Errorf("addressKey(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// TestThrottleBounded: a throttle keeps at most maxKeys buckets, however
// many keys arrive, and keeps the buckets that still count.
func TestThrottleBounded(t *testing.T) {
	t.Parallel()
	th := newThrottle(rateLimit{every: time.Hour, burst: 2})
	th.maxKeys = 10
	now := time.Now()
	th.take("victim", now)
	th.take("victim", now)
	for i := range 100 {
		th.take("key"+strconv.Itoa(i), now)
		if len(th.keys) > th.maxKeys {
			t.Fatalf("%d keys kept, want at most %d", len(th.keys), th.maxKeys)
		}
	}
	if wait := newThrottle(rateLimit{every: time.Hour, burst: 2}).take("x", now); wait != 0 {
		t.Errorf("a new key waits %v", wait)
	}
	// Full buckets go first: with room for one more key among full ones,
	// an emptied bucket stays.
	th = newThrottle(rateLimit{every: time.Hour, burst: 1})
	th.maxKeys = 3
	th.take("spent", now)
	th.limiterLocked("full1", now)
	th.limiterLocked("full2", now)
	th.take("new", now)
	if wait := th.wait("spent", now); wait < 59*time.Minute {
		t.Errorf("the spent bucket was dropped before full ones (wait %v)", wait)
	}
}

// TestSigninThrottledBehindAProxy: behind the TLS-terminating proxy that the
// example tells its users to put in front (TRUSTED_PROXIES names it), every
// request comes from the proxy's address. The address throttle must count
// each client the proxy reports, not the proxy: one client's guessing run
// must not lock every other client out of signing in, and the client
// address of the session row is the client's. Without TRUSTED_PROXIES an
// X-Forwarded-For is the client's own claim and changes nothing.
func TestSigninThrottledBehindAProxy(t *testing.T) {
	t.Parallel()
	limit := rateLimit{every: time.Hour, burst: 2}
	withEnv := func(env map[string]string) func(*config) {
		return func(c *config) {
			env["DEMO_PASSWORD"] = testPassword
			loaded, err := loadConfig(nil, func(k string) string { return env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			loaded.Addr, loaded.MetricsAddr, loaded.listener, loaded.metricsListener = c.Addr, c.MetricsAddr, c.listener, c.metricsListener
			loaded.IdleTimeout, loaded.AbsoluteTimeout, loaded.WarningThreshold = c.IdleTimeout, c.AbsoluteTimeout, c.WarningThreshold
			loaded.poolConfig, loaded.logger, loaded.bcryptCost = c.poolConfig, c.logger, c.bcryptCost
			loaded.addressLimit = limit
			*c = loaded
		}
	}
	wrong := func(s *exampleServer, client string) response {
		return s.postJSON("/api/login", cred{}, `{"email":"nobody@example.com","password":"wrong-password"}`,
			"X-Forwarded-For", client)
	}

	t.Run("behind the proxy", func(t *testing.T) {
		t.Parallel()
		s := startExample(t, withEnv(map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32, ::1"}))
		for range limit.burst {
			wrong(s, "203.0.113.7")
		}
		if res := wrong(s, "203.0.113.7"); res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("the guessing client's attempt %d: %d, want 429", limit.burst+1, res.StatusCode)
		}
		res := s.postJSON("/api/login", cred{}, `{"email":"staff@example.com","password":"`+testPassword+`"}`,
			"X-Forwarded-For", "198.51.100.9")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("another client behind the same proxy: %d, want 200: %s", res.StatusCode, res.body)
		}
		var ip string
		id, _ := res.json(t)["session_id"].(string)
		if err := s.pool.QueryRow(t.Context(), "SELECT ip_address FROM sessions WHERE id = $1", id).Scan(&ip); err != nil {
			t.Fatal(err)
		}
		if ip != "198.51.100.9" {
			t.Errorf("the session records client address %q, want the client's 198.51.100.9", ip)
		}
	})

	t.Run("no proxy", func(t *testing.T) {
		t.Parallel()
		s := startExample(t, withEnv(map[string]string{}))
		for i := range limit.burst {
			wrong(s, "203.0.113."+strconv.Itoa(i))
		}
		if res := wrong(s, "198.51.100.9"); res.StatusCode != http.StatusTooManyRequests {
			t.Errorf("a client that names another address in X-Forwarded-For: %d, want 429", res.StatusCode)
		}
	})
}
