package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSecurityHeaders: every response, a page, a JSON answer or a 404,
// carries the security headers, Strict-Transport-Security among them: the
// example is meant to be served through a TLS proxy, and without HSTS a
// first visit typed without https:// can be kept on plain http by whoever
// sits in between, who then serves a look-alike sign-in form. (Browsers
// ignore the header over plain http, RFC 6797 section 8.1, so the loopback
// demo is unaffected.)
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"Content-Security-Policy":   contentSecurityPolicy,
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "same-origin",
		"X-Frame-Options":           "DENY",
		"Strict-Transport-Security": "max-age=31536000",
	}
	for _, h := range []http.Handler{
		http.NotFoundHandler(),
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, apiError{}) }),
	} {
		rec := httptest.NewRecorder()
		securityHeaders(h).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		for name, v := range want {
			if got := rec.Header().Get(name); got != v {
				t.Errorf("%s = %q, want %q", name, got, v)
			}
		}
	}
	if !strings.Contains(contentSecurityPolicy, "frame-ancestors 'none'") {
		t.Errorf("CSP %q allows framing", contentSecurityPolicy)
	}
}
