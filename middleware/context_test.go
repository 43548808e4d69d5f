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
