package middleware_test

import (
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard/middleware"
)

// A renewed token that repeats the session's acr but claims other methods
// (amr) is no more a refresh of that authentication than one with another
// acr: the session keeps neither level nor methods (README: "unless the
// renewed token claims another acr or amr"). The same methods in another
// order are the same methods (RFC 8176 gives amr's order no meaning): the
// session keeps its own.
func TestRefreshWithOtherMethodsKeepsNoAttestation(t *testing.T) {
	t.Parallel()
	g, _, _, token := attestingProvider(t)
	sid := randomUUID(t)
	current := token(sid, attests("aal1", []string{"pwd", "otp"}))
	if _, err := g.Record(nil, nil, current, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(jwt.MapClaims)
		acr  string
		amr  []string
	}{
		{"the same methods in another order", attests("aal1", []string{"otp", "pwd"}), "aal1", []string{"pwd", "otp"}},
		{"other methods under the same acr", attests("aal1", []string{"pwd", "hwk"}), "", nil},
	} {
		next := token(sid, c.edit)
		s, err := g.Refresh(nil, request(nil, "Bearer "+current), next)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		current = next
		if s.ACR != c.acr || !slices.Equal(s.AMR, c.amr) {
			t.Errorf("%s: session ACR %q, AMR %v; want %q, %v", c.name, s.ACR, s.AMR, c.acr, c.amr)
		}
		if got, want := admits(g, "aal1", current), c.acr != ""; got != want {
			t.Errorf("%s: Require(ACR aal1) admits = %v, want %v", c.name, got, want)
		}
	}
}
