package main

import (
	"net/http"
	"testing"
	"time"
)

// TestAPIMeTouches: GET …/api/me is a signed-in request like any page: it
// records the activity (README, JSON API: "touches the session"), so the idle
// time left is the full idle timeout again, where a peek would leave it.
func TestAPIMeTouches(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	for _, tc := range []struct {
		name, path string
		login      func() session
		cred       func(session) cred
	}{
		{"control panel cookie", "/api/me", func() session { return s.login("staff@example.com", "control_panel", 0) }, func(x session) cred { return cookie(x.cookie) }},
		{"tenant bearer", "/t/acme/api/me", func() session { return s.login("alice@acme.example", "tenant_app", acmeID) }, func(x session) cred { return bearer(x.token) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := tc.login()
			s.age(x.id, 8*time.Second) // 8 s of inactivity
			before := s.lastActivity(x.id)
			res := s.do("GET", tc.path, tc.cred(x), nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tc.path, res.StatusCode, res.body)
			}
			if idle := res.headerInt(t, "X-Session-Idle-Remaining"); idle != int(testIdle/time.Second) {
				t.Errorf("X-Session-Idle-Remaining = %d after the request, want the full %d", idle, int(testIdle/time.Second))
			}
			if after := s.lastActivity(x.id); !after.After(before) {
				t.Errorf("GET %s did not move last_activity_at (%v)", tc.path, after)
			}
		})
	}
}

// TestOneBrowserInBothApps: each app has its own cookie, so one browser holds
// a control-panel and a tenant-app session at once (README, "one browser can
// be signed in to both"): each mount reads its own cookie and ignores the
// other's, with both sent on every request as a browser does.
func TestOneBrowserInBothApps(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	cp := s.login("staff@example.com", "control_panel", 0)
	acme := s.login("alice@acme.example", "tenant_app", acmeID)
	both := cp.cookie.Name + "=" + cp.cookie.Value + "; " + acme.cookie.Name + "=" + acme.cookie.Value
	for _, tc := range []struct {
		path, app, id string
	}{
		{"/api/me", "control_panel", cp.id},
		{"/t/acme/api/me", "tenant_app", acme.id},
	} {
		res := s.do("GET", tc.path, cred{}, nil, "Cookie", both)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s with both cookies: %d %s", tc.path, res.StatusCode, res.body)
		}
		if m := res.json(t); m["app_type"] != tc.app || m["session_id"] != tc.id || m["credential"] != "cookie" {
			t.Errorf("GET %s with both cookies: %s; want the %s session %s", tc.path, res.body, tc.app, tc.id)
		}
	}
}
