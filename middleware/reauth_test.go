package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// reauthRoutes are the routes of a page that needs a recent password:
// POST /reauth re-authenticates (after the application checked the
// password) and, for the test only, answers the new token; GET /sensitive
// requires an authentication at most ten minutes old and answers the
// session it saw.
func reauthRoutes(g *middleware.Guard) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /reauth", g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _, err := g.Reauthenticate(w, r, middleware.Reauthentication{ACR: "aal2", AMR: []string{"pwd", "otp"}})
		if err != nil {
			middleware.DenyJSON(w, r, err)
			return
		}
		fmt.Fprint(w, token)
	})))
	mux.Handle("GET /sensitive", g.Require(middleware.Requirement{MaxAge: 10 * time.Minute}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		_ = json.NewEncoder(w).Encode(sessionSeen{ID: s.ID, UserID: s.UserID, AuthAge: s.AuthAge, ACR: s.ACR, AMR: s.AMR})
	})))
	return mux
}

type sessionSeen struct {
	ID      string
	UserID  int64
	AuthAge time.Duration
	ACR     string
	AMR     []string
}

// ageAuth moves the last authentication of every session of user back by d.
func ageAuth(t *testing.T, db realDB, user int64, d time.Duration) {
	t.Helper()
	if _, err := db.pool.Exec(context.Background(),
		"UPDATE sessions SET auth_time = auth_time - make_interval(secs => $2) WHERE user_id = $1", user, d.Seconds()); err != nil {
		t.Fatal(err)
	}
}

// A re-authentication rotates the token of cookie and bearer clients, opaque
// and JWT: the old token is refused at once, the new one opens the route
// that asked for it, and the session keeps its id, user and creation time.
func TestReauthenticateRotatesTheToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		jwt    bool
		bearer bool
	}{
		{"opaque cookie", false, false},
		{"opaque bearer", false, true},
		{"jwt cookie", true, false},
		{"jwt bearer", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newRealDB(t, pgstore.Config{})
			cfg := middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard}
			if tt.jwt {
				cfg.Tokens, cfg.JWT = middleware.JWTs, hmacJWT()
			}
			g, err := middleware.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			h := reauthRoutes(g)
			old, signedIn, err := g.SignIn(nil, nil, middleware.SignIn{UserID: db.user, ACR: "aal1", AMR: []string{"pwd"}})
			if err != nil {
				t.Fatal(err)
			}
			if signedIn.ACR != "aal1" || signedIn.AuthAge != 0 || signedIn.AuthTime.IsZero() {
				t.Fatalf("SignIn's session: %+v", signedIn)
			}
			creds := withCookie
			if tt.bearer {
				creds = withBearer
			}
			ageAuth(t, db, db.user, time.Hour)
			if rec := do(h, "GET", "/sensitive", creds(old)); rec.Code != http.StatusUnauthorized {
				t.Fatalf("an hour after sign-in: %d, want 401", rec.Code)
			}

			rec := do(h, "POST", "/reauth", creds(old))
			if rec.Code != http.StatusOK {
				t.Fatalf("reauth: %d %s", rec.Code, rec.Body)
			}
			fresh := rec.Body.String()
			cookies := rec.Result().Cookies()
			switch {
			case tt.bearer && len(cookies) != 0:
				t.Fatalf("a bearer client got a cookie: %v", cookies)
			case !tt.bearer && (len(cookies) != 1 || cookies[0].Value != fresh || !cookies[0].HttpOnly || !cookies[0].Secure || cookies[0].MaxAge <= 0):
				t.Fatalf("cookie client got %v", cookies)
			}
			if fresh == old || (tt.jwt != (strings.Count(fresh, ".") == 2)) {
				t.Fatalf("new token of the wrong kind or not new")
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q", got)
			}

			rec = do(h, "GET", "/sensitive", creds(old))
			if rec.Code != http.StatusUnauthorized || refusal(t, rec).Reason != middleware.ErrInvalidToken.Reason {
				t.Fatalf("old token after the rotation: %d %s", rec.Code, rec.Body)
			}
			rec = do(h, "GET", "/sensitive", creds(fresh))
			if rec.Code != http.StatusOK {
				t.Fatalf("new token: %d %s", rec.Code, rec.Body)
			}
			var seen sessionSeen
			if err := json.Unmarshal(rec.Body.Bytes(), &seen); err != nil {
				t.Fatal(err)
			}
			if seen.ID != signedIn.ID || seen.UserID != db.user || seen.AuthAge > 5*time.Second || seen.ACR != "aal2" || !slices.Equal(seen.AMR, []string{"pwd", "otp"}) {
				t.Fatalf("session after re-authentication: %+v (signed in as %s)", seen, signedIn.ID)
			}
			var rows int
			var created time.Time
			if err := db.pool.QueryRow(context.Background(), "SELECT count(*), min(created_at) FROM sessions WHERE user_id = $1", db.user).Scan(&rows, &created); err != nil {
				t.Fatal(err)
			}
			if rows != 1 || !created.Equal(signedIn.CreatedAt) {
				t.Fatalf("%d rows, created %v; want the one row of the sign-in, created %v", rows, created, signedIn.CreatedAt)
			}
		})
	}
}

// A request's context never changes: after Reauthenticate it still names
// the session as it was, with the token the rotation retired. The returned
// Session is the session now; put in the request's context (WithSession), it
// is what later calls of the same request read: a SignOut after it ends the
// session, where the context as it was would name the retired token.
func TestReauthenticateLeavesTheContextAsItWas(t *testing.T) {
	st := newFakeStore()
	g := panelGuard(t, st, nil)
	tok, _, err := g.SignIn(nil, request(nil), middleware.SignIn{UserID: 42})
	if err != nil {
		t.Fatal(err)
	}
	st.advance(time.Minute)
	var newToken string
	h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before, _ := middleware.SessionFrom(r.Context())
		var s middleware.Session
		newToken, s, err = g.Reauthenticate(w, r, middleware.Reauthentication{})
		if err != nil {
			t.Fatal(err)
		}
		if ctx, _ := middleware.SessionFrom(r.Context()); !ctx.AuthTime.Equal(before.AuthTime) || !s.AuthTime.After(before.AuthTime) {
			t.Errorf("auth time: context %v, returned %v, before %v", ctx.AuthTime, s.AuthTime, before.AuthTime)
		}
		if err := g.SignOut(w, r.WithContext(middleware.WithSession(r.Context(), s))); err != nil {
			t.Fatal(err)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), request(cookie(tok)))
	if _, err := g.Authenticate(request(cookie(newToken))); !errors.Is(err, middleware.ErrRevoked) {
		t.Errorf("the new token after the sign-out: %v, want ErrRevoked", err)
	}
}

// With scs, re-authentication renews scs's token; the scs data stays with
// the session, the old cookie is refused, and the route opens.
func TestReauthenticateSCS(t *testing.T) {
	t.Parallel()
	a := newSCSApp(t, nil)
	routes := reauthRoutes(a.guard)
	app := http.NewServeMux()
	app.Handle("POST /reauth", routes)
	app.Handle("GET /sensitive", routes)
	app.Handle("/", a.server.Config.Handler)
	a.server.Config.Handler = a.guard.LoadAndSave(app)

	user := pgtest.CreateUser(t, a.pool, "scs-reauth@example.com", 0)
	b := a.browser(t)
	id := b.signIn(user)
	before := b.cookie
	if _, err := a.pool.Exec(context.Background(), "UPDATE sessions SET auth_time = auth_time - interval '1 hour' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	r := b.expect("GET", "/sensitive", http.StatusUnauthorized)
	if r.refusal.Reason != middleware.ErrReauthenticationRequired.Reason {
		t.Fatalf("refusal %+v", r.refusal)
	}
	b.expect("POST", "/reauth", http.StatusOK)
	if b.cookie == before || b.cookie == "" {
		t.Fatal("scs's cookie was not renewed")
	}
	if a.dataRows(t, before) != 0 || a.dataRows(t, b.cookie) != 1 {
		t.Fatalf("scs data rows: old %d, new %d", a.dataRows(t, before), a.dataRows(t, b.cookie))
	}
	r = b.expect("GET", "/account", http.StatusOK)
	if !strings.Contains(r.body, "flash=welcome") {
		t.Fatalf("scs data lost: %q", r.body)
	}
	r = b.expect("GET", "/sensitive", http.StatusOK)
	var seen sessionSeen
	if err := json.Unmarshal([]byte(r.body), &seen); err != nil || seen.ID != id || seen.ACR != "aal2" {
		t.Fatalf("session after re-authentication: %s (%v), want id %s", r.body, err, id)
	}
	old := a.browser(t)
	old.cookie = before
	if r := old.expect("GET", "/account", http.StatusUnauthorized); r.endReason == "" {
		t.Fatal("old scs cookie refused without a reason")
	}
}

// Re-authentication needs a live session of the Guard, a credential the
// Guard can mint again, and a store that answers; a failure says which and
// never carries a token or hash.
func TestReauthenticateRefusals(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	leaky, err := middleware.New(middleware.Config{Store: leakyRotation{db.store}, AppType: sessionguard.ControlPanel, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	verifyOnly := hmacJWT()
	verifyOnly.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	idp, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: logger,
		Tokens: middleware.JWTs, JWT: verifyOnly})
	if err != nil {
		t.Fatal(err)
	}
	idpClaims := claims("6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e", time.Now())
	idpClaims["sub"] = strconv.FormatInt(db.user, 10)
	idpToken := sign(t, jwt.SigningMethodHS256, "k2", hmacNew, idpClaims)
	if _, err := idp.Record(nil, nil, idpToken, middleware.SignIn{UserID: db.user}); err != nil {
		t.Fatal(err)
	}
	live := signInUser(t, g, db.user)
	ended := signInUser(t, g, db.user)
	if _, err := db.store.Revoke(context.Background(), sha256Hex(ended), sessionguard.ReasonAdminRevoke); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		g     *middleware.Guard
		token string
		a     middleware.Reauthentication
		want  error // a sentinel; nil: any error
	}{
		{"no token", g, "", middleware.Reauthentication{}, middleware.ErrMissingToken},
		{"malformed token", g, "not-a-token", middleware.Reauthentication{}, middleware.ErrInvalidToken},
		{"ended session", g, ended, middleware.Reauthentication{}, middleware.ErrRevoked},
		{"acr that cannot be recorded", g, live, middleware.Reauthentication{ACR: `aal2" x`}, sessionguard.ErrInvalidAuthentication},
		{"an identity provider's JWT", idp, idpToken, middleware.Reauthentication{}, nil},
		{"store failure", leaky, live, middleware.Reauthentication{}, middleware.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/reauth", nil)
			if tt.token != "" {
				withBearer(tt.token)(r)
			}
			token, s, err := tt.g.Reauthenticate(httptest.NewRecorder(), r, tt.a)
			if err == nil || token != "" || s.ID != "" || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Reauthenticate = %q, %v, %v; want %v", token, s, err, tt.want)
			}
			for _, secret := range []string{live, sha256Hex(live), idpToken} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q contains a token or hash", err)
				}
			}
		})
	}
	if rec := do(g.Middleware(okHandler), "GET", "/", withBearer(live)); rec.Code != http.StatusOK {
		t.Fatalf("the session whose rotation failed: %d", rec.Code)
	}
	for _, secret := range []string{live, sha256Hex(live), ended, idpToken} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("a log line contains a token or hash")
		}
	}
}

// leakyRotation fails every rotation with an error that quotes both hashes.
type leakyRotation struct{ *pgstore.Store }

func (leakyRotation) Reauthenticate(_ context.Context, r sessionguard.Reauthentication) (sessionguard.SessionInfo, bool, error) {
	return sessionguard.SessionInfo{}, false, fmt.Errorf("rotate %s to %s: connection reset", r.OldTokenHash, r.NewTokenHash)
}

// A Guard that only verifies an identity provider's JWTs records the
// provider's new token for the re-authentication, once it is checked to be
// the session's: same user, same session id (or none).
func TestReauthenticateWithTheProvidersNewToken(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	verifyOnly := hmacJWT()
	verifyOnly.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	verifyOnly.SessionIDClaim = "sid" // the provider names the session
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard,
		Tokens: middleware.JWTs, JWT: verifyOnly})
	if err != nil {
		t.Fatal(err)
	}
	const sid = "0f6c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7f"
	providerToken := func(edit func(jwt.MapClaims)) string {
		c := claims(sid, time.Now())
		c["sub"] = strconv.FormatInt(db.user, 10)
		c["jti"] = randomToken(t)[:22]
		c["exp"] = time.Now().Add(time.Hour).Unix()
		c["auth_time"] = time.Now().Unix()
		if edit != nil {
			edit(c)
		}
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}
	first := providerToken(func(c jwt.MapClaims) { c["auth_time"] = time.Now().Add(-time.Minute).Unix() })
	if _, err := g.Record(nil, nil, first, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	reauth := func(current, next string) (*httptest.ResponseRecorder, middleware.Session, error) {
		r := httptest.NewRequest("POST", "/reauth", nil)
		withCookie(current)(r)
		rec := httptest.NewRecorder()
		_, s, err := g.Reauthenticate(rec, r, middleware.Reauthentication{Token: next, ACR: "aal2"})
		return rec, s, err
	}
	for name, bad := range map[string]string{
		"another user's token":       providerToken(func(c jwt.MapClaims) { c["sub"] = "999999" }),
		"another session's token":    providerToken(func(c jwt.MapClaims) { c["sid"] = "11111111-2222-4333-8444-555555555555" }),
		"a forged token":             sign(t, jwt.SigningMethodHS256, "k2", hmacOld, claims(sid, time.Now())),
		"a token of another kind":    randomToken(t),
		"the token it already holds": first,
	} {
		if _, _, err := reauth(first, bad); !errors.Is(err, middleware.ErrReauthenticationRequired) {
			t.Errorf("%s: %v, want ErrReauthenticationRequired", name, err)
		}
	}

	next := providerToken(nil)
	rec, s, err := reauth(first, next)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != sid || s.ACR != "aal2" || s.AuthAge > 5*time.Second {
		t.Fatalf("session %+v", s)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Value != next || cookies[0].MaxAge <= 0 || cookies[0].MaxAge > 3600 {
		t.Fatalf("cookie %v: want the provider's token, no longer than its exp", cookies)
	}
	if code := serve(g, requestWithCookie(first)); code != http.StatusUnauthorized {
		t.Fatalf("the provider's old token: %d", code)
	}
	if code := serve(g, requestWithCookie(next)); code != http.StatusOK {
		t.Fatalf("the provider's new token: %d", code)
	}
}

func requestWithCookie(token string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	withCookie(token)(r)
	return r
}

// leavingReauth is a store whose Reauthenticate sees the client go away
// during the call (a tab closed): the request's context ends (leave) and
// the call fails as a cancelled query does.
type leavingReauth struct {
	sessionguard.Store
	leave func()
}

func (s *leavingReauth) Reauthenticate(context.Context, sessionguard.Reauthentication) (sessionguard.SessionInfo, bool, error) {
	s.leave()
	return sessionguard.SessionInfo{}, false, context.Canceled
}

// TestReauthenticateSCSFailureEndsTheSessionAfterTheClientLeft: scs has
// let go of the old token by the time the store is asked, so a failed
// re-authentication ends that token's session rather than leave it live and
// unreachable, also when the failure is the client going away (whose
// context the revocation must not share).
func TestReauthenticateSCSFailureEndsTheSessionAfterTheClientLeft(t *testing.T) {
	t.Parallel()
	a := newSCSApp(t, nil)
	user := pgtest.CreateUser(t, a.pool, "scs-reauth-leave@example.com", 0)
	id := a.browser(t).signIn(user)
	other := a.browser(t)
	other.signIn(user) // the session to re-authenticate
	cookie := other.cookie
	store := &leavingReauth{Store: a.store}
	g, err := middleware.New(middleware.Config{SCS: a.sm, Store: store, AppType: sessionguard.ControlPanel,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	reauth := g.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		store.leave = cancel
		if _, _, err := g.Reauthenticate(w, r.WithContext(ctx), middleware.Reauthentication{ACR: "aal2"}); err == nil {
			t.Error("Reauthenticate succeeded with a failed store call")
		}
	}))
	req := httptest.NewRequest(http.MethodPost, "/reauth", nil)
	req.Header.Set("Cookie", scsCookie+"="+cookie)
	reauth.ServeHTTP(httptest.NewRecorder(), req)

	var active bool
	var reason *string
	if err := a.pool.QueryRow(t.Context(), "SELECT is_active, revoke_reason FROM sessions WHERE session_token_hash = $1",
		hashHex(cookie)).Scan(&active, &reason); err != nil {
		t.Fatal(err)
	}
	if active || reason == nil || *reason != sessionguard.ReasonLogout {
		t.Errorf("the session whose token scs dropped: active %v, reason %v; want ended with %q", active, reason, sessionguard.ReasonLogout)
	}
	if err := a.pool.QueryRow(t.Context(), "SELECT is_active FROM sessions WHERE id = $1", id).Scan(&active); err != nil || !active {
		t.Errorf("the user's other session: active %v, %v; want untouched", active, err)
	}
}

// A provider's token that Reauthenticate refuses (here a refresh-token
// grant's, without a new auth_time) ends nothing: the session lives on and
// still needs a re-authentication. DenyJSON says so (401 with
// X-Session-Reauthentication, reason reauthentication_required) and never
// tells the client the session ended (X-Session-End-Reason, which
// warning.js takes as a sign-out). Before, the refusal was ErrInvalidToken
// itself, answered as an ended session of reason "invalid". It matches
// ErrReauthenticationRequired only: ErrInvalidToken, which it matched
// too through its cause, is Reauthenticate's refusal of a request whose
// own token has no session, and a caller could not tell the two apart.
func TestRefusedReauthenticationTokenEndsNothing(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g := providerGuard(t, db)
	sid, now := randomUUID(t), time.Now()
	token := func(issuedAt time.Time) string { return providerToken(t, db.user, sid, issuedAt, now) }
	signedIn := token(now.Add(-time.Hour))
	if _, err := g.Record(nil, nil, signedIn, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	refreshed := token(now) // the same auth_time: no new authentication
	var err error
	reauth := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err = g.Reauthenticate(w, r, middleware.Reauthentication{Token: refreshed}); err != nil {
			middleware.DenyJSON(w, r, err)
		}
	}))
	for _, tt := range []struct {
		name      string
		creds     func(*http.Request)
		challenge string
	}{
		{"cookie", withCookie(signedIn), `Bearer realm="sessionguard"`},
		{"bearer", withBearer(signedIn), `Bearer realm="sessionguard", error="insufficient_user_authentication", error_description="A new authentication is required"`},
	} {
		rec := do(reauth, http.MethodPost, "/reauth", tt.creds)
		if !errors.Is(err, middleware.ErrReauthenticationRequired) || errors.Is(err, middleware.ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrReauthenticationRequired only", tt.name, err)
		}
		h := rec.Header()
		if rec.Code != http.StatusUnauthorized || h.Get(middleware.HeaderEndReason) != "" || h.Get(middleware.HeaderRevokeReason) != "" ||
			h.Get(middleware.HeaderReauthentication) != "reauthentication_required" || h.Get("WWW-Authenticate") != tt.challenge {
			t.Errorf("%s: %d %v, want 401 with %s only and WWW-Authenticate %s", tt.name, rec.Code, h, middleware.HeaderReauthentication, tt.challenge)
		}
		if b := rec.Body.String(); !strings.Contains(b, `"reason":"reauthentication_required"`) || strings.Contains(b, "session_invalid") {
			t.Errorf("%s: body %s", tt.name, b)
		}
		if code := serve(g, requestWithCookie(signedIn)); code != http.StatusOK {
			t.Fatalf("%s: the session after the refused token: %d, want 200 (it lives on)", tt.name, code)
		}
	}
	// ErrInvalidToken stays what it means everywhere: the request's own
	// token has no live session. A caller that signs the user out on it
	// must not end a session whose re-authentication token was refused.
	unknown := token(now) // verifies, but no session was recorded for it
	if _, _, err := g.Reauthenticate(nil, requestWithCookie(unknown), middleware.Reauthentication{Token: refreshed}); !errors.Is(err, middleware.ErrInvalidToken) ||
		errors.Is(err, middleware.ErrReauthenticationRequired) {
		t.Errorf("a request of no session: %v, want ErrInvalidToken only", err)
	}
}
