package middleware_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// A Guard with a session limit ends the least recently active session at
// the limit, and that session's next request is refused saying why; with
// RefuseNewSession the sign-in fails instead, as a limit, not an outage.
func TestSessionLimitOnTheGuard(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	var (
		mu     sync.Mutex
		events []sessionguard.Event
	)
	guard := func(action sessionguard.LimitAction) *middleware.Guard {
		g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard,
			SessionLimit: sessionguard.SessionLimit{Max: 2, AtLimit: action},
			OnEvent: func(e sessionguard.Event) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
			}})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}

	g := guard(sessionguard.EndLeastRecentlyActive)
	first := signInUser(t, g, db.user)
	second := signInUser(t, g, db.user)
	third := signInUser(t, g, db.user)

	rec := do(g.Middleware(okHandler), "GET", "/", withCookie(first))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("evicted session: %d", rec.Code)
	}
	if b := refusal(t, rec); b.Reason != "revoked" || b.EndReason != sessionguard.ReasonSessionLimit {
		t.Fatalf("evicted session's refusal %+v, want revoked/session_limit", b)
	}
	if got := rec.Header().Get(middleware.HeaderRevokeReason); got != sessionguard.ReasonSessionLimit {
		t.Fatalf("%s = %q, want session_limit for scripts", middleware.HeaderRevokeReason, got)
	}
	for _, tok := range []string{second, third} {
		if rec := do(g.Middleware(okHandler), "GET", "/", withCookie(tok)); rec.Code != http.StatusOK {
			t.Fatalf("kept session: %d", rec.Code)
		}
	}

	refusing := guard(sessionguard.RefuseNewSession)
	mu.Lock()
	events = nil
	mu.Unlock()
	token, s, err := refusing.SignIn(nil, nil, middleware.SignIn{UserID: db.user})
	if !errors.Is(err, sessionguard.ErrSessionLimit) || errors.Is(err, middleware.ErrUnavailable) || token != "" || s.ID != "" {
		t.Fatalf("sign-in at the limit: %q, %v, %v; want ErrSessionLimit", token, s, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0].Kind != sessionguard.EventRefused || events[0].Reason != sessionguard.ReasonSessionLimit || events[0].UserID != db.user {
		t.Fatalf("events %+v", events)
	}
	if strings.Contains(err.Error(), "pgstore") {
		t.Errorf("error %q speaks of the store", err)
	}
}

func TestConfigRejectsBadSessionLimits(t *testing.T) {
	t.Parallel()
	for _, l := range []sessionguard.SessionLimit{{Max: -1}, {Max: 1 << 30}, {Max: 3, AtLimit: 9}} {
		_, err := middleware.New(middleware.Config{Store: newFakeStore(), SessionLimit: l})
		if err == nil || !strings.HasPrefix(err.Error(), "middleware: config:") {
			t.Errorf("SessionLimit %+v: %v", l, err)
		}
	}
}
