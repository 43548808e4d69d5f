package middleware

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSessionNeverShowsItsHash(t *testing.T) {
	s := Session{ID: "id-1", UserID: 7, tokenHash: hashToken("tok")}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "session", s)
	for _, out := range []string{fmt.Sprintf("%v|%+v|%#v|%s", s, s, s, s), buf.String()} {
		if strings.Contains(out, s.tokenHash) {
			t.Errorf("hash shown in %q", out)
		}
		if !strings.Contains(out, "id-1") {
			t.Errorf("session id missing from %q", out)
		}
	}
}

func TestSessionFrom(t *testing.T) {
	if _, ok := SessionFrom(context.Background()); ok {
		t.Error("session in an empty context")
	}
	ctx := WithSession(context.Background(), Session{UserID: 9})
	if s, ok := SessionFrom(ctx); !ok || s.UserID != 9 {
		t.Errorf("SessionFrom = %v, %v", s, ok)
	}
	// A value stored under an equal-looking key of another type is not ours.
	ctx = context.WithValue(context.Background(), contextKey{"session"}, Session{UserID: 1})
	if _, ok := SessionFrom(ctx); ok {
		t.Error("SessionFrom read a foreign key")
	}
	if got := sessionKey.String(); !strings.Contains(got, "session") {
		t.Errorf("key String() = %q", got)
	}
}

// WithSession's context (one allocation, not WithValue's two) behaves as
// WithValue's: the session is found through contexts derived from it, the
// parent's values, deadline and cancellation pass through, and printing it
// shows neither the session nor its hash.
func TestWithSessionContext(t *testing.T) {
	type otherKey struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "v"))
	s := Session{ID: "id-2", UserID: 11, tokenHash: hashToken("tok2")}
	ctx := WithSession(parent, s)
	derived, stop := context.WithCancel(context.WithValue(ctx, otherKey{}, "w"))
	defer stop()
	if got, ok := SessionFrom(derived); !ok || got.UserID != 11 {
		t.Fatalf("SessionFrom(derived) = %v, %v", got, ok)
	}
	if ctx.Value(otherKey{}) != "v" || derived.Value(otherKey{}) != "w" {
		t.Fatal("the parent's values do not pass through")
	}
	if shown := fmt.Sprint(ctx); strings.Contains(shown, s.tokenHash) || strings.Contains(shown, "id-2") {
		t.Fatalf("the context prints the session: %q", shown)
	}
	cancel()
	<-derived.Done()
	if ctx.Err() == nil {
		t.Fatal("the parent's cancellation does not pass through")
	}
}
