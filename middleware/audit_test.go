package middleware_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// eventLog collects events from both hooks.
type eventLog struct {
	mu     sync.Mutex
	events []sessionguard.Event
}

func (l *eventLog) add(e sessionguard.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) take() []sessionguard.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

// TestAuditTrail follows a session's life through the real store and checks
// the event each step leaves, and that the log carries no token or hash.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var events eventLog
	db := newRealDB(t, pgstore.Config{Logger: logger, OnEvent: events.add})
	g := newGuard(t, db.store, func(c *middleware.Config) {
		c.AppType = sessionguard.ControlPanel
		c.Logger = logger
		c.OnEvent = events.add
	})
	var secrets []string
	from := func(r *http.Request) *http.Request { r.RemoteAddr = "192.0.2.10:5555"; return r }

	expect := func(t *testing.T, want sessionguard.Event) {
		t.Helper()
		got := events.take()
		if len(got) != 1 {
			t.Fatalf("events %+v, want one %s", got, want.Kind)
		}
		e := got[0]
		if e.Kind != want.Kind || e.Reason != want.Reason || e.EndReason != want.EndReason || e.SessionID != want.SessionID ||
			e.UserID != want.UserID || e.ActorID != want.ActorID || e.IP != want.IP || e.Count != want.Count {
			t.Fatalf("event %+v, want %+v", e, want)
		}
	}

	// created
	rec := httptest.NewRecorder()
	tok, s, err := g.SignIn(rec, from(httptest.NewRequest(http.MethodPost, "/login", nil)), middleware.SignIn{UserID: db.user})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok)
	expect(t, sessionguard.Event{Kind: sessionguard.EventCreated, Count: 1, SessionID: s.ID, UserID: db.user, IP: "192.0.2.10"})

	// touched: no event
	if code := serve(g, from(hostileRequest(ck("__Host-session="+tok)))); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got := events.take(); len(got) != 0 {
		t.Fatalf("a valid request left events %+v", got)
	}

	// refused, with the client address
	bad := randomToken(t)
	secrets = append(secrets, bad)
	serve(g, from(hostileRequest(auth("Bearer "+bad))))
	expect(t, sessionguard.Event{Kind: sessionguard.EventRefused, Reason: middleware.ErrInvalidToken.Reason, IP: "192.0.2.10"})

	// revoked by the user: the store's event, the user as actor
	signOut := from(hostileRequest(ck("__Host-session=" + tok)))
	signOut = signOut.WithContext(middleware.WithSession(signOut.Context(), s))
	if err := g.SignOut(httptest.NewRecorder(), signOut); err != nil {
		t.Fatal(err)
	}
	expect(t, sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: "logout", Count: 1, SessionID: s.ID, UserID: db.user, ActorID: db.user})
	serve(g, from(hostileRequest(ck("__Host-session="+tok))))
	expect(t, sessionguard.Event{Kind: sessionguard.EventRefused, Reason: middleware.ErrRevoked.Reason, EndReason: "logout", Count: 1, SessionID: s.ID, UserID: db.user, IP: "192.0.2.10"})

	// revoked by an admin, who is named
	tok2, s2, err := g.SignIn(nil, nil, middleware.SignIn{UserID: db.user})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok2)
	events.take()
	const admin = 7
	if ok, err := db.store.RevokeSession(sessionguard.WithActor(ctx, admin), s2.ID, sessionguard.ReasonAdminRevoke); err != nil || !ok {
		t.Fatalf("RevokeSession = %v, %v", ok, err)
	}
	expect(t, sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: "admin_revoke", Count: 1, SessionID: s2.ID, UserID: db.user, ActorID: admin})

	// expired, found by a request
	tok3, s3, err := g.SignIn(nil, nil, middleware.SignIn{UserID: db.user})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok3)
	events.take()
	if _, err := db.pool.Exec(ctx, "UPDATE sessions SET last_activity_at = now() - interval '5 hours' WHERE id = $1", s3.ID); err != nil {
		t.Fatal(err)
	}
	serve(g, from(hostileRequest(auth("Bearer "+tok3))))
	expect(t, sessionguard.Event{Kind: sessionguard.EventExpired, Reason: middleware.ErrIdleTimeout.Reason, Count: 1, SessionID: s3.ID, UserID: db.user, IP: "192.0.2.10"})

	// account disabled: every session in one call, one event
	for range 3 {
		tk, _, err := g.SignIn(nil, nil, middleware.SignIn{UserID: db.user})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, tk)
	}
	events.take()
	if n, err := db.store.RevokeAll(sessionguard.WithActor(ctx, admin), db.user, "account_disabled"); err != nil || n != 3 {
		t.Fatalf("RevokeAll = %d, %v; want 3", n, err)
	}
	expect(t, sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: "account_disabled", Count: 3, UserID: db.user, ActorID: admin})

	out := logs.String()
	for _, want := range []string{`"event":"created"`, `"event":"refused"`, `"event":"revoked"`, `"event":"expired"`, `"actor_id":7`, `"client_ip":"192.0.2.10"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
	for _, tk := range secrets {
		sum := sha256.Sum256([]byte(tk))
		if strings.Contains(out, tk) || strings.Contains(out, hex.EncodeToString(sum[:])) {
			t.Fatalf("a token or its hash is in the log:\n%s", out)
		}
	}
}
