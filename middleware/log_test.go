package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// leakyStore is a careless store whose errors quote the token hash.
type leakyStore struct{}

func (leakyStore) Create(_ context.Context, n sessionguard.NewSession) (sessionguard.SessionInfo, error) {
	return sessionguard.SessionInfo{}, fmt.Errorf("insert %s: connection reset", n.TokenHash)
}
func (leakyStore) Validate(_ context.Context, h string, _ sessionguard.Scope) (sessionguard.Status, error) {
	return sessionguard.Status{}, fmt.Errorf("validate %s: connection reset", h)
}
func (leakyStore) Peek(_ context.Context, h string, _ sessionguard.Scope) (sessionguard.Status, error) {
	return sessionguard.Status{}, fmt.Errorf("peek %s: connection reset", h)
}
func (leakyStore) Revoke(_ context.Context, h, _ string) (bool, error) {
	return false, fmt.Errorf("revoke %s: connection reset", h)
}
func (leakyStore) SignOut(_ context.Context, h string) (bool, error) {
	return false, fmt.Errorf("sign out %s: connection reset", h)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// TestNoSecretsInLogsOrErrors drives every path that logs or returns an
// error, with a debug-level logger, and looks for tokens and hashes in the
// output and in every error string.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var secrets []string // tokens and their hashes
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err))
		}
	}
	addSecret := func(tok string) string {
		secrets = append(secrets, tok, sha256Hex(tok))
		return tok
	}

	// Opaque mode, a healthy store.
	st := newFakeStore()
	g := newGuard(t, st, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel; c.Logger = logger })
	tok, s, err := g.SignIn(httptest.NewRecorder(), request(nil), middleware.SignIn{UserID: 42})
	note(err)
	addSecret(tok)
	_, err = g.Authenticate(request(cookie(tok)))
	note(err)
	logger.Info("session", "s", s)
	errs = append(errs, fmt.Sprintf("%v %+v %#v %s", s, s, s, s))
	for _, bad := range []string{addSecret(tokB), addSecret("not-a-token"), addSecret(strings.Repeat("Z", 5000))} {
		_, err = g.Authenticate(request(cookie(bad)))
		note(err)
		_, err = g.Authenticate(request(nil, "Bearer "+bad))
		note(err)
	}
	seedSession(st, addSecret(opaque(9)), sessionguard.TenantApp, 3)
	_, err = g.Authenticate(request(cookie(opaque(9))))
	note(err)
	note(g.SignOut(httptest.NewRecorder(), request(cookie(tok))))
	_, err = g.Authenticate(request(cookie(tok)))
	note(err)

	// A store whose errors quote the hash.
	lg := newGuard(t, leakyStore{}, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel; c.Logger = logger })
	leak := addSecret(opaque(5))
	_, err = lg.Authenticate(request(cookie(leak)))
	note(err)
	_, err = lg.Peek(request(nil, "Bearer "+leak))
	note(err)
	note(lg.SignOut(httptest.NewRecorder(), request(cookie(leak))))
	_, _, err = lg.SignIn(httptest.NewRecorder(), request(cookie(leak)), middleware.SignIn{UserID: 42})
	note(err)
	rec := httptest.NewRecorder()
	lg.Middleware(&probe{}).ServeHTTP(rec, request(cookie(leak)))
	errs = append(errs, rec.Body.String())

	// JWT mode: forged and expired tokens.
	jg := newGuard(t, newFakeStore(), func(c *middleware.Config) { c.JWT = hmacJWT(); c.Logger = logger })
	forged := addSecret(sign(t, jwt.SigningMethodHS256, "k2", []byte("wrong secret, wrong secret, wrong!"), claims("6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e", time.Now())))
	expired := addSecret(sign(t, jwt.SigningMethodHS256, "k2", hmacNew, claims("6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e", time.Now().Add(-9*time.Hour))))
	for _, bad := range []string{forged, expired} {
		_, err = jg.Authenticate(request(cookie(bad)))
		note(err)
	}

	out := logs.String()
	for _, want := range []string{"request refused", "jwt rejected", "sign in failed", "sign out failed", "[REDACTED]"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q; the test is not exercising what it claims:\n%s", want, out)
		}
	}
	for _, sec := range secrets {
		if len(sec) < 8 {
			continue
		}
		if strings.Contains(out, sec) {
			t.Errorf("a token or hash appears in the log:\n%s", out)
		}
		for _, e := range errs {
			if strings.Contains(e, sec) {
				t.Errorf("a token or hash appears in %q", e)
			}
		}
	}
	if len(errs) < 15 {
		t.Errorf("only %d error strings collected", len(errs))
	}
}

// A JWT refused by its claims is logged at Debug level with the failing
// claim named, and without the token.
func TestJWTRefusalLogNamesTheClaim(t *testing.T) {
	t.Parallel()
	const sid = "6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e"
	now := time.Now()
	tests := []struct {
		claim string
		edit  func(jwt.MapClaims)
	}{
		{"exp", func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }},
		{"iss", func(c jwt.MapClaims) { c["iss"] = "https://other.example" }},
		{"aud", func(c jwt.MapClaims) { c["aud"] = []string{"other"} }},
		{"sub", func(c jwt.MapClaims) { c["sub"] = "not-a-user" }},
	}
	for _, tt := range tests {
		t.Run(tt.claim, func(t *testing.T) {
			var logs syncBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			st := newFakeStore()
			g := newGuard(t, st, func(c *middleware.Config) { c.JWT = hmacJWT(); c.Logger = logger })
			c := claims(sid, now)
			tt.edit(c)
			tok := sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
			if _, err := g.Authenticate(request(nil, "Bearer "+tok)); err == nil {
				t.Fatal("accepted")
			}
			line := ""
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "jwt rejected") {
					line = l
				}
			}
			if !strings.Contains(line, "level=DEBUG") || !strings.Contains(line, "cause=") || !strings.Contains(line, tt.claim) {
				t.Fatalf("log %q does not name %q in a debug line", logs.String(), tt.claim)
			}
			if strings.Contains(logs.String(), tok) || st.totalCalls() != 0 {
				t.Fatalf("the log holds the token, or the store was asked (%d calls)", st.totalCalls())
			}
		})
	}
}

// A flood during an outage (an attacker's random tokens, each a store call,
// can cause one by exhausting the pool) must not fill the log at Error:
// every refusal keeps its audit line, but only the first store failure of
// each second is at Error level, with the number of failures logged at
// Info since the previous Error line. Sign-outs, open to anyone, likewise.
func TestOutageFloodLogsErrorOncePerSecond(t *testing.T) {
	var logs syncBuffer
	var events eventLog
	st := newFakeStore()
	st.setErr(errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))
	g := newGuard(t, st, func(c *middleware.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.OnEvent = events.add
	})
	const flood = 300
	start := time.Now()
	for i := range flood {
		r := request(cookie(randomToken(t)))
		if i%2 == 1 {
			if err := g.SignOut(httptest.NewRecorder(), r); !errors.Is(err, middleware.ErrUnavailable) {
				t.Fatalf("SignOut = %v, want ErrUnavailable", err)
			}
			continue
		}
		if code := serve(g, r); code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", code)
		}
	}
	elapsed := time.Since(start)
	text := logs.String()
	errorLines := strings.Count(text, "level=ERROR")
	if max := int(elapsed/time.Second) + 1; errorLines < 1 || errorLines > max {
		t.Errorf("%d lines at Error for %d failures in %v; want 1 to %d", errorLines, flood, elapsed, max)
	}
	if n := strings.Count(text, "request refused"); n != flood/2 {
		t.Errorf("%d refusals logged; want every one of %d", n, flood/2)
	}
	if n := len(events.take()); n != flood/2 {
		t.Errorf("%d events; want %d", n, flood/2)
	}
	if errorLines == 1 && !strings.Contains(text, "failures_since_last_error=0") {
		t.Errorf("the first Error line does not say how many failures it follows; log:\n%s", text)
	}

	// A second later the outage, still on, is at Error again, counting the
	// failures logged at Info meanwhile. A full second after the last
	// failure: the last Error line's second may have begun at any time of
	// the flood (each Error line starts its second), not at start plus
	// whole seconds.
	time.Sleep(time.Second + 10*time.Millisecond)
	logs.reset()
	if code := serve(g, request(cookie(randomToken(t)))); code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", code)
	}
	if text := logs.String(); !strings.Contains(text, "level=ERROR") || strings.Contains(text, "failures_since_last_error=0") {
		t.Errorf("the outage a second later: want an Error line counting the failures before; log:\n%s", text)
	}
}

// deleteFails is an scs store whose Delete fails, as a database down does.
type deleteFails struct{ scs.Store }

func (deleteFails) Delete(string) error {
	return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
}

// With Config.SCS a sign-out also destroys the scs session, a store call of
// its own: during an outage a flood of sign-outs (open to anyone, a
// malformed cookie suffices) must not fill the log at Error either.
func TestOutageFloodOfSCSSignOutsLogsErrorOncePerSecond(t *testing.T) {
	var logs syncBuffer
	sm := goodSessionManager()
	sm.Store = deleteFails{sm.Store}
	g, err := middleware.New(middleware.Config{SCS: sm, Store: newFakeStore(), AppType: sessionguard.ControlPanel,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	signOut := g.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := g.SignOut(w, r); errors.Is(err, middleware.ErrUnavailable) {
			failed++
		}
	}))
	const flood = 150
	start := time.Now()
	for range flood {
		signOut.ServeHTTP(httptest.NewRecorder(), request(cookie("not-a-token")))
	}
	elapsed := time.Since(start)
	if failed != flood {
		t.Fatalf("%d sign-outs failed, want all %d", failed, flood)
	}
	errorLines := strings.Count(logs.String(), "level=ERROR")
	if max := int(elapsed/time.Second) + 1; errorLines < 1 || errorLines > max {
		t.Errorf("%d lines at Error for %d failed sign-outs in %v; want 1 to %d", errorLines, flood, elapsed, max)
	}
}
