package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// attestingProvider is an identity provider's Guard (HS256 key k2, verify
// only, "sid" the session-id claim) over a fake store, whose audit events
// go to events, and token signs the provider's token for user 42's session
// sid, issued now, of an authentication an hour ago, edited by edit.
func attestingProvider(t *testing.T) (g *middleware.Guard, st *fakeStore, events *eventLog, token func(sid string, edit func(jwt.MapClaims)) string) {
	t.Helper()
	st, events = newFakeStore(), &eventLog{}
	verifyOnly := hmacJWT()
	verifyOnly.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	verifyOnly.SessionIDClaim = "sid"
	g = newGuard(t, st, func(c *middleware.Config) {
		c.AppType, c.Tokens, c.JWT, c.OnEvent = sessionguard.ControlPanel, middleware.JWTs, verifyOnly, events.add
	})
	now := time.Now()
	token = func(sid string, edit func(jwt.MapClaims)) string {
		c := claims(sid, now)
		c["jti"] = randomToken(t)[:22]
		c["auth_time"] = now.Add(-time.Hour).Unix()
		if edit != nil {
			edit(c)
		}
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}
	return g, st, events, token
}

// attests sets a token's acr and amr claims.
func attests(acr any, amr any) func(jwt.MapClaims) {
	return func(c jwt.MapClaims) { c["acr"], c["amr"] = acr, amr }
}

// admits reports whether a route that Requires acr lets token in.
func admits(g *middleware.Guard, acr, token string) bool {
	h := g.Require(middleware.Requirement{ACR: []string{acr}}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request(nil, "Bearer "+token))
	return rec.Code == http.StatusOK
}

// malformedAttestations are acr and amr claims no session can record: of
// the wrong JSON type, or past sessionguard.CheckAuthentication's limits.
var malformedAttestations = []struct {
	name     string
	acr, amr any
}{
	{"acr a number", 2, nil},
	{"acr an array", []string{"aal2"}, nil},
	{"acr with a space", "aal2 aal3", nil},
	{"acr too long", strings.Repeat("a", sessionguard.MaxACRBytes+1), nil},
	{"amr a string", nil, "pwd"},
	{"amr of numbers", nil, []any{1}},
	{"amr of an empty method", nil, []string{""}},
	{"amr of a long method", nil, []string{strings.Repeat("m", sessionguard.MaxAMRBytes+1)}},
	{"amr of too many methods", nil, slices.Repeat([]string{"pwd"}, sessionguard.MaxAMRValues+1)},
}

// malformed sets the claims of a malformed attestation, leaving out a nil one.
func malformed(acr, amr any) func(jwt.MapClaims) {
	return func(c jwt.MapClaims) {
		if acr != nil {
			c["acr"] = acr
		}
		if amr != nil {
			c["amr"] = amr
		}
	}
}

// An identity provider that does MFA says so in its token's OIDC "acr" and
// "amr" (RFC 8176) claims: Record records them, and a route that Requires
// that acr lets the session in. Before, Record recorded only SignIn's ACR
// and AMR: a provider's token with acr "aal2" recorded under SignIn{} opened
// a session that every Require(ACR "aal2") route refused, and an
// application could record "aal2" for a token that says "aal1".
func TestRecordTakesTheProvidersAttestation(t *testing.T) {
	t.Parallel()
	g, st, _, token := attestingProvider(t)

	mfa := token(randomUUID(t), attests("aal2", []string{"pwd", "otp"}))
	s, err := g.Record(nil, nil, mfa, middleware.SignIn{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ACR != "aal2" || !slices.Equal(s.AMR, []string{"pwd", "otp"}) {
		t.Fatalf("session ACR %q, AMR %v: want the token's aal2, [pwd otp]", s.ACR, s.AMR)
	}
	if !admits(g, "aal2", mfa) {
		t.Fatal("a Require(ACR aal2) route refused the session of a token whose acr is aal2")
	}

	// Without the claims the call's values are recorded, as before.
	plain := token(randomUUID(t), nil)
	if s, err = g.Record(nil, nil, plain, middleware.SignIn{ACR: "aal1", AMR: []string{"pwd"}}); err != nil {
		t.Fatal(err)
	}
	if s.ACR != "aal1" || !slices.Equal(s.AMR, []string{"pwd"}) {
		t.Fatalf("session ACR %q, AMR %v: want the call's aal1, [pwd]", s.ACR, s.AMR)
	}

	// Both, the same (amr in another order): recorded.
	same := token(randomUUID(t), attests("aal2", []string{"otp", "pwd"}))
	if _, err = g.Record(nil, nil, same, middleware.SignIn{ACR: "aal2", AMR: []string{"pwd", "otp"}}); err != nil {
		t.Fatalf("a call that repeats the token's acr and amr: %v", err)
	}

	// Both, different: the application's argument against the token's
	// attestation, refused before the store.
	before := st.totalCalls()
	for _, c := range []struct {
		name string
		call middleware.SignIn
	}{
		{"ACR above the token's", middleware.SignIn{ACR: "aal2"}},
		{"AMR beyond the token's", middleware.SignIn{AMR: []string{"pwd", "otp"}}},
	} {
		tok := token(randomUUID(t), attests("aal1", []string{"pwd"}))
		_, err := g.Record(nil, nil, tok, c.call)
		if !errors.Is(err, sessionguard.ErrInvalidAuthentication) || errors.Is(err, middleware.ErrInvalidToken) || errors.Is(err, middleware.ErrUnavailable) {
			t.Errorf("%s: Record = %v, want ErrInvalidAuthentication (neither ErrInvalidToken nor ErrUnavailable)", c.name, err)
		}
	}

	// A claim no session can hold: the token is invalid.
	for _, c := range malformedAttestations {
		tok := token(randomUUID(t), malformed(c.acr, c.amr))
		if _, err := g.Record(nil, nil, tok, middleware.SignIn{}); !errors.Is(err, middleware.ErrInvalidToken) {
			t.Errorf("%s: Record = %v, want ErrInvalidToken", c.name, err)
		}
	}
	if n := st.totalCalls() - before; n != 0 {
		t.Errorf("%d store calls for refused tokens, want none", n)
	}
}

// Reauthenticate with the provider's new token records the token's acr and
// amr as Record does: a step-up at the provider opens the Require(ACR)
// routes without the application copying the claims, the application's
// values apply to a token without them, and a disagreement or a malformed
// claim is refused before the store (the malformed token audited as every
// refused re-authentication token is).
func TestReauthenticateTakesTheProvidersAttestation(t *testing.T) {
	t.Parallel()
	g, st, events, token := attestingProvider(t)
	sid := randomUUID(t)
	first := token(sid, attests("aal1", []string{"pwd"}))
	if _, err := g.Record(nil, nil, first, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	fresh := func(edit func(jwt.MapClaims)) string {
		return token(sid, func(c jwt.MapClaims) {
			c["auth_time"] = time.Now().Unix()
			if edit != nil {
				edit(c)
			}
		})
	}

	for _, c := range []struct {
		name string
		a    middleware.Reauthentication
	}{
		{"ACR above the token's", middleware.Reauthentication{ACR: "aal3"}},
		{"AMR beyond the token's", middleware.Reauthentication{AMR: []string{"pwd", "hwk"}}},
	} {
		c.a.Token = fresh(attests("aal2", []string{"pwd", "otp"}))
		_, _, err := g.Reauthenticate(nil, request(nil, "Bearer "+first), c.a)
		if !errors.Is(err, sessionguard.ErrInvalidAuthentication) || errors.Is(err, middleware.ErrReauthenticationRequired) || errors.Is(err, middleware.ErrUnavailable) {
			t.Errorf("%s: Reauthenticate = %v, want ErrInvalidAuthentication", c.name, err)
		}
	}
	if n := st.callCount("Reauthenticate"); n != 0 {
		t.Errorf("%d Reauthenticate store calls for disagreeing values, want none", n)
	}
	events.take()
	for _, c := range malformedAttestations {
		_, _, err := g.Reauthenticate(nil, request(nil, "Bearer "+first), middleware.Reauthentication{Token: fresh(malformed(c.acr, c.amr))})
		if !errors.Is(err, middleware.ErrReauthenticationRequired) {
			t.Errorf("%s: Reauthenticate = %v, want ErrReauthenticationRequired", c.name, err)
		}
		if ev := events.take(); len(ev) != 1 || ev[0].Kind != sessionguard.EventRefused || ev[0].Reason != sessionguard.ReasonReauthenticationRefused {
			t.Errorf("%s: events %+v, want one refused, reauthentication_refused", c.name, ev)
		}
	}
	if n := st.callCount("Reauthenticate"); n != 0 {
		t.Errorf("%d Reauthenticate store calls for malformed claims, want none", n)
	}

	stepUp := fresh(attests("aal2", []string{"pwd", "otp"}))
	_, s, err := g.Reauthenticate(nil, request(nil, "Bearer "+first), middleware.Reauthentication{Token: stepUp})
	if err != nil {
		t.Fatal(err)
	}
	if s.ACR != "aal2" || !slices.Equal(s.AMR, []string{"pwd", "otp"}) {
		t.Fatalf("session ACR %q, AMR %v: want the token's aal2, [pwd otp]", s.ACR, s.AMR)
	}
	if !admits(g, "aal2", stepUp) {
		t.Fatal("a Require(ACR aal2) route refused the session re-authenticated with a token whose acr is aal2")
	}

	// Without the claims, the call's values, as before.
	plain := fresh(func(c jwt.MapClaims) { c["auth_time"] = time.Now().Unix() + 1 })
	if _, s, err = g.Reauthenticate(nil, request(nil, "Bearer "+stepUp), middleware.Reauthentication{Token: plain, ACR: "aal3", AMR: []string{"hwk"}}); err != nil {
		t.Fatal(err)
	}
	if s.ACR != "aal3" || !slices.Equal(s.AMR, []string{"hwk"}) {
		t.Fatalf("session ACR %q, AMR %v: want the call's aal3, [hwk]", s.ACR, s.AMR)
	}
}

// A refresh is no new authentication: the session keeps its level and
// methods when the renewed token repeats them or says nothing of them. A
// renewed token that says otherwise (acr values have no order the Guard
// could know, so any other value may be a higher one) does not raise the
// session: it loses its recorded level and methods, and the Require(ACR)
// routes want a re-authentication. A malformed claim refuses the token, as
// every refused refresh token is, audited.
func TestRefreshDoesNotRaiseTheAttestation(t *testing.T) {
	t.Parallel()
	g, _, events, token := attestingProvider(t)
	sid := randomUUID(t)
	current := token(sid, attests("aal1", []string{"pwd"}))
	if _, err := g.Record(nil, nil, current, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		edit     func(jwt.MapClaims)
		acr      string
		amr      []string
		admitted bool
	}{
		{"repeats the session's", attests("aal1", []string{"pwd"}), "aal1", []string{"pwd"}, true},
		{"says nothing", nil, "aal1", []string{"pwd"}, true},
		{"claims a higher acr", attests("aal2", []string{"pwd"}), "", nil, false},
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
		if got := admits(g, "aal1", current); got != c.admitted {
			t.Errorf("%s: Require(ACR aal1) admits = %v, want %v", c.name, got, c.admitted)
		}
		if admits(g, "aal2", current) {
			t.Errorf("%s: a refresh opened a Require(ACR aal2) route", c.name)
		}
	}
	events.take()
	for _, c := range malformedAttestations {
		_, err := g.Refresh(nil, request(nil, "Bearer "+current), token(sid, malformed(c.acr, c.amr)))
		if !errors.Is(err, middleware.ErrReauthenticationRequired) {
			t.Errorf("%s: Refresh = %v, want ErrReauthenticationRequired", c.name, err)
		}
		if ev := events.take(); len(ev) != 1 || ev[0].Kind != sessionguard.EventRefused || ev[0].Reason != sessionguard.ReasonRefreshRefused {
			t.Errorf("%s: events %+v, want one refused, refresh_refused", c.name, ev)
		}
	}
}

// The Guard's own tokens attest nothing: it writes no acr or amr claim, so
// the session's level is only ever what SignIn or Reauthenticate recorded.
func TestGuardSignedTokensCarryNoAttestation(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	g := newGuard(t, st, func(c *middleware.Config) {
		c.AppType, c.Tokens, c.JWT = sessionguard.ControlPanel, middleware.JWTs, hmacJWT()
	})
	token, s, err := g.SignIn(nil, nil, middleware.SignIn{UserID: 42, ACR: "aal2", AMR: []string{"pwd", "otp"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.ACR != "aal2" {
		t.Fatalf("session ACR %q, want the call's aal2", s.ACR)
	}
	rotated, _, err := g.Reauthenticate(nil, request(nil, "Bearer "+token), middleware.Reauthentication{ACR: "aal3"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{token, rotated} {
		var c jwt.MapClaims
		if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
			t.Fatal(err)
		}
		if _, ok := c["acr"]; ok {
			t.Errorf("the Guard's token has an acr claim")
		}
		if _, ok := c["amr"]; ok {
			t.Errorf("the Guard's token has an amr claim")
		}
	}
}

// The provider's attestation through PostgreSQL: Record stores the token's
// acr and amr, a Require(ACR) route reads them back, and a refreshed token
// that claims another acr leaves the session with none (stored, not only
// returned).
func TestProvidersAttestationIsStored(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g := providerGuard(t, db)
	sid, now := randomUUID(t), time.Now()
	token := func(issuedAt time.Time, acr string) string {
		c := claims(sid, issuedAt)
		c["sub"] = strconv.FormatInt(db.user, 10)
		c["jti"] = randomToken(t)[:22]
		c["auth_time"] = now.Add(-time.Hour).Unix()
		c["acr"], c["amr"] = acr, []string{"pwd", "otp"}
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}
	first := token(now.Add(-time.Minute), "aal2")
	if _, err := g.Record(nil, nil, first, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	if !admits(g, "aal2", first) {
		t.Fatal("a Require(ACR aal2) route refused the recorded session of a token whose acr is aal2")
	}
	renewed := token(now, "aal3")
	if _, err := g.Refresh(nil, request(nil, "Bearer "+first), renewed); err != nil {
		t.Fatal(err)
	}
	s, err := g.Authenticate(request(nil, "Bearer "+renewed))
	if err != nil || s.ACR != "" || len(s.AMR) != 0 {
		t.Fatalf("after a refresh claiming aal3: %+v (ACR %q, AMR %v), %v; want no level, no methods", s, s.ACR, s.AMR, err)
	}
	if admits(g, "aal3", renewed) || admits(g, "aal2", renewed) {
		t.Fatal("a refresh claiming another acr left the session a level")
	}
}
