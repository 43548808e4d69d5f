package main

import (
	"net/http"
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
