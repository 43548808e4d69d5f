package main

import (
	"net/http"
	"testing"
)

// TestSigninEndsTheReplacedSession: signing in from a browser that holds an
// app's cookie ends the session of that cookie (reason logout): the new
// cookie replaces it, so nobody could sign it out any more. That holds for
// both apps, for the form and the API, and when the new sign-in is another
// user's or another tenant's. A failed sign-in ends nothing.
func TestSigninEndsTheReplacedSession(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	state := func(id string) (active bool, reason string) {
		t.Helper()
		var r *string
		if err := s.pool.QueryRow(t.Context(), "SELECT is_active, revoke_reason FROM sessions WHERE id = $1", id).Scan(&active, &r); err != nil {
			t.Fatal(err)
		}
		if r != nil {
			reason = *r
		}
		return active, reason
	}
	for _, tt := range []struct {
		name, oldEmail, oldApp string
		oldTenant              int64
		path, email            string
	}{
		{"control panel form", "staff@example.com", "control_panel", 0, "/cp/signin", "staff@example.com"},
		{"control panel form, another user", "staff@example.com", "control_panel", 0, "/cp/signin", "admin@example.com"},
		{"control panel API", "admin@example.com", "control_panel", 0, "/api/login", "staff@example.com"},
		{"tenant form", "alice@acme.example", "tenant_app", acmeID, "/t/acme/signin", "alice@acme.example"},
		{"tenant API, another tenant", "alice@acme.example", "tenant_app", acmeID, "/t/globex/api/login", "bob@globex.example"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sign := func(password string) response {
				old := s.login(tt.oldEmail, tt.oldApp, tt.oldTenant)
				var res response
				if tt.path == "/cp/signin" || tt.path == "/t/acme/signin" {
					res = s.postForm(tt.path, cookie(old.cookie), formOf("email", tt.email, "password", password))
				} else {
					res = s.postJSON(tt.path, cookie(old.cookie), `{"email":"`+tt.email+`","password":"`+password+`"}`)
				}
				if active, reason := state(old.id); (res.StatusCode == http.StatusUnauthorized) != active ||
					(!active && reason != "logout") {
					t.Errorf("after a sign-in answered %d the replaced session is active %t (reason %q); "+
						"want it ended with logout after a sign-in, alive after a refusal", res.StatusCode, active, reason)
				}
				return res
			}
			if res := sign(testPassword); res.StatusCode != http.StatusOK && res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in: %d", res.StatusCode)
			}
			if res := sign("wrong-password"); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d, want 401", res.StatusCode)
			}
		})
	}
}
