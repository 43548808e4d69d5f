package main

import (
	"net/http"
	"testing"
	"time"
)

// TestAPIReauthenticationWithTheCookie shows the README's API table for a
// cookie client: GET /api/sessions refuses a stale session with the JSON
// body the table gives, and POST /api/reauthenticate answers the new token
// and sets it as the new cookie; the old cookie is refused from then on.
func TestAPIReauthenticationWithTheCookie(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	x := s.login("staff@example.com", "control_panel", 0)
	s.ageAuth(x.id, 11*time.Minute)

	res := s.do("GET", "/api/sessions", cookie(x.cookie), nil)
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stale cookie: %d; want 401", res.StatusCode)
	}
	if m := res.json(t); m["error"] != "insufficient_user_authentication" || m["reason"] != "reauthentication_required" || m["max_age"] != float64(600) {
		t.Errorf("body %s; want error insufficient_user_authentication, reason reauthentication_required, max_age 600", res.body)
	}

	res = s.postJSON("/api/reauthenticate", cookie(x.cookie), `{"password":"`+testPassword+`"}`)
	fresh, _ := res.json(t)["token"].(string)
	if res.StatusCode != http.StatusOK || fresh == "" || fresh == x.token {
		t.Fatalf("reauthenticate: %d, new token %t", res.StatusCode, fresh != "" && fresh != x.token)
	}
	var set *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == cpCookie {
			set = c
		}
	}
	if set == nil || set.Value != fresh {
		t.Fatalf("reauthenticate set the cookie %v; want %s = the new token", set, cpCookie)
	}
	if res := s.do("GET", "/api/me", cookie(x.cookie), nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old cookie after re-authentication: %d; want 401", res.StatusCode)
	}
	if res := s.do("GET", "/api/sessions", cookieOf(cpCookie, fresh), nil); res.StatusCode != http.StatusOK {
		t.Errorf("the new cookie on /api/sessions: %d %s; want 200", res.StatusCode, res.body)
	}
}
