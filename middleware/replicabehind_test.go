package middleware_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// behindStore makes every change the fake store makes, then reports it as
// a store with a lagging read replica does (pgstore past ReplayWait): the
// result with sessionguard.ErrReplicaBehind.
type behindStore struct{ *fakeStore }

var errBehind = fmt.Errorf("pgstore: revoke: %w within 10s: context deadline exceeded", sessionguard.ErrReplicaBehind)

func (b behindStore) Create(ctx context.Context, n sessionguard.NewSession) (sessionguard.SessionInfo, error) {
	info, err := b.fakeStore.Create(ctx, n)
	if err != nil {
		return info, err
	}
	return info, errBehind
}

func (b behindStore) Reauthenticate(ctx context.Context, r sessionguard.Reauthentication) (sessionguard.SessionInfo, bool, error) {
	info, rotated, err := b.fakeStore.Reauthenticate(ctx, r)
	if err != nil || !rotated {
		return info, rotated, err
	}
	return info, true, errBehind
}

func (b behindStore) Revoke(ctx context.Context, hash, reason string) (bool, error) {
	ended, err := b.fakeStore.Revoke(ctx, hash, reason)
	if err != nil || !ended {
		return ended, err
	}
	return true, errBehind
}

func (b behindStore) SignOut(ctx context.Context, hash string) (bool, error) {
	ended, err := b.fakeStore.SignOut(ctx, hash)
	if err != nil || !ended {
		return ended, err
	}
	return true, errBehind
}

// TestReplicaBehindIsDone: a change the store made but its read replica
// has not replayed yet (sessionguard.ErrReplicaBehind) is done for the
// user: the sign-in hands out its token, the sign-out succeeds and clears
// the cookie, the re-authentication hands out the new token (the old one
// is dead by then) — each with a warning for the operator that names no
// token or hash.
func TestReplicaBehindIsDone(t *testing.T) {
	st := newFakeStore()
	var logs bytes.Buffer
	g := panelGuard(t, behindStore{st}, func(c *middleware.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	secrets := func(tokens ...string) {
		t.Helper()
		for _, tok := range tokens {
			if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), sha256Hex(tok)) {
				t.Errorf("a token or its hash in the log: %s", logs.String())
			}
		}
	}
	warned := func(op string) {
		t.Helper()
		want := "sessionguard: " + op + " done, but the read replica has not replayed it yet"
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), want) {
			t.Errorf("log %q; want a warning %q", logs.String(), want)
		}
		logs.Reset()
	}

	rec := httptest.NewRecorder()
	tok, s, err := g.SignIn(rec, request(nil), middleware.SignIn{UserID: 42})
	if err != nil || tok == "" || rec.Header().Get("Set-Cookie") == "" {
		t.Fatalf("SignIn = %q, %v, cookie %q; want a token and its cookie", tok, err, rec.Header().Get("Set-Cookie"))
	}
	if got, err := g.Authenticate(request(cookie(tok))); err != nil || got.ID != s.ID {
		t.Fatalf("the new session: %v, %v", got, err)
	}
	secrets(tok)
	warned("sign in")

	req := httptest.NewRequest(http.MethodPost, "/reauth", nil)
	req.Header.Set("Cookie", cookie(tok)[0])
	rec = httptest.NewRecorder()
	reauthRoutes(g).ServeHTTP(rec, req)
	fresh := rec.Body.String()
	if rec.Code != http.StatusOK || fresh == "" || fresh == tok || !strings.Contains(rec.Header().Get("Set-Cookie"), fresh) {
		t.Fatalf("Reauthenticate: %d %q, cookie %q; want 200, a new token and its cookie", rec.Code, fresh, rec.Header().Get("Set-Cookie"))
	}
	if _, err := g.Authenticate(request(cookie(tok))); err == nil {
		t.Error("the old token still signs in after the re-authentication")
	}
	if _, err := g.Authenticate(request(cookie(fresh))); err != nil {
		t.Errorf("the new token: %v", err)
	}
	secrets(tok, fresh)
	warned("reauthenticate")

	rec = httptest.NewRecorder()
	if err := g.SignOut(rec, request(cookie(fresh))); err != nil {
		t.Fatalf("SignOut: %v; want nil, the session ended", err)
	}
	if got := rec.Header().Values("Set-Cookie"); len(got) != 1 || got[0] != clearCookie {
		t.Errorf("Set-Cookie = %q, want %q", got, clearCookie)
	}
	if _, err := g.Authenticate(request(cookie(fresh))); err == nil {
		t.Error("the session signs in after the sign-out")
	}
	secrets(fresh)
	warned("sign out")
}
