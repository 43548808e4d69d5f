package middleware_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/middleware"
)

// TestNewDefaultsLoggerAndDeny: a Config without Logger logs to
// slog.Default() as it is when New runs, and one without Deny answers
// refusals with DenyJSON (README, the Config table).
//
// Not parallel: it replaces the process's default logger, which no other
// test of this package may see meanwhile (parallel tests start only after the
// sequential ones).
func TestNewDefaultsLoggerAndDeny(t *testing.T) {
	var logs syncBuffer
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(previous) })

	st := newFakeStore()
	g, err := middleware.New(middleware.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	g.Middleware(http.NotFoundHandler()).ServeHTTP(rec, request(cookie(tokA)))

	if !strings.Contains(logs.String(), "event=refused") || !strings.Contains(logs.String(), "reason=invalid") {
		t.Errorf("the refusal did not reach slog.Default():\n%s", logs.String())
	}
	want := httptest.NewRecorder()
	middleware.DenyJSON(want, request(cookie(tokA)), middleware.ErrInvalidToken)
	if rec.Code != want.Code || rec.Header().Get("Content-Type") != want.Header().Get("Content-Type") ||
		rec.Body.String() != want.Body.String() {
		t.Errorf("refusal %d %q %s, want DenyJSON's %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body,
			want.Code, want.Header().Get("Content-Type"), want.Body)
	}
}
