package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// What the on-call engineer reads is all the library emits: log lines (at
// Debug, the most verbose), audit events (both OnEvent hooks), metrics (the
// SDK's data and a Prometheus scrape) and spans. None of it may hold a token
// or its hash (upper or lower case), whatever the path: sign-in, a cache miss
// and hit, a peek, an unknown and a malformed token, sign-out, a request with
// the signed-out token, an idle expiry, a revocation of all of a user's
// sessions, a provider's token recorded and refreshed, a cleanup, and an
// outage, on a real database.
func TestNothingEmittedCarriesATokenOrHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var (
		mu     sync.Mutex
		events []string
	)
	onEvent := func(e sessionguard.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, fmt.Sprintf("%#v", e))
	}
	m := metrictest.New(t)
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	storeCfg := pgstore.Config{MeterProvider: m.Provider, TracerProvider: tp, Logger: logger, OnEvent: onEvent}
	db := newRealDB(t, storeCfg)
	cache, err := pgstore.NewCache(db.store, pgstore.CacheConfig{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	listen(t, cache)
	guard := func(store sessionguard.Store) *middleware.Guard {
		g, err := middleware.New(middleware.Config{Store: store, AppType: sessionguard.ControlPanel,
			MeterProvider: m.Provider, Logger: logger, OnEvent: onEvent})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := guard(cache)

	var secrets []string
	secret := func(tok string) string {
		h := sha256Hex(tok)
		secrets = append(secrets, tok, h, strings.ToUpper(h))
		return tok
	}
	a, b, c := secret(signInUser(t, g, db.user)), secret(signInUser(t, g, db.user)), secret(signInUser(t, g, db.user))
	db.age(t, b, 5*time.Hour) // before the cache sees it
	wantStatus(t, "a, a miss", g, bearer(a), http.StatusOK)
	wantStatus(t, "a, a hit", g, bearer(a), http.StatusOK)
	if _, err := g.Peek(bearer(c)); err != nil {
		t.Fatalf("Peek c: %v", err)
	}
	wantStatus(t, "an unknown token", g, bearer(secret(randomToken(t))), http.StatusUnauthorized)
	wantStatus(t, "a malformed Authorization header", g, bearer(secret("not a token "+randomToken(t))), http.StatusBadRequest)
	if err := g.SignOut(httptest.NewRecorder(), bearer(a)); err != nil {
		t.Fatalf("SignOut a: %v", err)
	}
	wantStatus(t, "a after sign-out", g, bearer(a), http.StatusUnauthorized)
	wantStatus(t, "b after 5 h idle", g, bearer(b), http.StatusUnauthorized)
	d := secret(signInUser(t, g, db.user))
	db.age(t, d, 5*time.Hour)
	cleaner, err := pgstore.NewCleaner(db.pool, pgstore.CleanerConfig{MeterProvider: m.Provider, TracerProvider: tp, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := cleaner.RunOnce(ctx); err != nil || res.Idle != 1 {
		t.Fatalf("cleanup = %+v, %v; want d ended", res, err)
	}
	if n, err := db.store.RevokeAll(sessionguard.WithActor(ctx, db.user), db.user, sessionguard.ReasonPasswordChange); err != nil || n != 1 {
		t.Fatalf("RevokeAll = %d, %v; want c ended", n, err)
	}
	for deadline := time.Now().Add(10 * time.Second); cache.Stats().Entries != 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("RevokeAll's notification did not evict c")
		}
	}
	wantStatus(t, "c after RevokeAll", g, bearer(c), http.StatusUnauthorized)

	// An identity provider's token, recorded, then renewed (Refresh).
	provider := hmacJWT()
	provider.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	provider.SessionIDClaim = "sid"
	pg, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Tokens: middleware.JWTs,
		JWT: provider, MeterProvider: m.Provider, Logger: logger, OnEvent: onEvent})
	if err != nil {
		t.Fatal(err)
	}
	sid, now := randomUUID(t), time.Now()
	providerToken := func(issued time.Time) string {
		cl := claims(sid, now)
		cl["sub"] = strconv.FormatInt(db.user, 10)
		cl["jti"] = randomToken(t)[:22]
		cl["iat"], cl["exp"], cl["auth_time"] = issued.Unix(), now.Add(5*time.Minute).Unix(), now.Add(-time.Hour).Unix()
		return secret(sign(t, jwt.SigningMethodHS256, "k2", hmacNew, cl))
	}
	first, renewed := providerToken(now.Add(-time.Minute)), providerToken(now)
	if _, err := pg.Record(nil, httptest.NewRequest(http.MethodPost, "/login", nil), first, middleware.SignIn{}); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if _, err := pg.Refresh(httptest.NewRecorder(), bearer(first), renewed); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	wantStatus(t, "the renewed token", pg, bearer(renewed), http.StatusOK)
	// Refused step-ups, audited: a renewal taken for a re-authentication (no
	// new auth_time), and the first token, retired, taken for a renewal.
	if _, _, err := pg.Reauthenticate(nil, bearer(renewed), middleware.Reauthentication{Token: providerToken(now)}); !errors.Is(err, middleware.ErrReauthenticationRequired) {
		t.Fatalf("Reauthenticate with a renewal: %v, want ErrReauthenticationRequired", err)
	}
	if _, err := pg.Refresh(nil, bearer(renewed), first); !errors.Is(err, middleware.ErrReauthenticationRequired) {
		t.Fatalf("Refresh with the retired first token: %v, want ErrReauthenticationRequired", err)
	}

	closed, err := pgxpool.NewWithConfig(ctx, db.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	storeCfg.Logger = logger
	down, err := pgstore.New(closed, storeCfg)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "the database down", guard(down), bearer(c), http.StatusServiceUnavailable)
	if _, _, err := guard(down).SignIn(nil, httptest.NewRequest(http.MethodPost, "/login", nil),
		middleware.SignIn{UserID: db.user, AppType: sessionguard.ControlPanel}); err == nil {
		t.Fatal("SignIn with the database down succeeded")
	}

	var spanText strings.Builder
	for _, s := range spans.GetSpans() {
		fmt.Fprintf(&spanText, "%s %v %v %v %v\n", s.Name, s.Attributes, s.Events, s.Status, s.Links)
	}
	mu.Lock()
	emitted := map[string]string{
		"logs":    logs.String(),
		"events":  strings.Join(events, "\n"),
		"metrics": fmt.Sprintf("%+v", m.Collect(t)),
		"scrape":  m.Exposition(t),
		"spans":   spanText.String(),
	}
	mu.Unlock()
	// The test must have seen each kind of output, or it proves nothing.
	for what, mustHave := range map[string][]string{
		"logs": {"session created", "request refused", "session revoked", "session refreshed", "reauthentication refused", "refresh refused", "sessionguard: cleanup"},
		"events": {`Kind:"created"`, `Kind:"refused"`, `Kind:"expired"`, `Kind:"revoked"`, `Kind:"refreshed", Reason:"", EndReason:"", Count:1, SessionID:"` + sid + `"`,
			`Kind:"refused", Reason:"reauthentication_refused", EndReason:"", Count:1, SessionID:"` + sid + `"`,
			`Kind:"refused", Reason:"refresh_refused", EndReason:"", Count:1, SessionID:"` + sid + `"`},
		"metrics": {"sessionguard.validations", "sessionguard.revocations"},
		"scrape":  {"sessionguard_validations_total", "sessionguard_store_duration_seconds_bucket"},
		"spans":   {"pgstore.Validate", "pgstore.Cleaner.RunOnce", "pgstore.Create"},
	} {
		for _, w := range mustHave {
			if !strings.Contains(emitted[what], w) {
				t.Errorf("%s lack %q: the paths were not driven", what, w)
			}
		}
	}
	for what, text := range emitted {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contain a token or hash %q", what, s)
			}
		}
	}
}
