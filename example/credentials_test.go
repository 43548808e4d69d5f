package main

import (
	"net/http"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestSigninRunsBcryptForEveryRefusal: a sign-in that fails because the
// e-mail has no account (or cannot be one), or because the account is
// another app's or tenant's, takes one bcrypt comparison as a wrong
// password does, so that the response time does not tell which e-mails
// have accounts where. The comparisons are counted, not timed: a timed
// check fails whenever the machine is busier while the reference runs.
func TestSigninRunsBcryptForEveryRefusal(t *testing.T) {
	t.Parallel()
	var compared atomic.Int64
	s := startExample(t, func(c *config) {
		c.comparePassword = func(hash, password []byte) error {
			compared.Add(1)
			return bcrypt.CompareHashAndPassword(hash, password)
		}
	})
	for _, tt := range []struct{ name, path, email string }{
		{"wrong password", "/api/login", "staff@example.com"},
		{"no such account", "/api/login", "nobody@example.com"},
		{"no account can have it", "/api/login", `staff@example.com\u0000`},
		{"another app's account", "/api/login", "alice@acme.example"},
		{"another tenant's account", "/t/globex/api/login", "alice@acme.example"},
	} {
		before := compared.Load()
		res := s.postJSON(tt.path, cred{}, `{"email":"`+tt.email+`","password":"wrong-password"}`)
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", tt.name, res.StatusCode)
		}
		if n := compared.Load() - before; n != 1 {
			t.Errorf("%s: %d bcrypt comparisons, want 1: the refusal's time tells the e-mail apart", tt.name, n)
		}
	}
}
