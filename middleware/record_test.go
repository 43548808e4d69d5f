package middleware_test

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// Record opens the row of a token issued elsewhere with the Guard's own
// rules, sets the cookie and ends the session of the cookie it replaces, as
// SignIn does.
func TestRecord(t *testing.T) {
	t.Parallel()
	const sid = "6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e"
	now := time.Now()
	inOneHour := claims(sid, now)
	inOneHour["exp"] = now.Add(time.Hour).Unix()
	tests := []struct {
		name       string
		token      string
		p          middleware.SignIn
		wantID     string        // "" for a generated id
		wantMaxAge time.Duration // the cookie's, at most
	}{
		{"opaque", opaque(7), middleware.SignIn{UserID: 42}, "", 8 * time.Hour},
		{"JWT: user and session id from the claims", sign(t, jwt.SigningMethodHS256, "k2", hmacNew, claims(sid, now)),
			middleware.SignIn{}, sid, 8 * time.Hour},
		{"JWT: the cookie ends with the token", sign(t, jwt.SigningMethodHS256, "k2", hmacNew, inOneHour),
			middleware.SignIn{UserID: 42}, sid, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			var events []sessionguard.Event
			g := newGuard(t, st, func(c *middleware.Config) {
				c.AppType = sessionguard.ControlPanel
				c.IdleTimeout, c.AbsoluteTimeout = 2*time.Hour, 8*time.Hour
				c.Tokens = middleware.OpaqueTokens | middleware.JWTs
				c.JWT = hmacJWT()
				c.OnEvent = func(e sessionguard.Event) { events = append(events, e) }
			})
			replaced := opaque(9)
			st.seed(replaced, sessionguard.NewSession{UserID: 42, AppType: sessionguard.ControlPanel})

			r := request(cookie(replaced))
			r.RemoteAddr = "192.0.2.7:1234"
			r.Header.Set("User-Agent", "Mozilla/5.0 (X11)")
			rec := httptest.NewRecorder()
			s, err := g.Record(rec, r, tt.token, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.created) != 1 {
				t.Fatalf("created %d rows, want 1", len(st.created))
			}
			n := st.created[0]
			if n.TokenHash != sha256Hex(tt.token) || n.UserID != 42 || n.AppType != sessionguard.ControlPanel ||
				n.IdleTimeout != 2*time.Hour || n.AbsoluteTimeout != 8*time.Hour || n.IP != "192.0.2.7" || n.UserAgent != "Mozilla/5.0 (X11)" {
				t.Errorf("row %+v: not the Guard's rules for this token", n)
			}
			if s.ID != n.ID || tt.wantID != "" && n.ID != tt.wantID {
				t.Errorf("row id %q, session id %q, want %q", n.ID, s.ID, tt.wantID)
			}
			c := rec.Result().Cookies()
			if len(c) != 1 || c[0].Value != tt.token || !c[0].HttpOnly || !c[0].Secure {
				t.Fatalf("cookies %v, want the token's session cookie", c)
			}
			if maxAge := time.Duration(c[0].MaxAge) * time.Second; maxAge > tt.wantMaxAge || maxAge < tt.wantMaxAge-5*time.Second {
				t.Errorf("Max-Age %v, want at most %v (and close)", maxAge, tt.wantMaxAge)
			}
			if len(st.revokes) != 1 || st.revokes[0] != (fakeRevoke{sha256Hex(replaced), sessionguard.ReasonLogout}) {
				t.Errorf("revokes %v: the replaced cookie's session was not ended", st.revokes)
			}
			if len(events) != 1 || events[0].Kind != sessionguard.EventCreated || events[0].SessionID != s.ID || events[0].IP != "192.0.2.7" {
				t.Errorf("events %+v, want one created event for the session", events)
			}
			// The Guard accepts the token from now on.
			if _, err := g.Authenticate(request(nil, "Bearer "+tt.token)); err != nil {
				t.Errorf("the recorded token is refused: %v", err)
			}
			// Recording it again is the caller's mistake, not an outage,
			// and leaves the session as it was.
			_, err = g.Record(nil, request(nil), tt.token, tt.p)
			if !errors.Is(err, sessionguard.ErrDuplicateToken) || errors.Is(err, middleware.ErrUnavailable) {
				t.Errorf("recording the token again = %v, want ErrDuplicateToken and no ErrUnavailable", err)
			}
			if _, err := g.Authenticate(request(nil, "Bearer "+tt.token)); err != nil {
				t.Errorf("after a second Record the token is refused: %v", err)
			}
		})
	}
}

// Record refuses, without asking the store, a token the Guard would not
// accept, and a JWT whose claims disagree with what the caller says.
func TestRecordRefuses(t *testing.T) {
	t.Parallel()
	const sid = "6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e"
	now := time.Now()
	good := sign(t, jwt.SigningMethodHS256, "k2", hmacNew, claims(sid, now))
	expired := claims(sid, now.Add(-9*time.Hour))
	tests := []struct {
		name      string
		jwt       bool // the Guard takes JWTs only; else opaque only
		tenantApp bool // the Guard is for tenant_app sessions, tenant claim "tid"; else control_panel
		token     string
		p         middleware.SignIn
		errIs     error // nil: any error
		inText    string
	}{
		{"another user than the token's", true, false, good, middleware.SignIn{UserID: 43}, middleware.ErrInvalidToken, "user id claim"},
		{"forged signature", true, false, good[:strings.LastIndexByte(good, '.')+1] + strings.Repeat("A", 43), middleware.SignIn{}, middleware.ErrInvalidToken, ""},
		{"expired", true, false, sign(t, jwt.SigningMethodHS256, "k2", hmacNew, expired), middleware.SignIn{}, middleware.ErrInvalidToken, ""},
		{"an opaque token to a JWT Guard", true, false, opaque(3), middleware.SignIn{UserID: 42}, middleware.ErrInvalidToken, ""},
		{"a JWT to an opaque Guard", false, false, good, middleware.SignIn{UserID: 42}, middleware.ErrInvalidToken, ""},
		{"malformed", false, false, "a b", middleware.SignIn{UserID: 42}, middleware.ErrInvalidToken, ""},
		{"no user", false, false, opaque(3), middleware.SignIn{}, nil, "UserID"},
		// A verified token that leaves the tenant unset is a token this app
		// cannot use, as one whose tenant claim is malformed: not an argument
		// error the caller could mistake for an outage.
		{"a tenant app's token without its tenant claim", true, true, good, middleware.SignIn{}, middleware.ErrInvalidToken, `tenant claim "tid"`},
		{"a tenant app's token with a malformed tenant claim", true, true, sign(t, jwt.SigningMethodHS256, "k2", hmacNew, withClaim(claims(sid, now), "tid", "acme")), middleware.SignIn{}, middleware.ErrInvalidToken, "tid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			g := newGuard(t, st, func(c *middleware.Config) {
				c.AppType = sessionguard.ControlPanel
				if tt.jwt {
					c.JWT = hmacJWT()
				}
				if tt.tenantApp {
					c.AppType = sessionguard.TenantApp
					c.Tenant = func(*http.Request) (int64, error) { return 7, nil }
					c.JWT.TenantIDClaim = "tid"
				}
			})
			rec := httptest.NewRecorder()
			_, err := g.Record(rec, request(nil), tt.token, tt.p)
			switch {
			case err == nil:
				t.Fatal("recorded")
			case tt.errIs != nil && !errors.Is(err, tt.errIs):
				t.Fatalf("error %v, want %v", err, tt.errIs)
			case !strings.Contains(err.Error(), tt.inText):
				t.Fatalf("error %q does not say %q", err, tt.inText)
			case strings.Contains(err.Error(), tt.token):
				t.Fatal("the error contains the token")
			}
			if st.totalCalls() != 0 || len(rec.Result().Cookies()) != 0 {
				t.Fatalf("%d store calls, cookies %v; want none", st.totalCalls(), rec.Result().Cookies())
			}
		})
	}
}

// One Guard, two refusal styles: the API answers JSON, the pages redirect.
func TestWithDeny(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	st.seed(tokA, sessionguard.NewSession{UserID: 1, AppType: sessionguard.ControlPanel})
	api := newGuard(t, st, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel })
	pages := api.WithDeny(func(w http.ResponseWriter, r *http.Request, err error) {
		var re *middleware.RefusalError
		if errors.As(err, &re) {
			http.Redirect(w, r, "/login?reason="+re.Reason, http.StatusSeeOther)
		}
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name     string
		guard    *middleware.Guard
		r        *http.Request
		status   int
		location string
	}{
		{"api, signed in", api, request(cookie(tokA)), http.StatusNoContent, ""},
		{"pages, signed in", pages, request(cookie(tokA)), http.StatusNoContent, ""},
		{"api, refused", api, request(cookie(tokB)), http.StatusUnauthorized, ""},
		{"pages, refused", pages, request(cookie(tokB)), http.StatusSeeOther, "/login?reason=invalid"},
		{"api: the pages' style did not leak into it", api, request(nil), http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.guard.Middleware(ok).ServeHTTP(rec, tt.r)
			if rec.Code != tt.status || rec.Header().Get("Location") != tt.location {
				t.Fatalf("status %d, Location %q; want %d, %q", rec.Code, rec.Header().Get("Location"), tt.status, tt.location)
			}
			if tt.status == http.StatusUnauthorized {
				decodeBody(t, rec) // DenyJSON's body
			}
		})
	}
	// Sign-in state is shared: one Guard, not two.
	if err := pages.SignOut(httptest.NewRecorder(), request(cookie(tokA))); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Authenticate(request(cookie(tokA))); !errors.Is(err, middleware.ErrRevoked) {
		t.Fatalf("after signing out through pages, api says %v", err)
	}
}

// X-Session-Idle-Remaining never exceeds X-Session-Absolute-Remaining: near
// its absolute end, a session's idle time left is the time it has left.
func TestIdleRemainingNeverExceedsAbsolute(t *testing.T) {
	t.Parallel()
	for _, elapsed := range []time.Duration{0, 3 * time.Hour, 4*time.Hour + 30*time.Minute, 7 * time.Hour, 8*time.Hour - time.Second} {
		for _, peek := range []bool{false, true} {
			st := newFakeStore()
			st.seed(tokA, sessionguard.NewSession{UserID: 1, AppType: sessionguard.ControlPanel})
			g := newGuard(t, st, nil)
			// Active every 3h until elapsed, so that only the absolute
			// timeout draws near.
			for moved := time.Duration(0); moved < elapsed; {
				step := min(3*time.Hour, elapsed-moved)
				st.advance(step)
				if moved += step; moved < elapsed {
					if _, err := g.Authenticate(request(cookie(tokA))); err != nil {
						t.Fatal(err)
					}
				}
			}
			mw := g.Middleware
			if peek {
				mw = g.PeekMiddleware
			}
			rec := httptest.NewRecorder()
			mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, request(cookie(tokA)))
			idle, abs := rec.Header().Get(middleware.HeaderIdleRemaining), rec.Header().Get(middleware.HeaderAbsoluteRemaining)
			wantAbs := int((8*time.Hour - elapsed) / time.Second)
			if rec.Code != http.StatusOK || abs != itoa(wantAbs) || atoi(t, idle) > atoi(t, abs) {
				t.Errorf("after %v (peek %v): %d, idle %s, absolute %s; want 200, idle <= absolute = %d", elapsed, peek, rec.Code, idle, abs, wantAbs)
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number of seconds: %q", s)
	}
	return n
}

// An identity provider's JWT (JWKS, its own claim names, "tid", no "sid"):
// Record takes the user and tenant from the claims, and from then on the
// tenant claim must agree with the route's tenant (refused before any query)
// and with the row's.
func TestRecordIdentityProviderToken(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{})
	st := newFakeStore()
	routeTenant := int64(7)
	g := newGuard(t, st, func(c *middleware.Config) {
		c.AppType = sessionguard.TenantApp
		c.Tenant = func(*http.Request) (int64, error) { return routeTenant, nil }
		c.JWT = &middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid"}
	})
	token := sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims()) // sub 42, tid 7, exp in 1h

	if _, err := g.Record(nil, request(nil), token, middleware.SignIn{TenantID: 8}); !errors.Is(err, middleware.ErrInvalidToken) || st.totalCalls() != 0 {
		t.Fatalf("Record with another tenant than the claim's = %v (%d store calls), want ErrInvalidToken and none", err, st.totalCalls())
	}
	rec := httptest.NewRecorder()
	s, err := g.Record(rec, request(nil), token, middleware.SignIn{})
	if err != nil {
		t.Fatal(err)
	}
	if n := st.created[0]; n.UserID != 42 || n.TenantID != 7 || n.AppType != sessionguard.TenantApp || s.ID == "" {
		t.Fatalf("row %+v, session %v: want user 42, tenant 7 from the claims and a generated id", n, s)
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge > 3600 || c[0].MaxAge < 3590 {
		t.Fatalf("cookies %v: want Max-Age capped by the token's exp (1h)", c)
	}
	if _, err := g.Authenticate(request(nil, "Bearer "+token)); err != nil {
		t.Fatalf("the recorded token on its tenant's route: %v", err)
	}

	routeTenant = 8
	before := st.totalCalls()
	if _, err := g.Authenticate(request(nil, "Bearer "+token)); !errors.Is(err, middleware.ErrWrongTenant) || st.totalCalls() != before {
		t.Fatalf("tid 7 on tenant 8's route = %v (%d store calls), want ErrWrongTenant and none", err, st.totalCalls()-before)
	}

	// A row of another tenant than the token's claim: the store is held to
	// the claim's tenant.
	anyApp := newGuard(t, st, func(c *middleware.Config) {
		c.JWT = &middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid"}
	})
	other := sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims())
	st.seed(other, sessionguard.NewSession{UserID: 42, TenantID: 9, AppType: sessionguard.TenantApp})
	if _, err := anyApp.Authenticate(request(nil, "Bearer "+other)); !errors.Is(err, middleware.ErrWrongTenant) {
		t.Fatalf("tid 7 on a row of tenant 9 = %v, want ErrWrongTenant", err)
	}
}

// A Guard that only verifies (no signing key) mints nothing: SignIn says to
// record the issuer's token, and asks the store nothing.
func TestSignInWithoutASigningKey(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	st := newFakeStore()
	g := newGuard(t, st, func(c *middleware.Config) {
		c.AppType = sessionguard.ControlPanel
		c.JWT = &middleware.JWTConfig{JWKS: newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{}), Issuer: "https://idp.example", Audience: "tenant-app"}
	})
	rec := httptest.NewRecorder()
	_, _, err := g.SignIn(rec, request(nil), middleware.SignIn{UserID: 42})
	if err == nil || !strings.Contains(err.Error(), "Record") {
		t.Fatalf("SignIn = %v, want an error pointing to Record", err)
	}
	if st.totalCalls() != 0 || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("%d store calls, cookies %v; want none", st.totalCalls(), rec.Result().Cookies())
	}
}

// An identity provider that signs tokens for several applications gives
// each its own "aud": a token it issued for another application (which that
// application, or whoever runs it, holds) opens no session here.
func TestRecordRefusesAnotherApplicationsToken(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.serve(edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	jwks := newJWKS(t, t.Context(), is.srv.URL, middleware.JWKSConfig{})
	st := newFakeStore()
	g := newGuard(t, st, func(c *middleware.Config) {
		c.AppType = sessionguard.TenantApp
		c.Tenant = func(*http.Request) (int64, error) { return 7, nil }
		c.JWT = &middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid"}
	})
	for _, aud := range []any{"billing-app", []string{"billing-app", "reports"}, nil} {
		c := idpClaims()
		if aud == nil {
			delete(c, "aud")
		} else {
			c["aud"] = aud
		}
		token := sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, c)
		if _, err := g.Record(nil, request(nil), token, middleware.SignIn{}); !errors.Is(err, middleware.ErrInvalidToken) {
			t.Errorf("aud %v: Record = %v, want ErrInvalidToken", aud, err)
		}
	}
	if n := st.totalCalls(); n != 0 {
		t.Errorf("%d store calls, want none", n)
	}
	if _, err := g.Record(nil, request(nil), sign(t, jwt.SigningMethodEdDSA, "ed-1", is.ed, idpClaims()), middleware.SignIn{}); err != nil {
		t.Fatalf("this application's token: %v", err)
	}
}

// withClaim returns c with claim name set to v.
func withClaim(c jwt.MapClaims, name string, v any) jwt.MapClaims {
	c[name] = v
	return c
}
