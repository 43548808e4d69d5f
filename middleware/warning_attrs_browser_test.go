package middleware

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sessionguard/sessionguard/internal/browsertest"
)

// TestWarningScriptAttributes: the script's poll interval is 60 s unless
// data-poll-seconds says otherwise (clamped to 2 s … 1 h), and its tabs share
// the channel data-channel names, by default one named after the peek URL
// (README, "Add the timeout warning to any app"). Read in a real Chromium from
// the state the script reports.
func TestWarningScriptAttributes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		attrs   string // added to the script tag
		pollMs  float64
		channel string
	}{
		{"defaults", "", 60_000, "sessionguard:/api/session"},
		{"poll every 5 s, own channel", ` data-poll-seconds="5" data-channel="my-app"`, 5_000, "my-app"},
		{"poll below the floor", ` data-poll-seconds="1"`, 2_000, "sessionguard:/api/session"},
		{"poll above the ceiling", ` data-poll-seconds="99999"`, 3_600_000, "sessionguard:/api/session"},
	}
	mux := http.NewServeMux()
	mux.Handle("GET /sessionguard/warning.js", WarningScript())
	mux.HandleFunc("GET /api/session", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderIdleRemaining, "3600")
		w.Header().Set(HeaderAbsoluteRemaining, "7200")
		w.Header().Set(HeaderWarningThreshold, "300")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, `{"ok":true}`)
	})
	mux.HandleFunc("GET /page/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= len(tests) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>attributes</title></head><body>
<script src="/sessionguard/warning.js" defer data-peek-url="/api/session" data-keepalive-url="/api/session/keepalive"
  data-logout-url="/logout" data-signin-url="/signin"%s></script></body></html>`, tests[i].attrs)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx := browsertest.New(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/page/"+strconv.Itoa(i))); err != nil {
				t.Fatalf("open page: %v", err)
			}
			browsertest.WaitJS(t, ctx, `window.SessionGuardWarning && SessionGuardWarning.state().active`, 10*time.Second)
			if got := browsertest.Eval[float64](t, ctx, `SessionGuardWarning.state().pollMs`); got != tt.pollMs {
				t.Errorf("poll interval %v ms, want %v", got, tt.pollMs)
			}
			if got := browsertest.Eval[string](t, ctx, `SessionGuardWarning.state().channel`); got != tt.channel {
				t.Errorf("channel %q, want %q", got, tt.channel)
			}
		})
	}
}
