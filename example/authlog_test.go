package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPasswordFailuresAreLogged: every refused password check, a sign-in's
// or a re-authentication's, throttled ones included, is a Warn line naming
// the account's user id (when the e-mail is an account's) and the client
// address, never the e-mail typed or the password. Before, the example
// logged none of them: an app copied from it kept no trace of a guessing run.
func TestPasswordFailuresAreLogged(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	s := startExample(t, func(c *config) {
		c.logger = slog.New(slog.NewTextHandler(&out, nil))
		c.accountLimit = rateLimit{every: time.Hour, burst: 3}
	})
	var staff int64
	if err := s.pool.QueryRow(t.Context(), "SELECT id FROM users WHERE email = 'staff@example.com'").Scan(&staff); err != nil {
		t.Fatal(err)
	}
	const wrong = "wrong-password-7c1f"
	login := func(email string) int {
		return s.postJSON("/api/login", cred{}, `{"email":"`+email+`","password":"`+wrong+`"}`).StatusCode
	}
	if code := login("staff@example.com"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	if code := login("nobody-4be2@example.com"); code != http.StatusUnauthorized {
		t.Fatalf("unknown e-mail: %d", code)
	}
	x := s.login("staff@example.com", "control_panel", 0) // gives the account its allowance back
	for i, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
		if res := s.postJSON("/api/reauthenticate", bearer(x.token), `{"password":"`+wrong+`"}`); res.StatusCode != want {
			t.Fatalf("re-authentication %d: %d, want %d", i+1, res.StatusCode, want)
		}
	}
	logs := out.String()
	const line = `level=WARN msg="example: password refused" `
	for _, want := range []string{
		line + fmt.Sprintf("check=sign_in client_ip=127.0.0.1 user_id=%d reason=wrong_credentials", staff),
		line + "check=sign_in client_ip=127.0.0.1 reason=wrong_credentials",
		line + fmt.Sprintf("check=reauthentication client_ip=127.0.0.1 user_id=%d reason=wrong_credentials", staff),
		line + fmt.Sprintf("check=reauthentication client_ip=127.0.0.1 user_id=%d reason=throttled", staff),
	} {
		if !strings.Contains(logs, want+"\n") {
			t.Errorf("no line %q in:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, line); n != 6 {
		t.Errorf("%d password lines, want 6 (two sign-ins, four re-authentications):\n%s", n, logs)
	}
	for _, secret := range []string{wrong, "nobody-4be2", x.token} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
