package middleware_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// A Reauthenticate whose ACR or AMR disagrees with its token's is the
// application's argument against the issuer, not a refused token
// (Reauthentication.ACR's doc): it leaves no audit event (no refused
// reauthentication_refused, no reauthenticated), and the session keeps the
// level and methods it had.
func TestReauthenticationDisagreementAuditsNothing(t *testing.T) {
	t.Parallel()
	g, _, events, token := attestingProvider(t)
	sid := randomUUID(t)
	first := token(sid, attests("aal1", []string{"pwd"}))
	if _, err := g.Record(nil, nil, first, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	events.take()
	stepUp := token(sid, func(c jwt.MapClaims) {
		c["auth_time"] = time.Now().Unix()
		attests("aal2", []string{"pwd", "otp"})(c)
	})
	_, _, err := g.Reauthenticate(nil, request(nil, "Bearer "+first), middleware.Reauthentication{Token: stepUp, ACR: "aal3"})
	if !errors.Is(err, sessionguard.ErrInvalidAuthentication) {
		t.Fatalf("Reauthenticate = %v, want ErrInvalidAuthentication", err)
	}
	if ev := events.take(); len(ev) != 0 {
		t.Errorf("events %+v, want none: the disagreement is the application's, not a failed authentication", ev)
	}
	s, err := g.Authenticate(request(nil, "Bearer "+first))
	if err != nil || s.ACR != "aal1" {
		t.Fatalf("the session after the refused call: ACR %q, %v; want aal1, as recorded", s.ACR, err)
	}
}
