package main

import (
	"net/http"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestSigninRunsBcryptForEveryRefusal: a sign-in that fails because the
// e-mail has no account (or cannot be one), or because the account is
// another app's, takes a bcrypt comparison as a wrong password does, so that
// the response time does not tell which e-mails have accounts where. With a
// bcrypt cost high enough that one comparison dwarfs a query, each refusal
// must take at least about one comparison's time; one that skipped bcrypt
// answers in a few milliseconds.
func TestSigninRunsBcryptForEveryRefusal(t *testing.T) {
	t.Parallel()
	const cost = 9
	s := startExample(t, func(c *config) { c.bcryptCost = cost })
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), cost)
	if err != nil {
		t.Fatal(err)
	}
	one := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		_ = bcrypt.CompareHashAndPassword(hash, []byte("wrong-password"))
		one = min(one, time.Since(start))
	}
	for _, tt := range []struct{ name, path, email string }{
		{"wrong password", "/api/login", "staff@example.com"},
		{"no such account", "/api/login", "nobody@example.com"},
		{"no account can have it", "/api/login", `staff@example.com\u0000`},
		{"another app's account", "/api/login", "alice@acme.example"},
		{"another tenant's account", "/t/globex/api/login", "alice@acme.example"},
	} {
		start := time.Now()
		res := s.postJSON(tt.path, cred{}, `{"email":"`+tt.email+`","password":"wrong-password"}`)
		took := time.Since(start)
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", tt.name, res.StatusCode)
		}
		if took < one/2 {
			t.Errorf("%s: answered in %v, under half a bcrypt comparison (%v): the refusal tells the e-mail apart", tt.name, took, one)
		}
	}
}
