package middleware_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// A session Record opens for an identity provider's token is as old,
// for a step-up, as the provider's authentication: its "auth_time", else
// its "iat". A token the provider issued hours after the user last gave
// credentials (a refresh, a single sign-on session) must not open pages
// that ask for a password entered in the last ten minutes.
func TestRecordKeepsTheProvidersAuthTime(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g := providerGuard(t, db)
	routes := reauthRoutes(g)
	now := time.Now()
	tests := []struct {
		name      string
		issuedAt  time.Time
		authTime  time.Time // zero: no auth_time claim
		signIn    middleware.SignIn
		wantAge   time.Duration // about
		wantFresh bool
	}{
		{"auth_time two hours ago", now, now.Add(-2 * time.Hour), middleware.SignIn{}, 2 * time.Hour, false},
		{"no auth_time, issued half an hour ago", now.Add(-30 * time.Minute), time.Time{}, middleware.SignIn{}, 30 * time.Minute, false},
		{"auth_time a minute ago", now, now.Add(-time.Minute), middleware.SignIn{}, time.Minute, true},
		{"SignIn.AuthTime earlier than the token's", now, now.Add(-time.Minute), middleware.SignIn{AuthTime: now.Add(-time.Hour)}, time.Hour, false},
		{"auth_time just ahead of the database's clock", now.Add(-time.Minute), now.Add(30 * time.Second), middleware.SignIn{}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := claims(randomUUID(t), tt.issuedAt)
			c["sub"] = strconv.FormatInt(db.user, 10)
			c["jti"] = randomToken(t)[:22]
			c["nbf"] = tt.issuedAt.Add(-time.Minute).Unix()
			c["exp"] = now.Add(time.Hour).Unix()
			if !tt.authTime.IsZero() {
				c["auth_time"] = tt.authTime.Unix()
			}
			token := sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
			s, err := g.Record(nil, nil, token, tt.signIn)
			if err != nil {
				t.Fatal(err)
			}
			if d := s.AuthAge - tt.wantAge; d < -5*time.Second || d > 5*time.Second {
				t.Errorf("AuthAge = %v, want about %v", s.AuthAge, tt.wantAge)
			}
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/sensitive", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			routes.ServeHTTP(rec, r)
			if fresh := rec.Code == http.StatusOK; fresh != tt.wantFresh {
				t.Fatalf("a route asking for an authentication within 10m answered %d, want it open: %v", rec.Code, tt.wantFresh)
			}
			if tt.wantFresh {
				var seen sessionSeen
				if err := json.NewDecoder(rec.Body).Decode(&seen); err != nil || seen.AuthAge > tt.wantAge+5*time.Second {
					t.Fatalf("the route saw AuthAge %v (%v), want about %v", seen.AuthAge, err, tt.wantAge)
				}
			}
		})
	}
}

// randomUUID is a random version 4 UUID, for a token's session-id claim.
func randomUUID(t *testing.T) string {
	t.Helper()
	b := []byte(randomToken(t)[:32])
	for i := range b {
		b[i] = "0123456789abcdef"[b[i]%16]
	}
	b[12], b[16] = '4', '8'
	s := string(b)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// A re-authentication with an identity provider's new token is as old as
// the authentication the token attests: a token whose auth_time is after
// the session's but an hour old (the user signed in at the provider for
// another app an hour ago) does not open a route that asks for ten minutes.
func TestReauthenticateKeepsTheProvidersAuthTime(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g := providerGuard(t, db)
	routes := reauthRoutes(g)
	sid := randomUUID(t)
	now := time.Now()
	token := func(authTime time.Time) string {
		c := claims(sid, now)
		c["sub"] = strconv.FormatInt(db.user, 10)
		c["jti"] = randomToken(t)[:22]
		c["auth_time"] = authTime.Unix()
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}
	current := token(now.Add(-3 * time.Hour))
	if _, err := g.Record(nil, nil, current, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	sensitive := func(tok string) int {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/sensitive", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		routes.ServeHTTP(rec, r)
		return rec.Code
	}
	for _, step := range []struct {
		name      string
		authTime  time.Time
		wantAge   time.Duration
		wantFresh bool
	}{
		{"an hour-old authentication", now.Add(-time.Hour), time.Hour, false},
		{"a new authentication", now, 0, true},
	} {
		next := token(step.authTime)
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Authorization", "Bearer "+current)
		_, s, err := g.Reauthenticate(nil, r, middleware.Reauthentication{Token: next})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if d := s.AuthAge - step.wantAge; d < -5*time.Second || d > 5*time.Second {
			t.Errorf("%s: AuthAge = %v, want about %v", step.name, s.AuthAge, step.wantAge)
		}
		if fresh := sensitive(next) == http.StatusOK; fresh != step.wantFresh {
			t.Errorf("%s: the ten-minute route open: %v, want %v", step.name, fresh, step.wantFresh)
		}
		current = next
	}
}

// providerGuard is a Guard over db for an identity provider's JWTs: it
// verifies hmacJWT's tokens (key k2) and signs none.
func providerGuard(t *testing.T, db realDB) *middleware.Guard {
	t.Helper()
	verifyOnly := hmacJWT()
	verifyOnly.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	verifyOnly.SessionIDClaim = "sid"
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard,
		Tokens: middleware.JWTs, JWT: verifyOnly})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// A provider that writes no auth_time gives no sign of whether it asked
// the user for credentials: a refresh-token grant issues a token with a new
// iat and nothing else. Taken as a re-authentication, such a token opened
// the ten-minute route an hour after the sign-in without the user
// re-entering anything; it is refused, and the route stays closed.
func TestReauthenticateNeedsTheProvidersAuthTime(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g := providerGuard(t, db)
	routes := reauthRoutes(g)
	sid := randomUUID(t)
	now := time.Now()
	token := func(issuedAt time.Time) string {
		c := claims(sid, issuedAt)
		c["sub"] = strconv.FormatInt(db.user, 10)
		c["jti"] = randomToken(t)[:22]
		c["exp"] = now.Add(time.Hour).Unix()
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}
	signedIn := token(now.Add(-time.Hour))
	if _, err := g.Record(nil, nil, signedIn, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	refreshed := token(now)
	_, _, err := g.Reauthenticate(nil, requestWithCookie(signedIn), middleware.Reauthentication{Token: refreshed})
	if !errors.Is(err, middleware.ErrReauthenticationRequired) {
		t.Errorf("a refreshed token without auth_time: %v, want ErrReauthenticationRequired", err)
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/sensitive", nil)
	withCookie(refreshed)(r)
	routes.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK {
		t.Fatal("a refresh opened the route that asks for an authentication within 10m")
	}
}

// The provider's clock is not the database's. A re-authentication's
// auth_time is compared with the session's last authentication on the
// provider's own clock when the session holds the provider's token (its
// auth_time, else its iat), where a refresh repeats the time exactly and a
// new authentication is later whatever the skew. Only against a time the
// database wrote (a session the application signed in) does a skew show,
// and there the Guard allows JWTConfig.Leeway, as for exp, nbf and iat.
// Before, the session's stored time was the comparison: a provider two
// seconds ahead had its sign-in time clamped to the database's now, so a
// refreshed token repeating the sign-in's auth_time read as a later
// authentication; and a provider two seconds behind had a re-authentication
// just after an application sign-in refused, sending the user round again.
func TestReauthenticateAcrossClockSkew(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	provider := providerGuard(t, db)
	cfg := hmacJWT()
	cfg.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	cfg.RequiredClaims = nil
	appSignsIn, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard,
		Tokens: middleware.OpaqueTokens | middleware.JWTs, JWT: cfg})
	if err != nil {
		t.Fatal(err)
	}
	leeway := 30 * time.Second // JWTConfig's default
	token := func(sid string, issuedAt, authTime time.Time) string {
		c := claims(sid, issuedAt)
		if sid == "" {
			delete(c, "sid")
		}
		c["sub"] = strconv.FormatInt(db.user, 10)
		c["jti"] = randomToken(t)[:22]
		c["exp"] = time.Now().Add(time.Hour).Unix()
		c["auth_time"] = authTime.Unix()
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}
	tests := []struct {
		name     string
		recorded bool          // the session holds the provider's token, else the application signed it in
		skew     time.Duration // the provider's clock minus ours
		signedIn time.Duration // the sign-in's auth_time, on the provider's clock, from its now
		next     time.Duration // the re-authentication token's auth_time, the same way
		want     bool
	}{
		{"provider ahead: a refresh repeating the sign-in's auth_time", true, 2 * time.Second, 0, 0, false},
		{"provider ahead: a new authentication", true, 2 * time.Second, 0, time.Second, true},
		{"provider behind: a refresh repeating the sign-in's auth_time", true, -2 * time.Second, -time.Second, -time.Second, false},
		{"provider behind: a new authentication", true, -2 * time.Second, -time.Second, 0, true},
		{"application sign-in, provider behind: a new authentication", false, -2 * time.Second, 0, 0, true},
		{"application sign-in, provider far behind: a new authentication", false, -leeway + time.Second, 0, 0, true},
		{"application sign-in: an authentication before it by more than the leeway", false, 0, 0, -leeway - 5*time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			providerNow := time.Now().Add(tt.skew)
			g, sid, current := provider, randomUUID(t), ""
			if tt.recorded {
				current = token(sid, providerNow.Add(tt.signedIn), providerNow.Add(tt.signedIn))
				if _, err := g.Record(nil, nil, current, middleware.SignIn{}); err != nil {
					t.Fatal(err)
				}
			} else {
				g, sid = appSignsIn, ""
				if current, _, err = g.SignIn(nil, nil, middleware.SignIn{UserID: db.user}); err != nil {
					t.Fatal(err)
				}
				// The provider's now is read after the sign-in, whose time
				// the database wrote: read before it, a sign-in that ends
				// in the next second (a loaded machine) puts the session's
				// authentication past auth_time + Leeway when the provider
				// is a second short of Leeway behind.
				providerNow = time.Now().Add(tt.skew)
			}
			next := token(sid, providerNow.Add(max(tt.next, 0)), providerNow.Add(tt.next))
			_, s, err := g.Reauthenticate(nil, requestWithCookie(current), middleware.Reauthentication{Token: next, ACR: "aal2"})
			switch {
			case tt.want && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.want && !errors.Is(err, middleware.ErrReauthenticationRequired):
				t.Fatalf("%v, want ErrReauthenticationRequired", err)
			case tt.want && s.ACR != "aal2":
				t.Fatalf("session %+v", s)
			}
		})
	}
}
