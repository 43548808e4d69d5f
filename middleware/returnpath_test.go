package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/middleware"
)

// Every value that a browser could take to another site falls back; local
// paths pass unchanged.
func TestLocalPath(t *testing.T) {
	t.Parallel()
	local := []string{
		"/",
		"/account",
		"/admin/users?tab=2&q=a%20b",
		"/t/acme/settings#security",
		"/%2F%2Fevil.example", // one path segment of this site, percent-encoded
		"/a/../b",
		"/caf%C3%A9",
	}
	hostile := []string{
		"",
		"//evil.example",
		"//evil.example/path",
		"/\\evil.example",
		"\\\\evil.example",
		"/\t/evil.example",
		"/\n/evil.example",
		"/\r\n/evil.example",
		" /evil",
		"https://evil.example/",
		"http:/evil.example",
		"javascript:alert(1)",
		"JavaScript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"evil.example",
		"./account",
		"../account",
		"?next=/",
		"#x",
		"/path\\with\\backslashes",
		"/caf\u00e9",
		"/nul\x00byte",
		"/" + strings.Repeat("a", 2048),
		"//",
		"///evil.example",
	}
	for _, p := range local {
		if got := middleware.LocalPath(p, "FALLBACK"); got != p {
			t.Errorf("LocalPath(%q) = %q, want it unchanged", p, got)
		}
	}
	for _, p := range hostile {
		if got := middleware.LocalPath(p, "FALLBACK"); got != "FALLBACK" {
			t.Errorf("LocalPath(%q) = %q, want the fallback", p, got)
		}
	}
	// "/@evil.example" is a path of this site (the "@" needs a "//" before
	// it to name a user), so it passes, and the browser stays here.
	if got := middleware.LocalPath("/@evil.example", "FALLBACK"); got != "/@evil.example" {
		t.Errorf("LocalPath(/@evil.example) = %q", got)
	}
	// Whatever passes resolves to this site.
	base, _ := url.Parse("https://app.example/current/page")
	for _, p := range local {
		u, err := base.Parse(middleware.LocalPath(p, "/"))
		if err != nil || u.Host != "app.example" || u.Scheme != "https" {
			t.Errorf("%q resolves to %v (%v)", p, u, err)
		}
	}
}

// The return path of the redirect is the refused request's own path, made
// local: a request to a path that would leave the site returns home.
func TestRedirectToReauthenticateReturnPath(t *testing.T) {
	t.Parallel()
	deny := middleware.RedirectToReauthenticate("/reauth?lang=en", nil)
	tests := []struct {
		requestURI string
		wantReturn string
	}{
		{"/settings/password", "/settings/password"},
		{"/admin?x=1&y=%2F", "/admin?x=1&y=%2F"},
		{"//evil.example/x", "/"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RequestURI = tt.requestURI
		r.URL, _ = url.ParseRequestURI(tt.requestURI)
		rec := httptest.NewRecorder()
		deny(rec, r, middleware.ErrReauthenticationRequired)
		loc, err := url.Parse(rec.Header().Get("Location"))
		if rec.Code != http.StatusSeeOther || err != nil || loc.Path != "/reauth" || loc.Query().Get("lang") != "en" ||
			loc.Query().Get(middleware.ReturnParam) != tt.wantReturn {
			t.Errorf("%s: %d to %q, want return %q", tt.requestURI, rec.Code, rec.Header().Get("Location"), tt.wantReturn)
		}
	}
	// Any other refusal goes to the fallback (DenyJSON here).
	rec := httptest.NewRecorder()
	deny(rec, httptest.NewRequest("GET", "/x", nil), middleware.ErrMissingToken)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get(middleware.HeaderEndReason) != "missing" {
		t.Errorf("missing token: %d %v", rec.Code, rec.Header())
	}
}

// The return path is the one the browser asked for, also when the page is
// mounted under http.StripPrefix, which cuts r.URL down to what the handler
// sees: returning to the cut path lands on another page (or a 404). A
// request-target in absolute form returns to its path and query.
func TestRedirectToReauthenticateReturnsUnderStripPrefix(t *testing.T) {
	t.Parallel()
	deny := middleware.RedirectToReauthenticate("/reauth", nil)
	mux := http.NewServeMux()
	mux.Handle("/app/", http.StripPrefix("/app", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deny(w, r, middleware.ErrReauthenticationRequired)
	})))
	tests := []struct {
		target     string // the request-target, as the client sent it
		wantReturn string
	}{
		{"/app/settings/password", "/app/settings/password"},
		{"/app/admin?x=1&y=%2F", "/app/admin?x=1&y=%2F"},
		{"http://example.com/app/admin?x=1", "/app/admin?x=1"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
		loc, err := url.Parse(rec.Header().Get("Location"))
		if rec.Code != http.StatusSeeOther || err != nil || loc.Query().Get(middleware.ReturnParam) != tt.wantReturn {
			t.Errorf("%s: %d to %q, want return %q", tt.target, rec.Code, rec.Header().Get("Location"), tt.wantReturn)
		}
	}
}

func TestRedirectToReauthenticatePanicsOnAForeignPage(t *testing.T) {
	t.Parallel()
	for _, page := range []string{"", "reauth", "//evil.example/reauth", "https://evil.example/reauth"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RedirectToReauthenticate(%q) did not panic", page)
				}
			}()
			middleware.RedirectToReauthenticate(page, nil)
		}()
	}
}
