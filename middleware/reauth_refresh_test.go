package middleware_test

import (
	"context"
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

// An identity provider's tokens live minutes and are renewed by a
// refresh-token grant. The session Record opened for the first token lives
// on under each renewal (Refresh) rather than ending at the first token's
// exp, and a renewal is no re-authentication: the session's authentication
// time, level and methods stay, and the step-up route stays closed. Before
// Refresh, a renewed token had no way in: Record refused it (its sid names
// a recorded session), Reauthenticate refused it (no new auth_time), and
// the session ended with the first token.
func TestRefreshKeepsTheAuthentication(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g := providerGuard(t, db)
	routes := reauthRoutes(g)
	sid := randomUUID(t)
	now := time.Now()
	signedIn := now.Add(-time.Hour) // at the provider, with a password
	token := func(edit func(jwt.MapClaims)) string {
		c := claims(sid, now)
		c["sub"] = strconv.FormatInt(db.user, 10)
		c["jti"] = randomToken(t)[:22]
		c["exp"] = now.Add(5 * time.Minute).Unix()
		c["auth_time"] = signedIn.Unix()
		if edit != nil {
			edit(c)
		}
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}
	first := token(func(c jwt.MapClaims) { c["iat"] = now.Add(-time.Minute).Unix() })
	if _, err := g.Record(nil, nil, first, middleware.SignIn{ACR: "aal1", AMR: []string{"pwd"}}); err != nil {
		t.Fatal(err)
	}
	refresh := func(current, next string) (*httptest.ResponseRecorder, middleware.Session, error) {
		rec := httptest.NewRecorder()
		s, err := g.Refresh(rec, requestWithCookie(current), next)
		return rec, s, err
	}
	for _, c := range []struct{ name, token string }{
		{"the session's own token", first},
		{"another user's token", token(func(c jwt.MapClaims) { c["sub"] = "999999" })},
		{"another session's token", token(func(c jwt.MapClaims) { c["sid"] = randomUUID(t) })},
		{"a token issued before the session's", token(func(c jwt.MapClaims) { c["iat"] = now.Add(-time.Hour).Unix() })},
		{"a forged token", sign(t, jwt.SigningMethodHS256, "k2", hmacOld, claims(sid, now))},
		{"an opaque token", randomToken(t)},
	} {
		if _, _, err := refresh(first, c.token); !errors.Is(err, middleware.ErrReauthenticationRequired) {
			t.Errorf("%s: %v, want ErrReauthenticationRequired", c.name, err)
		}
	}

	renewed := token(nil)
	// Neither a sign-in nor a re-authentication.
	if _, err := g.Record(nil, nil, renewed, middleware.SignIn{}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
		t.Fatalf("Record of the renewed token: %v, want ErrDuplicateToken", err)
	}
	if _, _, err := g.Reauthenticate(nil, requestWithCookie(first), middleware.Reauthentication{Token: renewed}); !errors.Is(err, middleware.ErrReauthenticationRequired) {
		t.Fatalf("Reauthenticate with the renewed token: %v, want ErrReauthenticationRequired", err)
	}
	rec, s, err := refresh(first, renewed)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != sid || s.ACR != "aal1" || len(s.AMR) != 1 || s.AMR[0] != "pwd" ||
		s.AuthAge < time.Hour-5*time.Second || s.AuthAge > time.Hour+5*time.Second {
		t.Fatalf("the refreshed session %+v (AuthAge %v, ACR %q, AMR %v): want the sign-in's authentication", s, s.AuthAge, s.ACR, s.AMR)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Value != renewed || cookies[0].MaxAge <= 0 || cookies[0].MaxAge > 300 {
		t.Fatalf("cookie %v: want the renewed token, no longer than its exp", cookies)
	}
	if code := serve(g, requestWithCookie(first)); code != http.StatusUnauthorized {
		t.Fatalf("the first token after the refresh: %d, want 401", code)
	}
	if _, err := g.Record(nil, nil, first, middleware.SignIn{}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
		t.Fatalf("Record of the refreshed-out token: %v, want ErrDuplicateToken", err)
	}
	sensitive := func(tok string) int {
		r := httptest.NewRequest(http.MethodGet, "/sensitive", nil)
		withCookie(tok)(r)
		rec := httptest.NewRecorder()
		routes.ServeHTTP(rec, r)
		return rec.Code
	}
	if code := sensitive(renewed); code != http.StatusUnauthorized {
		t.Fatalf("the ten-minute route after a refresh: %d, want 401 (no new authentication)", code)
	}

	// A re-authentication after refreshes still works, and opens the route.
	stepUp := token(func(c jwt.MapClaims) { c["auth_time"] = time.Now().Unix(); c["iat"] = time.Now().Unix() })
	if _, _, err := g.Reauthenticate(nil, requestWithCookie(renewed), middleware.Reauthentication{Token: stepUp, ACR: "aal2"}); err != nil {
		t.Fatalf("a step-up after a refresh: %v", err)
	}
	if code := sensitive(stepUp); code != http.StatusOK {
		t.Fatalf("the ten-minute route after the step-up: %d, want 200", code)
	}
}

// A renewed token that Refresh refuses ends nothing, as a re-authentication
// token that Reauthenticate refuses: the session lives on under its token,
// and DenyJSON says so (401 with X-Session-Reauthentication, the remedy a
// new authentication), never X-Session-End-Reason, which warning.js takes
// as a sign-out of every tab. Before, the refusal was the bare
// ErrInvalidToken sentinel, answered as an ended session of reason
// "invalid", and without the Guard's realm or, for a bearer client, its
// invalid_token.
func TestRefusedRefreshTokenEndsNothing(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g := providerGuard(t, db)
	sid, now := randomUUID(t), time.Now()
	token := func(issuedAt time.Time) string { return providerToken(t, db.user, sid, issuedAt, now) }
	signedIn := token(now.Add(-time.Minute))
	if _, err := g.Record(nil, nil, signedIn, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	var err error
	refreshWith := func(renewed string) http.Handler {
		return g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err = g.Refresh(w, r, renewed); err != nil {
				middleware.DenyJSON(w, r, err)
			}
		}))
	}
	for _, tt := range []struct {
		name, renewed string
		creds         func(*http.Request)
		challenge     string
	}{
		{"cookie, the session's own token", signedIn, withCookie(signedIn), `Bearer realm="sessionguard"`},
		{"bearer, a token issued before the session's", token(now.Add(-time.Hour)), withBearer(signedIn),
			`Bearer realm="sessionguard", error="insufficient_user_authentication", error_description="A new authentication is required"`},
		{"bearer, an opaque token", randomToken(t), withBearer(signedIn),
			`Bearer realm="sessionguard", error="insufficient_user_authentication", error_description="A new authentication is required"`},
	} {
		rec := do(refreshWith(tt.renewed), http.MethodPost, "/refresh", tt.creds)
		if !errors.Is(err, middleware.ErrReauthenticationRequired) || errors.Is(err, middleware.ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrReauthenticationRequired only", tt.name, err)
		}
		h := rec.Header()
		if rec.Code != http.StatusUnauthorized || h.Get(middleware.HeaderEndReason) != "" ||
			h.Get(middleware.HeaderReauthentication) != "reauthentication_required" || h.Get("WWW-Authenticate") != tt.challenge {
			t.Errorf("%s: %d %v, want 401 with %s only and WWW-Authenticate %s", tt.name, rec.Code, h, middleware.HeaderReauthentication, tt.challenge)
		}
		if code := serve(g, requestWithCookie(signedIn)); code != http.StatusOK {
			t.Fatalf("%s: the session after the refused token: %d, want 200 (it lives on)", tt.name, code)
		}
	}
}

// A session whose store reports no authentication time (a Store of one's
// own over rows that never recorded one) has none for a refresh to keep:
// Refresh refuses it with ErrReauthenticationRequired (a new authentication
// records one), not with an error DenyJSON answers as an outage (a 503).
func TestRefreshWithoutAnAuthenticationTime(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	verifyOnly := hmacJWT()
	verifyOnly.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	verifyOnly.SessionIDClaim = "sid"
	g, err := middleware.New(middleware.Config{Store: noAuthTimeStore{db.store}, AppType: sessionguard.ControlPanel,
		Logger: discard, Tokens: middleware.JWTs, JWT: verifyOnly})
	if err != nil {
		t.Fatal(err)
	}
	sid, now := randomUUID(t), time.Now()
	token := func(issuedAt time.Time) string { return providerToken(t, db.user, sid, issuedAt, now) }
	signedIn := token(now.Add(-time.Minute))
	if _, err := g.Record(nil, nil, signedIn, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	_, err = g.Refresh(rec, requestWithCookie(signedIn), token(now))
	if !errors.Is(err, middleware.ErrReauthenticationRequired) {
		t.Fatalf("Refresh of a session without an authentication time: %v, want ErrReauthenticationRequired", err)
	}
	middleware.DenyJSON(rec, requestWithCookie(signedIn), err)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get(middleware.HeaderEndReason) != "" {
		t.Fatalf("DenyJSON: %d, %s %q; want 401 and no end reason", rec.Code, middleware.HeaderEndReason, rec.Header().Get(middleware.HeaderEndReason))
	}
	if code := serve(g, requestWithCookie(signedIn)); code != http.StatusOK {
		t.Fatalf("the session after: %d, want 200", code)
	}
}

// noAuthTimeStore is a Store whose checks report no authentication time.
type noAuthTimeStore struct{ *pgstore.Store }

func (s noAuthTimeStore) Validate(ctx context.Context, hash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	st, err := s.Store.Validate(ctx, hash, scope)
	st.AuthTime = time.Time{}
	return st, err
}

func (s noAuthTimeStore) Peek(ctx context.Context, hash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	st, err := s.Store.Peek(ctx, hash, scope)
	st.AuthTime = time.Time{}
	return st, err
}

// providerToken is an identity provider's HS256 token (key k2) for user's
// session sid, issued at issuedAt, for the user who signed in at the
// provider an hour before now; it expires an hour after now.
func providerToken(t *testing.T, user int64, sid string, issuedAt, now time.Time) string {
	t.Helper()
	c := claims(sid, issuedAt)
	c["sub"] = strconv.FormatInt(user, 10)
	c["jti"] = randomToken(t)[:22]
	c["exp"] = now.Add(time.Hour).Unix()
	c["auth_time"] = now.Add(-time.Hour).Unix()
	return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
}
