package middleware_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

func panelGuard(t *testing.T, st sessionguard.Store, mod func(*middleware.Config)) *middleware.Guard {
	t.Helper()
	return newGuard(t, st, func(c *middleware.Config) {
		c.AppType = sessionguard.ControlPanel
		if mod != nil {
			mod(c)
		}
	})
}

func TestSignInIssuesFreshTokensAndCookie(t *testing.T) {
	st := newFakeStore()
	g := panelGuard(t, st, nil)
	seen := map[string]bool{}
	for i := range 5 {
		rec := httptest.NewRecorder()
		tok, s, err := g.SignIn(rec, request(nil), middleware.SignIn{UserID: 42})
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 || seen[tok] {
			t.Fatalf("token %d: length %d, seen before %v", i, len(tok), seen[tok])
		}
		seen[tok] = true
		want := "__Host-session=" + tok + "; Path=/; Max-Age=28800; HttpOnly; Secure; SameSite=Lax"
		if got := rec.Header().Values("Set-Cookie"); len(got) != 1 || got[0] != want {
			t.Errorf("Set-Cookie = %q, want %q", got, want)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q", got)
		}
		if s.UserID != 42 || s.AppType != sessionguard.ControlPanel || s.IdleRemaining != 4*time.Hour || s.AbsoluteRemaining != 8*time.Hour {
			t.Errorf("session = %v", s)
		}
		got, err := g.Authenticate(request(cookie(tok)))
		if err != nil || got.ID != s.ID {
			t.Errorf("Authenticate(new token) = %v, %v", got, err)
		}
	}
}

func TestSignInRecordsRequest(t *testing.T) {
	st := newFakeStore()
	g := panelGuard(t, st, func(c *middleware.Config) {
		c.IdleTimeout, c.AbsoluteTimeout = 30*time.Minute, 2*time.Hour
	})
	r := request(nil)
	r.RemoteAddr = "[2001:db8::1]:4431"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11)")
	tok, _, err := g.SignIn(nil, r, middleware.SignIn{UserID: 42, TenantID: 3})
	if err != nil {
		t.Fatal(err)
	}
	n := st.created[0]
	if n.TokenHash != sha256Hex(tok) || n.UserID != 42 || n.TenantID != 3 || n.AppType != sessionguard.ControlPanel {
		t.Errorf("created %+v", n)
	}
	if n.IP != "2001:db8::1" {
		t.Errorf("IP = %q, want the RemoteAddr host (X-Forwarded-For not trusted)", n.IP)
	}
	if n.IdleTimeout != 30*time.Minute || n.AbsoluteTimeout != 2*time.Hour {
		t.Errorf("timeouts %v / %v", n.IdleTimeout, n.AbsoluteTimeout)
	}
	// Hostile User-Agents are the store's to make storable (pgstore's
	// TestCreateStoresHostileClientTextSafely).
	if n.UserAgent != "Mozilla/5.0 (X11)" {
		t.Errorf("UserAgent = %q", n.UserAgent)
	}
	if _, err := uuidCheck(n.ID); err != nil {
		t.Error(err)
	}
}

func uuidCheck(s string) (string, error) {
	if len(s) != 36 || s[14] != '4' || !strings.ContainsRune("89ab", rune(s[19])) {
		return s, errors.New("session id " + s + " is not a v4 UUID")
	}
	return s, nil
}

// TestSignInFixation: the token a client sends is never the one signed in,
// and the cookie session it replaces is revoked.
func TestSignInFixation(t *testing.T) {
	st := newFakeStore()
	seedSession(st, tokA, sessionguard.ControlPanel, 0)
	g := panelGuard(t, st, nil)
	rec := httptest.NewRecorder()
	tok, _, err := g.SignIn(rec, request(cookie(tokA), "Bearer "+tokA), middleware.SignIn{UserID: 42})
	if err != nil {
		t.Fatal(err)
	}
	if tok == tokA || st.created[0].TokenHash == sha256Hex(tokA) {
		t.Fatal("SignIn reused the client's token")
	}
	if len(st.revokes) != 1 || st.revokes[0] != (fakeRevoke{sha256Hex(tokA), "logout"}) {
		t.Errorf("revokes = %v, want the replaced cookie's session with logout", st.revokes)
	}
	if _, err := g.Authenticate(request(cookie(tokA))); !errors.Is(err, middleware.ErrRevoked) {
		t.Errorf("old token: %v, want ErrRevoked", err)
	}

	// A bearer client (w == nil) gets no cookie, so nothing is replaced.
	st2 := newFakeStore()
	seedSession(st2, tokA, sessionguard.ControlPanel, 0)
	g2 := panelGuard(t, st2, nil)
	if _, _, err := g2.SignIn(nil, request(cookie(tokA)), middleware.SignIn{UserID: 42}); err != nil {
		t.Fatal(err)
	}
	if len(st2.revokes) != 0 {
		t.Errorf("bearer sign-in revoked %v", st2.revokes)
	}
}

func TestSignInRejectsBadInput(t *testing.T) {
	tenantGuard := func(t *testing.T) *middleware.Guard {
		return newGuard(t, newFakeStore(), func(c *middleware.Config) {
			c.AppType = sessionguard.TenantApp
			c.Tenant = func(*http.Request) (int64, error) { return 1, nil }
		})
	}
	anyGuard := func(t *testing.T) *middleware.Guard { return newGuard(t, newFakeStore(), nil) }
	panel := func(t *testing.T) *middleware.Guard { return panelGuard(t, newFakeStore(), nil) }
	tests := []struct {
		name  string
		guard func(*testing.T) *middleware.Guard
		p     middleware.SignIn
		want  string
	}{
		{"no user", panel, middleware.SignIn{}, "UserID"},
		{"negative user", panel, middleware.SignIn{UserID: -1}, "UserID"},
		{"no app type anywhere", anyGuard, middleware.SignIn{UserID: 1}, "AppType is required"},
		{"unknown app type", anyGuard, middleware.SignIn{UserID: 1, AppType: "x"}, "unknown AppType"},
		{"other app type than the guard", panel, middleware.SignIn{UserID: 1, AppType: sessionguard.TenantApp, TenantID: 1}, "on a Guard for"},
		{"tenant app without tenant", tenantGuard, middleware.SignIn{UserID: 1}, "needs a TenantID"},
		{"negative tenant", panel, middleware.SignIn{UserID: 1, TenantID: -2}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tok, _, err := tt.guard(t).SignIn(rec, request(nil), tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || tok != "" {
				t.Errorf("got %q, %v; want an error with %q", tok, err, tt.want)
			}
			if rec.Header().Get("Set-Cookie") != "" {
				t.Error("cookie set on failure")
			}
		})
	}
}

func TestSignInStoreFailure(t *testing.T) {
	st := newFakeStore()
	st.setErr(errors.New("disk full"))
	g := panelGuard(t, st, nil)
	rec := httptest.NewRecorder()
	tok, _, err := g.SignIn(rec, request(nil), middleware.SignIn{UserID: 42})
	if !errors.Is(err, middleware.ErrUnavailable) || tok != "" || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("got %q, %v, cookie %q", tok, err, rec.Header().Get("Set-Cookie"))
	}
}

func TestSignInStoreMismatch(t *testing.T) {
	st := newFakeStore()
	g := panelGuard(t, &mismatchStore{st}, nil)
	if _, _, err := g.SignIn(nil, nil, middleware.SignIn{UserID: 42}); err == nil {
		t.Fatal("SignIn accepted a row for another user")
	}
	if len(st.revokes) != 1 {
		t.Errorf("the stray row was not revoked: %v", st.revokes)
	}
}

// mismatchStore creates rows for the wrong user.
type mismatchStore struct{ *fakeStore }

func (m *mismatchStore) Create(ctx context.Context, n sessionguard.NewSession) (sessionguard.SessionInfo, error) {
	n.UserID++
	return m.fakeStore.Create(ctx, n)
}

const clearCookie = "__Host-session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"

// TestSignInBehindTheMiddleware: a signed-in user signing in again (another
// account) on a route behind the Middleware gets a response without the
// time-left headers the Middleware set for the session the sign-in replaces:
// a script reading them would count down a session that is gone.
func TestSignInBehindTheMiddleware(t *testing.T) {
	st := newFakeStore()
	g := panelGuard(t, st, nil)
	old, _, err := g.SignIn(nil, request(nil), middleware.SignIn{UserID: 42})
	if err != nil {
		t.Fatal(err)
	}
	h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := g.SignIn(w, r, middleware.SignIn{UserID: 43}); err != nil {
			t.Error(err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request(cookie(old)))
	if got := rec.Header().Values("Set-Cookie"); len(got) != 1 {
		t.Fatalf("Set-Cookie = %q, want the new session's cookie", got)
	}
	for _, name := range []string{middleware.HeaderIdleRemaining, middleware.HeaderAbsoluteRemaining, middleware.HeaderWarningThreshold} {
		if got := rec.Header().Values(name); got != nil {
			t.Errorf("%s = %q on the sign-in response, want none", name, got)
		}
	}
}

func TestSignOut(t *testing.T) {
	t.Run("behind the middleware", func(t *testing.T) {
		st := newFakeStore()
		g := panelGuard(t, st, nil)
		tok, _, err := g.SignIn(nil, request(nil), middleware.SignIn{UserID: 42})
		if err != nil {
			t.Fatal(err)
		}
		h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := g.SignOut(w, r); err != nil {
				t.Error(err)
			}
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, request(cookie(tok)))
		if got := rec.Header().Values("Set-Cookie"); len(got) != 1 || got[0] != clearCookie {
			t.Errorf("Set-Cookie = %q, want %q", got, clearCookie)
		}
		// The Middleware's time-left headers described the session this
		// response ends: a script reading them would count down a session
		// that is gone.
		for _, name := range []string{middleware.HeaderIdleRemaining, middleware.HeaderAbsoluteRemaining, middleware.HeaderWarningThreshold} {
			if got := rec.Header().Values(name); got != nil {
				t.Errorf("%s = %q on the sign-out response, want none", name, got)
			}
		}
		if len(st.revokes) != 1 || st.revokes[0] != (fakeRevoke{sha256Hex(tok), "logout"}) {
			t.Errorf("revokes = %v", st.revokes)
		}
		_, err = g.Authenticate(request(cookie(tok)))
		var re *middleware.RefusalError
		if !errors.As(err, &re) || re.Reason != "revoked" || re.EndReason != "logout" {
			t.Errorf("after sign-out: %v", err)
		}
	})
	t.Run("bearer token without the middleware", func(t *testing.T) {
		st := newFakeStore()
		seedSession(st, tokA, sessionguard.ControlPanel, 0)
		g := panelGuard(t, st, nil)
		if err := g.SignOut(httptest.NewRecorder(), request(nil, "Bearer "+tokA)); err != nil {
			t.Fatal(err)
		}
		if len(st.revokes) != 1 || st.revokes[0] != (fakeRevoke{sha256Hex(tokA), "logout"}) {
			t.Errorf("revokes = %v", st.revokes)
		}
	})
	for _, tt := range []struct {
		name string
		r    *http.Request
	}{
		{"no session", request(nil)},
		{"malformed token", request(cookie("' OR 1=1 --"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			g := panelGuard(t, st, nil)
			rec := httptest.NewRecorder()
			if err := g.SignOut(rec, tt.r); err != nil {
				t.Fatal(err)
			}
			if st.totalCalls() != 0 {
				t.Errorf("store calls = %d, want 0", st.totalCalls())
			}
			if got := rec.Header().Get("Set-Cookie"); got != clearCookie {
				t.Errorf("Set-Cookie = %q", got)
			}
		})
	}
	// Credentials the Guard refuses as ambiguous are each ended: a sign-out
	// that ended none would leave both alive behind a cleared cookie.
	many := make([]string, 6)
	for i := range many {
		many[i] = "__Host-session=" + randomToken(t)
	}
	for _, tt := range []struct {
		name string
		r    *http.Request
		want []string // tokens revoked, in order
	}{
		{"two cookies", request([]string{"__Host-session=" + tokA + "; __Host-session=" + tokB}), []string{tokA, tokB}},
		{"a cookie and another bearer token", request(cookie(tokA), "Bearer "+tokB), []string{tokA, tokB}},
		{"a cookie and a malformed bearer token", request(cookie(tokA), "Bearer ' OR 1=1 --"), []string{tokA}},
		{"the same token twice", request([]string{"__Host-session=" + tokA + "; __Host-session=" + tokA}), []string{tokA}},
		{"six cookies: at most four", request([]string{strings.Join(many, "; ")}), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			seedSession(st, tokB, sessionguard.ControlPanel, 0)
			g := panelGuard(t, st, nil)
			rec := httptest.NewRecorder()
			if err := g.SignOut(rec, tt.r); err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(st.revokes) != 4 {
					t.Errorf("%d revokes, want 4", len(st.revokes))
				}
			} else {
				var want []fakeRevoke
				for _, tok := range tt.want {
					want = append(want, fakeRevoke{sha256Hex(tok), "logout"})
				}
				if !slices.Equal(st.revokes, want) {
					t.Errorf("revokes = %v, want %v", st.revokes, want)
				}
			}
			if got := rec.Header().Get("Set-Cookie"); got != clearCookie {
				t.Errorf("Set-Cookie = %q", got)
			}
		})
	}
	t.Run("store failure still clears the cookie", func(t *testing.T) {
		st := newFakeStore()
		st.setErr(errors.New("timeout"))
		g := panelGuard(t, st, nil)
		rec := httptest.NewRecorder()
		if err := g.SignOut(rec, request(cookie(tokA))); !errors.Is(err, middleware.ErrUnavailable) {
			t.Errorf("got %v, want ErrUnavailable", err)
		}
		if got := rec.Header().Get("Set-Cookie"); got != clearCookie {
			t.Errorf("Set-Cookie = %q", got)
		}
	})
}

// TestSignOutForgedJWTCostsNoStoreCall: signing out is open to anyone (it
// works whatever state the session is in), so a JWT that does not verify is
// ignored there as everywhere else, without a store call: forged tokens
// never cost a query. A genuine one is signed out, expired or not. So is the
// cookie a sign-in replaces.
func TestSignOutForgedJWTCostsNoStoreCall(t *testing.T) {
	st := newFakeStore()
	g := panelGuard(t, st, func(c *middleware.Config) { c.JWT = hmacJWT() })
	good, s, err := g.SignIn(nil, request(nil), middleware.SignIn{UserID: 42})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k2","typ":"JWT"}`))
	for name, token := range map[string]string{
		"forged signature":        parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"alg none":                header + "." + parts[1] + ".",
		"unknown key":             sign(t, jwt.SigningMethodHS256, "k9", []byte("not the key, but 32 bytes or more"), claims(s.ID, time.Now())),
		"known kid, other secret": sign(t, jwt.SigningMethodHS256, "k2", []byte("not the key, but 32 bytes or more"), claims(s.ID, time.Now())),
	} {
		before := st.totalCalls()
		rec := httptest.NewRecorder()
		if err := g.SignOut(rec, request(cookie(token))); err != nil {
			t.Errorf("%s: SignOut = %v", name, err)
		}
		if n := st.totalCalls() - before; n != 0 {
			t.Errorf("%s: %d store calls, want 0", name, n)
		}
		if got := rec.Header().Get("Set-Cookie"); got != clearCookie {
			t.Errorf("%s: Set-Cookie = %q", name, got)
		}
		before = st.totalCalls()
		if _, _, err := g.SignIn(httptest.NewRecorder(), request(cookie(token)), middleware.SignIn{UserID: 42}); err != nil {
			t.Fatal(err)
		}
		if n := st.totalCalls() - before; n != 1 {
			t.Errorf("%s: sign-in replacing it made %d store calls, want 1 (Create)", name, n)
		}
	}
	// Genuine, expired or not: its session is ended.
	expired := sign(t, jwt.SigningMethodHS256, "k2", hmacNew, claims(s.ID, time.Now().Add(-9*time.Hour)))
	for _, token := range []string{good, expired} {
		if err := g.SignOut(httptest.NewRecorder(), request(cookie(token))); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.revokes) != 2 || st.revokes[0] != (fakeRevoke{sha256Hex(good), "logout"}) ||
		st.revokes[1] != (fakeRevoke{sha256Hex(expired), "logout"}) {
		t.Errorf("revokes = %v, want the genuine tokens'", st.revokes)
	}
}

// TestSignOutBoundsSignatureChecks: signing out is open to anyone, and a
// request may carry as many cookies of the name as its headers hold. Each
// JWT among them costs a signature check (RSA, ECDSA: far more than a hash),
// so SignOut looks at no more of them than it may end: a request of a
// thousand forged cookies costs about what one of eight does, not a hundred times
// more.
func TestSignOutBoundsSignatureChecks(t *testing.T) {
	st := newFakeStore()
	g := panelGuard(t, st, func(c *middleware.Config) { c.JWT = hmacJWT() })
	forged := sign(t, jwt.SigningMethodHS256, "k2", []byte("not the key, but 32 bytes or more"), claims("0f6c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7f", time.Now()))
	allocs := func(n int) float64 {
		r := request([]string{strings.Repeat("__Host-session="+forged+"; ", n)}, "Bearer "+forged)
		return testing.AllocsPerRun(20, func() {
			if err := g.SignOut(nil, r); err != nil {
				t.Fatal(err)
			}
		})
	}
	few, many := allocs(8), allocs(1000)
	if many > 2*few {
		t.Errorf("SignOut of 1000 forged cookies: %.0f allocations, of 8: %.0f; want about the same (the signatures checked are bounded)", many, few)
	}
	if n := st.totalCalls(); n != 0 {
		t.Errorf("%d store calls, want none", n)
	}
}

func TestInsecureCookie(t *testing.T) {
	g := panelGuard(t, newFakeStore(), func(c *middleware.Config) {
		c.InsecureCookie, c.CookieName = true, "dev_session"
		c.IdleTimeout, c.AbsoluteTimeout = 30*time.Minute, time.Hour
	})
	rec := httptest.NewRecorder()
	tok, _, err := g.SignIn(rec, request(nil), middleware.SignIn{UserID: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := "dev_session=" + tok + "; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
	if got := rec.Header().Get("Set-Cookie"); got != want {
		t.Errorf("Set-Cookie = %q, want %q", got, want)
	}
}
