package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestPasswordChangeThrottled: the password change form checks the current
// password, so it is throttled as signing in and re-entering the password
// are: after the account's allowance of failures even the right current
// password waits, and the password stays as it was. Unthrottled, a session
// (a stolen one, say) could try passwords as fast as bcrypt runs.
func TestPasswordChangeThrottled(t *testing.T) {
	t.Parallel()
	s := startExample(t, func(c *config) { c.accountLimit = rateLimit{every: time.Hour, burst: 2} })
	x := s.login("staff@example.com", "control_panel", 0)
	change := func(current string) response {
		return s.postForm("/cp/password", cookie(x.cookie),
			formOf("current", current, "new", "a-new-password", "confirm", "a-new-password"))
	}
	for i, want := range []int{http.StatusUnprocessableEntity, http.StatusUnprocessableEntity, http.StatusTooManyRequests} {
		if res := change("wrong-password"); res.StatusCode != want {
			t.Errorf("attempt %d: %d, want %d", i+1, res.StatusCode, want)
		}
	}
	res := change(testPassword)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("right password while throttled: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	var hash []byte
	if err := s.pool.QueryRow(t.Context(), "SELECT password_hash FROM users WHERE email = 'staff@example.com'").Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(testPassword)) != nil {
		t.Errorf("a throttled attempt changed the password")
	}
}

// TestRevocationsOutliveTheClient: a revocation the user asked for ends the
// session even if the browser goes away meanwhile (a closed tab cancels the
// request's context): "sign out that session", "sign out everywhere else",
// an admin's revoke, and the password change, which must not leave a new
// password with the old password's sessions alive. The revocation is held
// on the target's row until the browser has gone.
func TestRevocationsOutliveTheClient(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	tests := []struct {
		name, actor, path string
		form              func(target string) url.Values
	}{
		{"one of one's sessions", "staff@example.com", "/cp/sessions/revoke", func(id string) url.Values { return formOf("id", id) }},
		{"every other session", "staff@example.com", "/cp/sessions/revoke-others", func(string) url.Values { return url.Values{} }},
		{"an admin's revoke", "admin@example.com", "/cp/admin/revoke", func(id string) url.Values { return formOf("id", id) }},
		// Last: it changes staff's password.
		{"password change", "staff@example.com", "/cp/password", func(string) url.Values {
			return formOf("current", testPassword, "new", "a-new-password", "confirm", "a-new-password")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			actor := s.login(tt.actor, "control_panel", 0)
			target := s.login("staff@example.com", "control_panel", 0)
			ctx := t.Context()
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", target.id); err != nil {
				t.Fatal(err)
			}
			reqCtx, leave := context.WithCancel(ctx)
			req, err := http.NewRequestWithContext(reqCtx, "POST", s.base+tt.path, strings.NewReader(tt.form(target.id).Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("Cookie", actor.cookie.Name+"="+actor.cookie.Value)
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				if res, err := s.client.Do(req); err == nil {
					res.Body.Close()
				}
			}()
			waitFor(t, "the revocation to wait on the held row", func() bool {
				var n int
				err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE sessions%'`).Scan(&n)
				return err == nil && n == 1
			})
			leave() // the browser goes away
			<-sent
			time.Sleep(500 * time.Millisecond) // the server notices the closed connection
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the session to end", func() bool {
				var active bool
				err := s.pool.QueryRow(ctx, "SELECT is_active FROM sessions WHERE id = $1", target.id).Scan(&active)
				return err == nil && !active
			})
		})
	}
}

// waitFor polls cond for up to 10 seconds and fails the test, naming what,
// if it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
	}
}

// TestControlPanelClosedToTenantUsers: a tenant-app credential, as the
// control panel's cookie or as a bearer token, opens none of the control
// panel's session pages and admin routes: the admin list, the admin revoke,
// "your sessions" and its revokes, GET /api/sessions. Nothing is shown or
// ended, and the tenant sessions stay as they were.
func TestControlPanelClosedToTenantUsers(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	alice := s.login("alice@acme.example", "tenant_app", acmeID)
	bob := s.login("bob@globex.example", "tenant_app", globexID)
	staff := s.login("staff@example.com", "control_panel", 0)
	for _, c := range []cred{cookieOf(cpCookie, alice.token), bearer(alice.token)} {
		for _, r := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", "/cp/admin", nil},
			{"POST", "/cp/admin/revoke", formOf("id", bob.id)},
			{"POST", "/cp/admin/revoke", formOf("id", staff.id)},
			{"GET", "/cp/sessions", nil},
			{"POST", "/cp/sessions/revoke", formOf("id", alice.id)},
			{"POST", "/cp/sessions/revoke-others", formOf()},
			{"GET", "/api/sessions", nil},
		} {
			var res response
			if r.form != nil {
				res = s.postForm(r.path, c, r.form)
			} else {
				res = s.do(r.method, r.path, c, nil)
			}
			loc := res.Header.Get("Location")
			if res.StatusCode == http.StatusOK || (res.StatusCode == http.StatusSeeOther && !strings.HasPrefix(loc, "/cp/signin")) {
				t.Errorf("%s %s with a tenant %s: %d → %q, want a refusal", r.method, r.path, c, res.StatusCode, loc)
			}
			if strings.Contains(string(res.body), bob.id) || strings.Contains(string(res.body), staff.id) {
				t.Errorf("%s %s with a tenant %s shows session ids", r.method, r.path, c)
			}
		}
	}
	for _, x := range []struct {
		path string
		c    cred
	}{{"/t/acme/api/me", bearer(alice.token)}, {"/t/globex/api/me", bearer(bob.token)}, {"/api/me", bearer(staff.token)}} {
		if res := s.do("GET", x.path, x.c, nil); res.StatusCode != http.StatusOK {
			t.Errorf("%s afterwards: %d, want 200: a refused request ended a session", x.path, res.StatusCode)
		}
	}
}
