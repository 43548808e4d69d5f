package middleware_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// opaque returns a well-formed opaque token whose bytes are all b.
func opaque(b byte) string {
	return base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

var (
	tokA = opaque(1)
	tokB = opaque(2)
)

var discard = slog.New(slog.DiscardHandler)

func newGuard(t *testing.T, st sessionguard.Store, mod func(*middleware.Config)) *middleware.Guard {
	t.Helper()
	cfg := middleware.Config{Store: st, Logger: discard}
	if mod != nil {
		mod(&cfg)
	}
	g, err := middleware.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

// probe is a handler that records whether it ran and the session it saw.
type probe struct {
	mu      sync.Mutex
	ran     int
	session middleware.Session
	ok      bool
}

func (p *probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ran++
	p.session, p.ok = middleware.SessionFrom(r.Context())
	_, _ = io.WriteString(w, "ok")
}

func request(cookies []string, auth ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		r.Header.Add("Cookie", c)
	}
	for _, a := range auth {
		r.Header.Add("Authorization", a)
	}
	return r
}

func cookie(v string) []string { return []string{"__Host-session=" + v} }

type body struct {
	Error     string `json:"error"`
	Reason    string `json:"reason"`
	EndReason string `json:"end_reason"`
}

func decodeBody(t *testing.T, rec *httptest.ResponseRecorder) body {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var b body
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return b
}

// TestRefusedWithoutStoreCall covers every request the guard must refuse
// before asking the store anything.
func TestRefusedWithoutStoreCall(t *testing.T) {
	long := strings.Repeat("A", 4097)
	tests := []struct {
		name      string
		r         *http.Request
		reason    string
		challenge string // expected WWW-Authenticate: every 401 has one (RFC 9110), a cookie client's without an error
	}{
		{"no credentials", request(nil), "missing", `Bearer realm="sessionguard"`},
		{"other cookies only", request([]string{"theme=dark; lang=en"}), "missing", `Bearer realm="sessionguard"`},
		{"basic auth only", request(nil, "Basic dXNlcjpwYXNz"), "missing", `Bearer realm="sessionguard"`},
		{"empty cookie", request(cookie("")), "invalid", `Bearer realm="sessionguard"`},
		{"short cookie", request(cookie("abc")), "invalid", `Bearer realm="sessionguard"`},
		{"oversized cookie", request(cookie(long)), "invalid", `Bearer realm="sessionguard"`},
		{"oversized bearer", request(nil, "Bearer "+long), "invalid", `Bearer realm="sessionguard", error="invalid_token"`},
		{"padded token", request(cookie(tokA + "=")), "invalid", `Bearer realm="sessionguard"`},
		{"non-canonical base64", request(cookie(tokA[:42] + "B")), "invalid", `Bearer realm="sessionguard"`},
		{"44 chars", request(cookie(tokA + "A")), "invalid", `Bearer realm="sessionguard"`},
		{"jwt in opaque mode", request(nil, "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"), "invalid", `Bearer realm="sessionguard", error="invalid_token"`},
		{"two cookies in one header", request([]string{"__Host-session=" + tokA + "; __Host-session=" + tokA}), "invalid", `Bearer realm="sessionguard"`},
		{"two cookies in two headers", request([]string{"__Host-session=" + tokA, "__Host-session=" + tokB}), "invalid", `Bearer realm="sessionguard"`},
		{"cookie and bearer differ", request(cookie(tokA), "Bearer "+tokB), "invalid", `Bearer realm="sessionguard"`},
		{"two authorization headers", request(nil, "Bearer "+tokA, "Bearer "+tokA), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"bearer without token", request(nil, "Bearer"), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"bearer tab", request(nil, "Bearer\t"+tokA), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"bearer trailing junk", request(nil, "Bearer "+tokA+" x"), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"NUL in bearer", request(nil, "Bearer "+tokA[:20]+"\x00"+tokA[21:]), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"NUL in cookie", request(cookie(tokA[:42] + "\x00")), "invalid", `Bearer realm="sessionguard"`},
		{"invalid UTF-8 in cookie", request(cookie(tokA[:41] + "\xff\xfe")), "invalid", `Bearer realm="sessionguard"`},
		{"invalid UTF-8 in bearer", request(nil, "Bearer \xc3\x28"+tokA[2:]), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"SQL in cookie", request(cookie("' OR '1'='1' --")), "invalid", `Bearer realm="sessionguard"`},
		{"SQL in bearer", request(nil, "Bearer x';DROP TABLE sessions;--"), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"two bearer tokens", request(nil, "Bearer "+tokA+" "+tokB), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"malformed bearer beside a cookie", request(cookie(tokA), "Bearer "+tokA+","), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"bearer padding only", request(nil, "Bearer ="), "malformed_request", `Bearer realm="sessionguard", error="invalid_request"`},
		{"bearer of another issuer's alphabet", request(nil, "Bearer ab+c/d~e=="), "invalid", `Bearer realm="sessionguard", error="invalid_token"`},
		{"SQL of token length", request(cookie("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'OR'1'='1")), "invalid", `Bearer realm="sessionguard"`},
		{"quoted cookie", request(cookie(`"` + tokA + `"`)), "invalid", `Bearer realm="sessionguard"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			g := newGuard(t, st, nil)
			var p probe
			rec := httptest.NewRecorder()
			g.Middleware(&p).ServeHTTP(rec, tt.r)

			// A malformed Authorization header is RFC 6750's
			// invalid_request, a 400; any other refusal here a 401.
			wantStatus, wantError, want := http.StatusUnauthorized, "session_invalid", middleware.ErrInvalidToken
			switch tt.reason {
			case "malformed_request":
				wantStatus, wantError, want = http.StatusBadRequest, "bad_request", middleware.ErrMalformedRequest
			case "missing":
				want = middleware.ErrMissingToken
			}
			if rec.Code != wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, wantStatus)
			}
			if p.ran != 0 {
				t.Error("handler ran")
			}
			if n := st.totalCalls(); n != 0 {
				t.Errorf("store calls = %d, want 0", n)
			}
			b := decodeBody(t, rec)
			if b.Reason != tt.reason || b.Error != wantError {
				t.Errorf("body = %+v, want reason %q", b, tt.reason)
			}
			if got := rec.Header().Get("X-Session-End-Reason"); got != tt.reason {
				t.Errorf("X-Session-End-Reason = %q, want %q", got, tt.reason)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}

			// The plain decision agrees.
			_, err := g.Authenticate(tt.r)
			if !errors.Is(err, want) {
				t.Errorf("Authenticate error = %v, want %v", err, want)
			}
			if n := st.totalCalls(); n != 0 {
				t.Errorf("store calls after Authenticate = %d, want 0", n)
			}
		})
	}
}

func seedSession(st *fakeStore, token string, app sessionguard.AppType, tenant int64) {
	st.seed(token, sessionguard.NewSession{UserID: 42, TenantID: tenant, AppType: app})
}

func TestValidSession(t *testing.T) {
	tests := []struct {
		name string
		r    func() *http.Request
		via  bool // Session.Bearer
	}{
		{"cookie", func() *http.Request { return request(cookie(tokA)) }, false},
		{"bearer", func() *http.Request { return request(nil, "Bearer "+tokA) }, true},
		{"bearer scheme any case", func() *http.Request { return request(nil, "bEARER "+tokA) }, true},
		{"bearer after two spaces (RFC 6750: 1*SP)", func() *http.Request { return request(nil, "Bearer  "+tokA) }, true},
		{"cookie among others", func() *http.Request {
			return request([]string{"a=b; __Host-session=" + tokA + "; c=d"})
		}, false},
		{"cookie and identical bearer", func() *http.Request { return request(cookie(tokA), "Bearer "+tokA) }, false},
		{"cookie and basic auth", func() *http.Request { return request(cookie(tokA), "Basic dXNlcjpwYXNz") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			seedSession(st, tokA, sessionguard.ControlPanel, sessionguard.NoTenant)
			st.advance(time.Hour)
			g := newGuard(t, st, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel })

			var p probe
			// An outer handler that already varies on Accept-Encoding.
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Vary", "Accept-Encoding")
				g.Middleware(&p).ServeHTTP(w, r)
			})
			r := tt.r()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if rec.Code != http.StatusOK || p.ran != 1 {
				t.Fatalf("status %d, handler ran %d times; body %s", rec.Code, p.ran, rec.Body)
			}
			if _, ok := middleware.SessionFrom(r.Context()); ok {
				t.Error("the caller's request was given a session")
			}
			if !p.ok {
				t.Fatal("no session in the handler's context")
			}
			s := p.session
			if s.UserID != 42 || s.AppType != sessionguard.ControlPanel || s.TenantID != 0 || s.ID == "" || s.Bearer != tt.via {
				t.Errorf("session = %v (bearer %v)", s, s.Bearer)
			}
			if s.IdleRemaining != 4*time.Hour || s.AbsoluteRemaining != 7*time.Hour {
				t.Errorf("remaining = %v / %v, want 4h (after touch) / 7h", s.IdleRemaining, s.AbsoluteRemaining)
			}
			h2 := rec.Header()
			for k, want := range map[string]string{
				"X-Session-Idle-Remaining":     "14400",
				"X-Session-Absolute-Remaining": "25200",
				"X-Session-Warning-Threshold":  "300",
				"Cache-Control":                "no-store",
			} {
				if got := h2.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := strings.Join(h2.Values("Vary"), ", "); got != "Accept-Encoding, Cookie, Authorization" {
				t.Errorf("Vary = %q", got)
			}
			if expose := h2.Values("Access-Control-Expose-Headers"); expose != nil {
				t.Errorf("Access-Control-Expose-Headers = %q on a request without Origin", expose)
			}
			if v, p := st.callCount("Validate"), st.callCount("Peek"); v != 1 || p != 0 {
				t.Errorf("Validate %d, Peek %d calls; want 1, 0", v, p)
			}
		})
	}
}

// A cross-origin request (it carries Origin) gets the X-Session-* names in
// Access-Control-Expose-Headers, accepted or refused, so that its script can
// read them; a same-origin one, which can read them anyway, does not.
func TestExposeHeadersOnCrossOriginRequests(t *testing.T) {
	st := newFakeStore()
	seedSession(st, tokA, sessionguard.ControlPanel, sessionguard.NoTenant)
	g := newGuard(t, st, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel })
	h := g.Middleware(&probe{})
	for _, tt := range []struct {
		name   string
		token  string
		origin string
		status int
	}{
		{"accepted, cross-origin", tokA, "https://app.example", http.StatusOK},
		{"refused, cross-origin", "", "https://app.example", http.StatusUnauthorized},
		{"accepted, same-origin", tokA, "", http.StatusOK},
		{"refused, same-origin", "", "", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			expose := strings.Join(rec.Header().Values("Access-Control-Expose-Headers"), ", ")
			if tt.origin == "" {
				if expose != "" {
					t.Errorf("Access-Control-Expose-Headers = %q on a same-origin request", expose)
				}
				return
			}
			for _, name := range []string{middleware.HeaderIdleRemaining, middleware.HeaderAbsoluteRemaining, middleware.HeaderWarningThreshold,
				middleware.HeaderEndReason, middleware.HeaderRevokeReason, middleware.HeaderReauthentication} {
				if !strings.Contains(expose, name) {
					t.Errorf("Access-Control-Expose-Headers %q lacks %s", expose, name)
				}
			}
		})
	}
}

// A CORS preflight carries no credentials (Fetch standard), so a Guard
// refuses it like any request without a session, without a store call (the
// Middleware's doc): preflights are answered by a CORS handler outside the
// Guard, and the credentialed request that follows passes through both, its
// Vary merged with the CORS handler's.
func TestCORSPreflightOutsideTheGuard(t *testing.T) {
	st := newFakeStore()
	seedSession(st, tokA, sessionguard.ControlPanel, sessionguard.NoTenant)
	g := newGuard(t, st, nil)
	var p probe
	guarded := g.Middleware(&p)
	cors := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Add("Vary", "Origin")
			if r.Header.Get("Origin") == "https://app.example" {
				h.Set("Access-Control-Allow-Origin", "https://app.example")
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	preflight := func() *http.Request {
		r := httptest.NewRequest(http.MethodOptions, "/api/me", nil)
		r.Header.Set("Origin", "https://app.example")
		r.Header.Set("Access-Control-Request-Method", "GET")
		r.Header.Set("Access-Control-Request-Headers", "authorization")
		return r
	}

	rec := httptest.NewRecorder()
	guarded.ServeHTTP(rec, preflight())
	if rec.Code != http.StatusUnauthorized || p.ran != 0 || st.totalCalls() != 0 {
		t.Errorf("preflight at the Guard: %d, handler ran %d, store calls %d; want 401, 0, 0", rec.Code, p.ran, st.totalCalls())
	}

	h := cors(guarded)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, preflight())
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example" || st.totalCalls() != 0 {
		t.Errorf("preflight at the CORS handler: %d %v, store calls %d", rec.Code, rec.Header(), st.totalCalls())
	}
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("Origin", "https://app.example")
	r.Header.Set("Authorization", "Bearer "+tokA)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || p.ran != 1 {
		t.Fatalf("request after the preflight: %d, handler ran %d", rec.Code, p.ran)
	}
	if got := strings.Join(rec.Header().Values("Vary"), ", "); got != "Origin, Cookie, Authorization" {
		t.Errorf("Vary = %q, want the CORS handler's and the Guard's", got)
	}
	if !strings.Contains(rec.Header().Get("Access-Control-Expose-Headers"), middleware.HeaderIdleRemaining) {
		t.Errorf("Access-Control-Expose-Headers = %q", rec.Header().Get("Access-Control-Expose-Headers"))
	}
}

// The Guard hands the handler the server's own ResponseWriter, unwrapped:
// http.ResponseController's Flush and Hijack (streaming, websockets) work
// through it, and the time-left headers are set before the handler writes,
// so a streamed response carries them with its first flush.
func TestGuardKeepsTheResponseWriter(t *testing.T) {
	st := newFakeStore()
	seedSession(st, tokA, sessionguard.ControlPanel, sessionguard.NoTenant)
	g := newGuard(t, st, nil)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/stream", g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-release // the client has read the headers while the body still streams
	})))
	mux.Handle("/upgrade", g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tokA)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get(middleware.HeaderIdleRemaining) == "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("streamed response headers %v lack the Guard's", res.Header)
	}
	close(release)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()

	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/upgrade", nil)
	req.Header.Set("Authorization", "Bearer "+tokA)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "test")
	res, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("upgrade through the Guard: %d, want 101", res.StatusCode)
	}
}

func TestPeekNeverExtends(t *testing.T) {
	st := newFakeStore()
	seedSession(st, tokA, sessionguard.ControlPanel, sessionguard.NoTenant)
	g := newGuard(t, st, nil)
	var p probe

	st.advance(3 * time.Hour)
	rec := httptest.NewRecorder()
	g.PeekMiddleware(&p).ServeHTTP(rec, request(cookie(tokA)))
	if rec.Code != http.StatusOK || p.ran != 1 {
		t.Fatalf("peek: status %d, ran %d", rec.Code, p.ran)
	}
	if got := rec.Header().Get("X-Session-Idle-Remaining"); got != "3600" {
		t.Errorf("peek X-Session-Idle-Remaining = %q, want 3600 (untouched)", got)
	}
	if v, pk := st.callCount("Validate"), st.callCount("Peek"); v != 0 || pk != 1 {
		t.Errorf("Validate %d, Peek %d calls; want 0, 1", v, pk)
	}

	// Had the peek touched, the session would live until 7h; it ends at 4h.
	st.advance(time.Hour)
	_, err := g.Peek(request(cookie(tokA)))
	if !errors.Is(err, middleware.ErrIdleTimeout) {
		t.Errorf("after 4h with only peeks: %v, want ErrIdleTimeout", err)
	}
}

func TestTouchExtends(t *testing.T) {
	st := newFakeStore()
	seedSession(st, tokA, sessionguard.ControlPanel, sessionguard.NoTenant)
	g := newGuard(t, st, nil)
	st.advance(3 * time.Hour)
	if _, err := g.Authenticate(request(cookie(tokA))); err != nil {
		t.Fatal(err)
	}
	st.advance(3 * time.Hour)
	s, err := g.Authenticate(request(cookie(tokA)))
	if err != nil {
		t.Fatalf("6h after sign-in, active every 3h: %v", err)
	}
	// The touch moved the idle expiry 4h on; the idle time left is reported
	// no longer than the 2h the session has before its absolute end.
	if s.IdleExpiresAt != st.now.Add(4*time.Hour) || s.IdleRemaining != 2*time.Hour || s.AbsoluteRemaining != 2*time.Hour {
		t.Errorf("idle expiry %v (now %v), remaining = %v / %v, want now+4h and 2h / 2h", s.IdleExpiresAt, st.now, s.IdleRemaining, s.AbsoluteRemaining)
	}
}

func TestStoreStates(t *testing.T) {
	tests := []struct {
		name      string
		prepare   func(st *fakeStore)
		status    int
		err       *middleware.RefusalError
		reason    string
		endReason string
	}{
		{"unknown session", func(st *fakeStore) {}, 401, middleware.ErrInvalidToken, "invalid", ""},
		{"idle timeout", func(st *fakeStore) {
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			st.advance(4*time.Hour + time.Second)
		}, 401, middleware.ErrIdleTimeout, "idle_timeout", ""},
		{"absolute timeout", func(st *fakeStore) {
			st.seed(tokA, sessionguard.NewSession{UserID: 42, AppType: sessionguard.ControlPanel, IdleTimeout: time.Hour, AbsoluteTimeout: time.Hour})
			st.advance(time.Hour)
		}, 401, middleware.ErrAbsoluteTimeout, "absolute_timeout", ""},
		{"revoked by admin", func(st *fakeStore) {
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			_, _ = st.Revoke(context.Background(), sha256Hex(tokA), sessionguard.ReasonAdminRevoke)
		}, 401, middleware.ErrRevoked, "revoked", "admin_revoke"},
		{"revoked by password change", func(st *fakeStore) {
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			_, _ = st.Revoke(context.Background(), sha256Hex(tokA), sessionguard.ReasonPasswordChange)
		}, 401, middleware.ErrRevoked, "revoked", "password_change"},
		{"revoked with an odd reason", func(st *fakeStore) {
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			_, _ = st.Revoke(context.Background(), sha256Hex(tokA), "Mallory's <script>")
		}, 401, middleware.ErrRevoked, "revoked", "other"},
		{"wrong app", func(st *fakeStore) { seedSession(st, tokA, sessionguard.TenantApp, 7) }, 403, middleware.ErrWrongApp, "wrong_app", ""},
		{"unknown state", func(st *fakeStore) {
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			st.override = func(s sessionguard.Status) sessionguard.Status { s.State = "maybe"; return s }
		}, 401, middleware.ErrInvalidToken, "invalid", ""},
		{"store says valid for another app", func(st *fakeStore) {
			seedSession(st, tokA, sessionguard.TenantApp, 7)
			st.override = func(s sessionguard.Status) sessionguard.Status { s.State = sessionguard.StateValid; return s }
		}, 403, middleware.ErrWrongApp, "wrong_app", ""},
		{"store says valid but names no user", func(st *fakeStore) {
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			st.override = func(s sessionguard.Status) sessionguard.Status { s.UserID = 0; return s }
		}, 401, middleware.ErrInvalidToken, "invalid", ""},
		{"store says valid but names no session", func(st *fakeStore) {
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			st.override = func(s sessionguard.Status) sessionguard.Status { s.SessionID = ""; return s }
		}, 401, middleware.ErrInvalidToken, "invalid", ""},
		{"store says valid, nothing else", func(st *fakeStore) {
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			st.override = func(s sessionguard.Status) sessionguard.Status {
				return sessionguard.Status{State: sessionguard.StateValid, AppType: sessionguard.ControlPanel}
			}
		}, 401, middleware.ErrInvalidToken, "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			tt.prepare(st)
			g := newGuard(t, st, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel })
			var p probe
			rec := httptest.NewRecorder()
			g.Middleware(&p).ServeHTTP(rec, request(nil, "Bearer "+tokA))
			if rec.Code != tt.status || p.ran != 0 {
				t.Fatalf("status %d, handler ran %d; want %d, 0", rec.Code, p.ran, tt.status)
			}
			b := decodeBody(t, rec)
			if b.Reason != tt.reason || b.EndReason != tt.endReason {
				t.Errorf("body = %+v, want reason %q end_reason %q", b, tt.reason, tt.endReason)
			}
			wantChallenge := `Bearer realm="sessionguard", error="invalid_token"`
			if tt.status == 403 {
				wantChallenge = `Bearer realm="sessionguard", error="insufficient_scope"`
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantChallenge)
			}
			_, err := g.Authenticate(request(cookie(tokA)))
			if !errors.Is(err, tt.err) {
				t.Errorf("Authenticate: %v, want %v", err, tt.err)
			}
			var re *middleware.RefusalError
			if !errors.As(err, &re) || re.Status != tt.status || re.EndReason != tt.endReason || re.Bearer {
				t.Errorf("refusal = %#v", re)
			}
		})
	}
}

func TestTenantScope(t *testing.T) {
	st := newFakeStore()
	seedSession(st, tokA, sessionguard.TenantApp, 7)
	seedSession(st, tokB, sessionguard.ControlPanel, sessionguard.NoTenant)
	g := newGuard(t, st, func(c *middleware.Config) {
		c.AppType = sessionguard.TenantApp
		c.Tenant = func(r *http.Request) (int64, error) {
			if r.PathValue("tenant") == "lookup-fails" {
				// A resolver whose tenant directory is down.
				return 0, fmt.Errorf("tenants: %w: %w", middleware.ErrUnavailable, errors.New("connection refused"))
			}
			return strconv.ParseInt(r.PathValue("tenant"), 10, 64)
		}
	})
	var p probe
	mux := http.NewServeMux()
	mux.Handle("/t/{tenant}/", g.Middleware(&p))

	tests := []struct {
		name   string
		path   string
		token  string
		status int
		reason string
		calls  int
	}{
		{"own tenant", "/t/7/home", tokA, 200, "", 1},
		{"other tenant", "/t/8/home", tokA, 403, "wrong_tenant", 1},
		{"control panel session on tenant route", "/t/7/home", tokB, 403, "wrong_app", 1},
		{"unresolvable tenant", "/t/seven/home", tokA, 400, "bad_tenant", 0},
		{"tenant zero would mean any", "/t/0/home", tokA, 400, "bad_tenant", 0},
		{"negative tenant", "/t/-7/home", tokA, 400, "bad_tenant", 0},
		{"tenant lookup unavailable", "/t/lookup-fails/home", tokA, 503, "unavailable", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := st.totalCalls()
			ranBefore := p.ran
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			r.Header.Set("Cookie", "__Host-session="+tt.token)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if n := st.totalCalls() - before; n != tt.calls {
				t.Errorf("store calls = %d, want %d", n, tt.calls)
			}
			if tt.status == 200 {
				if p.ran != ranBefore+1 || p.session.TenantID != 7 {
					t.Errorf("handler ran %d, session %v", p.ran-ranBefore, p.session)
				}
				return
			}
			if p.ran != ranBefore {
				t.Error("handler ran")
			}
			if b := decodeBody(t, rec); b.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", b.Reason, tt.reason)
			}
		})
	}
}

func TestStoreIgnoringTenantScopeIsRefused(t *testing.T) {
	st := newFakeStore()
	seedSession(st, tokA, sessionguard.TenantApp, 7)
	st.override = func(s sessionguard.Status) sessionguard.Status {
		if s.State == sessionguard.StateWrongTenant {
			s.State = sessionguard.StateValid
		}
		return s
	}
	g := newGuard(t, st, func(c *middleware.Config) {
		c.AppType = sessionguard.TenantApp
		c.Tenant = func(*http.Request) (int64, error) { return 8, nil }
	})
	_, err := g.Authenticate(request(cookie(tokA)))
	if !errors.Is(err, middleware.ErrWrongTenant) {
		t.Fatalf("got %v, want ErrWrongTenant", err)
	}
}

func TestStoreFailureIs503(t *testing.T) {
	errDown := errors.New("connection refused")
	tests := []struct {
		name    string
		prepare func(st *fakeStore)
		cause   error
	}{
		{"store error", func(st *fakeStore) { st.setErr(errDown) }, errDown},
		{"store too slow", func(st *fakeStore) { st.block = true }, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		for _, peek := range []bool{false, true} {
			t.Run(tt.name+"/peek="+strconv.FormatBool(peek), func(t *testing.T) {
				st := newFakeStore()
				seedSession(st, tokA, sessionguard.ControlPanel, 0)
				tt.prepare(st)
				g := newGuard(t, st, func(c *middleware.Config) { c.StoreTimeout = 20 * time.Millisecond })
				mw := g.Middleware
				if peek {
					mw = g.PeekMiddleware
				}
				var p probe
				rec := httptest.NewRecorder()
				mw(&p).ServeHTTP(rec, request(cookie(tokA)))
				if rec.Code != http.StatusServiceUnavailable || p.ran != 0 {
					t.Fatalf("status %d, handler ran %d; want 503, 0", rec.Code, p.ran)
				}
				if got := rec.Header().Get("Retry-After"); got != "1" {
					t.Errorf("Retry-After = %q", got)
				}
				if b := decodeBody(t, rec); b.Error != "unavailable" || b.Reason != "unavailable" {
					t.Errorf("body = %+v", b)
				}
				if strings.Contains(rec.Body.String(), tt.cause.Error()) {
					t.Errorf("body %q reveals the store error", rec.Body)
				}
				_, err := g.Authenticate(request(cookie(tokA)))
				if !errors.Is(err, middleware.ErrUnavailable) || !errors.Is(err, tt.cause) {
					t.Errorf("Authenticate: %v, want ErrUnavailable wrapping %v", err, tt.cause)
				}
			})
		}
	}
}

// A request whose client went away while the store was asked (its context
// canceled) is refused, as every answer that is not a pass, but it says
// nothing about the store: it is ErrCanceled, logged below Error and counted
// apart, so an alert on "unavailable" does not page on clients that leave.
// A request that ran out of its own deadline is an outage as before.
func TestClientGoneIsNotAnOutage(t *testing.T) {
	tests := []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		want   *middleware.RefusalError
		reason string
	}{
		{"client gone while the store is asked", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, middleware.ErrCanceled, "canceled"},
		{"client gone before", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, middleware.ErrCanceled, "canceled"},
		{"request deadline passed", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, middleware.ErrUnavailable, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			st.block = true
			var logs syncBuffer
			var events eventLog
			var denied error
			g := newGuard(t, st, func(c *middleware.Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				c.OnEvent = events.add
				c.Deny = func(w http.ResponseWriter, r *http.Request, err error) {
					denied = err
					middleware.DenyJSON(w, r, err)
				}
			})
			ctx, cancel := tt.ctx()
			defer cancel()
			var p probe
			rec := httptest.NewRecorder()
			g.Middleware(&p).ServeHTTP(rec, request(cookie(tokA)).WithContext(ctx))
			if p.ran != 0 || rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, handler ran %d; want 503, 0", rec.Code, p.ran)
			}
			if !errors.Is(denied, tt.want) || !errors.Is(denied, ctx.Err()) {
				t.Errorf("refusal %v, want %v wrapping %v", denied, tt.want, ctx.Err())
			}
			if got := events.take(); len(got) != 1 || got[0].Reason != tt.reason {
				t.Errorf("events %+v, want one of reason %q", got, tt.reason)
			}
			if outage := strings.Contains(logs.String(), "level=ERROR"); outage != (tt.reason == "unavailable") {
				t.Errorf("logged at Error: %v, want %v; log:\n%s", outage, !outage, logs.String())
			}
		})
	}
}

// A sign-in, a Record or a re-authentication whose client goes away before
// the store answers fails as the Middleware's requests do: ErrCanceled,
// logged at Debug level, not an outage logged at Error (which a sign-in
// abandoned in the same request as a Middleware check was, half-way).
func TestSignInClientGoneIsNotAnOutage(t *testing.T) {
	tests := []struct {
		name string
		call func(g *middleware.Guard, signedIn *http.Request, ctx context.Context) error
	}{
		{"SignIn", func(g *middleware.Guard, _ *http.Request, ctx context.Context) error {
			_, _, err := g.SignIn(httptest.NewRecorder(), request(nil).WithContext(ctx), middleware.SignIn{UserID: 7})
			return err
		}},
		{"Record", func(g *middleware.Guard, _ *http.Request, ctx context.Context) error {
			_, err := g.Record(httptest.NewRecorder(), request(nil).WithContext(ctx), tokB, middleware.SignIn{UserID: 7})
			return err
		}},
		{"Reauthenticate", func(g *middleware.Guard, signedIn *http.Request, ctx context.Context) error {
			_, _, err := g.Reauthenticate(httptest.NewRecorder(), signedIn.WithContext(ctx), middleware.Reauthentication{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			seedSession(st, tokA, sessionguard.ControlPanel, 0)
			var logs syncBuffer
			g := newGuard(t, st, func(c *middleware.Config) {
				c.AppType = sessionguard.ControlPanel
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			var signedIn *http.Request
			g.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { signedIn = r })).
				ServeHTTP(httptest.NewRecorder(), request(cookie(tokA)))
			if signedIn == nil {
				t.Fatal("the session was not let in")
			}
			st.mu.Lock()
			st.block = true // the store answers no more
			st.mu.Unlock()
			ctx, cancel := context.WithCancel(signedIn.Context())
			defer cancel()
			time.AfterFunc(20*time.Millisecond, cancel) // the client goes away
			err := tt.call(g, signedIn, ctx)
			if !errors.Is(err, middleware.ErrCanceled) || errors.Is(err, middleware.ErrUnavailable) {
				t.Errorf("error %v, want ErrCanceled", err)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a client that left was logged as an outage:\n%s", logs.String())
			}
		})
	}
}

// leavingStore fails Validate as a store in an outage does, and the
// client (leave) goes away before the Guard looks at the failure: what it
// failed with decides the refusal, not what the client did meanwhile.
type leavingStore struct {
	*fakeStore
	fail  func(ctx context.Context) error
	leave context.CancelFunc
}

func (s leavingStore) Validate(ctx context.Context, _ string, _ sessionguard.Scope) (sessionguard.Status, error) {
	err := s.fail(ctx)
	s.leave()
	return sessionguard.Status{}, err
}

// An outage is an outage also when its clients give up on it: a store that
// failed on its own (a refused connection) or ran out of StoreTimeout is
// ErrUnavailable, logged at Error, even when the request's client has gone
// by the time the store returns. Only a call that failed because the
// client left is ErrCanceled.
func TestOutageWhileTheClientLeavesIsAnOutage(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	tests := []struct {
		name   string
		fail   func(ctx context.Context) error
		reason string
	}{
		{"store error, then the client left", func(context.Context) error { return refused }, "unavailable"},
		{"StoreTimeout passed, then the client left", func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st := leavingStore{fakeStore: newFakeStore(), fail: tt.fail, leave: cancel}
			seedSession(st.fakeStore, tokA, sessionguard.ControlPanel, 0)
			var logs syncBuffer
			var events eventLog
			var denied error
			g := newGuard(t, st, func(c *middleware.Config) {
				c.StoreTimeout = 20 * time.Millisecond
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				c.OnEvent = events.add
				c.Deny = func(w http.ResponseWriter, r *http.Request, err error) {
					denied = err
					middleware.DenyJSON(w, r, err)
				}
			})
			var p probe
			rec := httptest.NewRecorder()
			g.Middleware(&p).ServeHTTP(rec, request(cookie(tokA)).WithContext(ctx))
			if p.ran != 0 || rec.Code != http.StatusServiceUnavailable || ctx.Err() == nil {
				t.Fatalf("status %d, handler ran %d, client gone %v; want 503, 0, gone", rec.Code, p.ran, ctx.Err() != nil)
			}
			if !errors.Is(denied, middleware.ErrUnavailable) || errors.Is(denied, middleware.ErrCanceled) {
				t.Errorf("refusal %v, want ErrUnavailable", denied)
			}
			if got := events.take(); len(got) != 1 || got[0].Reason != tt.reason {
				t.Errorf("events %+v, want one of reason %q", got, tt.reason)
			}
			if !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("an outage not logged at Error; log:\n%s", logs.String())
			}
		})
	}
}

// Config.Tenant's lookup, the other call a request waits on, follows the
// same rule: canceled when it failed because the client left (its error
// wraps the cancellation, as Config.Tenant's doc wraps err), an outage when
// it failed on its own while the client was leaving.
func TestTenantLookupWhileTheClientLeaves(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	tests := []struct {
		name   string
		cause  func(r *http.Request) error
		reason string
	}{
		{"lookup abandoned with the client", func(r *http.Request) error {
			<-r.Context().Done()
			return r.Context().Err()
		}, "canceled"},
		{"lookup failed, the client gone too", func(*http.Request) error { return refused }, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			seedSession(st, tokA, sessionguard.TenantApp, 5)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var events eventLog
			g := newGuard(t, st, func(c *middleware.Config) {
				c.AppType = sessionguard.TenantApp
				c.OnEvent = events.add
				c.Tenant = func(r *http.Request) (int64, error) {
					time.AfterFunc(20*time.Millisecond, cancel) // the client goes away
					err := tt.cause(r)
					for r.Context().Err() == nil {
						time.Sleep(time.Millisecond)
					}
					return 0, fmt.Errorf("tenants: %w: %w", middleware.ErrUnavailable, err)
				}
			})
			rec := httptest.NewRecorder()
			g.Middleware(&probe{}).ServeHTTP(rec, request(cookie(tokA)).WithContext(ctx))
			if got := events.take(); rec.Code != http.StatusServiceUnavailable || len(got) != 1 || got[0].Reason != tt.reason {
				t.Errorf("status %d, events %+v; want 503 and one refusal of reason %q", rec.Code, got, tt.reason)
			}
			if st.totalCalls() != 0 {
				t.Errorf("%d store calls after the tenant lookup failed", st.totalCalls())
			}
		})
	}
}

func TestCustomDeny(t *testing.T) {
	st := newFakeStore()
	var got error
	g := newGuard(t, st, func(c *middleware.Config) {
		c.Deny = func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}
	})
	var p probe
	rec := httptest.NewRecorder()
	g.Middleware(&p).ServeHTTP(rec, request(nil))
	if rec.Code != http.StatusSeeOther || p.ran != 0 || !errors.Is(got, middleware.ErrMissingToken) {
		t.Fatalf("status %d, ran %d, err %v", rec.Code, p.ran, got)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("refusal without Cache-Control: no-store")
	}
}

// TestConcurrent runs many requests at once, for the race detector.
func TestConcurrent(t *testing.T) {
	st := newFakeStore()
	seedSession(st, tokA, sessionguard.ControlPanel, 0)
	g := newGuard(t, st, nil)
	srv := httptest.NewServer(g.Middleware(&probe{}))
	defer srv.Close()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := tokA
			if i%2 == 1 {
				tok = tokB
			}
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_ = resp.Body.Close()
			want := http.StatusOK
			if tok == tokB {
				want = http.StatusUnauthorized
			}
			if resp.StatusCode != want {
				t.Errorf("status %d, want %d", resp.StatusCode, want)
			}
		}()
	}
	wg.Wait()
}
