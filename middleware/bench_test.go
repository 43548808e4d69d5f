package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
)

// Micro-benchmarks of the hot path, without a database:
//
//	go test -run '^$' -bench . -benchmem ./middleware/
//
// BENCHMARKS.md records a run and what each line covers.

// fixedStore answers every check with one valid status: the middleware's
// own cost, with the store's taken out.
type fixedStore struct{ st sessionguard.Status }

func (f *fixedStore) Create(context.Context, sessionguard.NewSession) (sessionguard.SessionInfo, error) {
	return sessionguard.SessionInfo{}, nil
}
func (f *fixedStore) Validate(context.Context, string, sessionguard.Scope) (sessionguard.Status, error) {
	return f.st, nil
}
func (f *fixedStore) Peek(context.Context, string, sessionguard.Scope) (sessionguard.Status, error) {
	return f.st, nil
}
func (f *fixedStore) Revoke(context.Context, string, string) (bool, error) { return false, nil }
func (f *fixedStore) SignOut(context.Context, string) (bool, error)        { return false, nil }
func (f *fixedStore) Reauthenticate(context.Context, sessionguard.Reauthentication) (sessionguard.SessionInfo, bool, error) {
	return sessionguard.SessionInfo{}, false, nil
}

const benchSID = "0b6f5a52-8c1e-4b7a-9d3e-2f1a6c4b8e90"

func newFixedStore(userID int64) *fixedStore {
	now := time.Now()
	return &fixedStore{st: sessionguard.Status{
		State: sessionguard.StateValid, SessionID: benchSID, UserID: userID, AppType: sessionguard.ControlPanel,
		CreatedAt: now, LastActivityAt: now, IdleTimeout: 4 * time.Hour, IdleExpiresAt: now.Add(4 * time.Hour),
		AbsoluteExpiresAt: now.Add(8 * time.Hour), CheckedAt: now,
	}}
}

func benchGuard(b *testing.B, jwtCfg *JWTConfig) *Guard {
	b.Helper()
	g, err := New(Config{Store: newFixedStore(42), JWT: jwtCfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func benchJWTConfig() *JWTConfig {
	return &JWTConfig{
		Keys:     []JWTKey{{ID: "k1", Algorithm: "HS256", SignKey: []byte("0123456789abcdef0123456789abcdef")}},
		Issuer:   "https://auth.bench.example",
		Audience: "panel",
	}
}

func benchJWT(b *testing.B, g *Guard) string {
	b.Helper()
	tok, err := g.jwt.sign(benchSID, 42, 0, time.Now(), 8*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

func benchOpaque(b testing.TB) string {
	b.Helper()
	tok, err := newOpaqueToken()
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// discardWriter is a ResponseWriter that keeps only its header map, cleared
// between requests, so that the benchmark counts the middleware's
// allocations and not a recorder's.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

func BenchmarkExtractCookie(b *testing.B) {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", "theme=dark; "+DefaultCookieName+"="+benchOpaque(b)+"; lang=en")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := extractToken(r, DefaultCookieName, DefaultMaxTokenBytes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtractBearer(b *testing.B) {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+benchOpaque(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := extractToken(r, DefaultCookieName, DefaultMaxTokenBytes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidOpaqueToken(b *testing.B) {
	tok := benchOpaque(b)
	b.ReportAllocs()
	for b.Loop() {
		if !validOpaqueToken(tok) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkJWTVerifyHS256(b *testing.B) {
	g := benchGuard(b, benchJWTConfig())
	tok := benchJWT(b, g)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.jwt.verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashToken(b *testing.B) {
	tok := benchOpaque(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = hashToken(tok)
	}
}

// The work after a valid answer: headers, the Session, the request copy
// with the Session in its context.
func BenchmarkContextAndHeaders(b *testing.B) {
	s := Session{ID: benchSID, UserID: 42, IdleRemaining: 4 * time.Hour, AbsoluteRemaining: 8 * time.Hour}
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		setAcceptedHeaders(w.h, r, s, "300")
		_ = r.WithContext(WithSession(r.Context(), s))
	}
}

func benchMiddleware(b *testing.B, g *Guard, header, value string) {
	b.Helper()
	benchServe(b, g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := SessionFrom(r.Context()); !ok {
			b.Fatal("no session")
		}
	})), header, value, true)
}

// benchServe serves h a request with header set to value, as net/http does:
// each request with a context of its own, cancelled when it is done (what
// the store call's timeout hangs under). accepted: h sets the remaining-time
// headers.
func benchServe(b *testing.B, h http.Handler, header, value string, accepted bool) {
	b.Helper()
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set(header, value)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		ctx, cancel := context.WithCancel(context.Background())
		h.ServeHTTP(w, r.WithContext(ctx))
		cancel()
		if accepted && w.h.Get(HeaderIdleRemaining) == "" {
			b.Fatal("refused")
		}
	}
}

// The request alone, without the Guard: the allocations every benchmark
// above includes (the request's context and copy, as net/http makes them).
func BenchmarkNoAuth(b *testing.B) {
	benchServe(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "Cookie", DefaultCookieName+"="+benchOpaque(b), false)
}

// The whole Middleware in opaque-token mode, store excluded.
func BenchmarkMiddlewareOpaque(b *testing.B) {
	benchMiddleware(b, benchGuard(b, nil), "Cookie", DefaultCookieName+"="+benchOpaque(b))
}

// The whole Middleware in JWT mode (HS256), store excluded: the same token
// on every request, so every one after the first is a hit of the memo of
// verified tokens (jwt_memo.go; JWTVerifyHS256 is the first sight).
func BenchmarkMiddlewareJWT(b *testing.B) {
	g := benchGuard(b, benchJWTConfig())
	benchMiddleware(b, g, "Authorization", "Bearer "+benchJWT(b, g))
}
