package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionguard/sessionguard/internal/browsertest"
)

// 12. No refusal of the example makes Chromium ask for credentials (a
// sign-in dialog), whichever way the page meets it: a navigation, fetch,
// XMLHttpRequest or an iframe, a cookie client (the bare Bearer challenge)
// or a bearer client (invalid_token; RFC 9470's step-up challenge of GET
// /api/sessions). A Basic challenge from another server is the control:
// Chromium does raise an authentication request for it, so the test sees one
// when there is one.
func TestBrowserAsksForNoCredentials(t *testing.T) {
	t.Parallel()
	s := startBrowserExample(t)
	stale := s.login("staff@example.com", "control_panel", 0)
	s.ageAuth(stale.id, 2*defaultReauthWindow) // GET /api/sessions asks for a new authentication
	basic := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="control"`)
		http.Error(w, "basic", http.StatusUnauthorized)
	}))
	t.Cleanup(basic.Close)

	ctx := browsertest.New(t)
	w := watchAuth(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/")); err != nil {
		t.Fatal(err)
	}

	const (
		fetchJS  = `fetch(URL, {credentials: CRED, headers: HEADERS}).then(function (r) { window.answer = r.status + ' ' + r.headers.get('WWW-Authenticate') + ' | ' + r.headers.get('X-Session-Reauthentication'); }), true`
		xhrJS    = `(function () { var x = new XMLHttpRequest(); x.open('GET', URL); x.withCredentials = true; x.onloadend = function () { window.answer = x.status + ' ' + x.getResponseHeader('WWW-Authenticate') + ' | ' + x.getResponseHeader('X-Session-Reauthentication'); }; x.send(); return true; })()`
		iframeJS = `(function () { var f = document.createElement('iframe'); f.src = URL; f.onload = function () { window.answer = 'loaded'; }; document.body.appendChild(f); return true; })()`
	)
	tests := []struct {
		name      string
		url       string
		cookie    bool   // the browser holds the stale session's cookie
		js        string // "" navigates to url
		challenge string // what the refusal's WWW-Authenticate starts with; "" for the control
		control   bool   // the Basic challenge: Chromium must raise a request
	}{
		{"control: Basic", basic.URL + "/basic", false, "", "", true},
		{"navigation, no session", s.base + "/api/me?row=navigation", false, "", `Bearer realm=`, false},
		{"navigation, step-up with the cookie", s.base + "/api/sessions?row=navigation-stepup", true, "", `Bearer realm=`, false},
		{"fetch, no session", s.base + "/api/me?row=fetch", false, fetchJS, `Bearer realm=`, false},
		{"fetch, a bearer token of no session", s.base + "/api/me?row=fetch-bearer", false,
			strings.Replace(fetchJS, "HEADERS", `{Authorization: 'Bearer ' + 'A'.repeat(43)}`, 1), `Bearer realm="sessionguard", error="invalid_token"`, false},
		{"fetch, step-up with a bearer token", s.base + "/api/sessions?row=fetch-stepup", false,
			strings.Replace(fetchJS, "HEADERS", `{Authorization: 'Bearer `+stale.token+`'}`, 1), `Bearer realm="sessionguard", error="insufficient_user_authentication"`, false},
		{"fetch, step-up with the cookie", s.base + "/api/sessions?row=fetch-stepup-cookie", true, fetchJS, `Bearer realm="sessionguard"`, false},
		{"XMLHttpRequest, no session", s.base + "/api/session?row=xhr", false, xhrJS, `Bearer realm=`, false},
		{"iframe, no session", s.base + "/api/me?row=iframe", false, iframeJS, "", false},
		{"iframe, step-up with the cookie", s.base + "/api/sessions?row=iframe-stepup", true, iframeJS, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
				t.Fatal(err)
			}
			if tt.cookie {
				yes := true
				_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: cpCookie, Value: stale.token,
					URL: s.base + "/", Secure: &yes, HTTPOnly: &yes})
				if err != nil {
					t.Fatal(err)
				}
			}
			if tt.js == "" {
				if err := chromedp.Do(ctx, chromedp.Navigate(tt.url)); err != nil {
					t.Fatal(err)
				}
				if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/")); err != nil {
					t.Fatal(err)
				}
			} else {
				js := strings.NewReplacer("URL", `'`+tt.url+`'`, "CRED", `'`+map[bool]string{true: "same-origin", false: "omit"}[tt.cookie]+`'`,
					"HEADERS", "{}").Replace(tt.js)
				browsertest.Eval[bool](t, ctx, `window.answer = null, true`)
				browsertest.Eval[bool](t, ctx, js)
				browsertest.WaitJS(t, ctx, `window.answer !== null`, 10*time.Second)
				got := browsertest.Eval[string](t, ctx, `window.answer`)
				if tt.challenge != "" && !strings.HasPrefix(got, "401 "+tt.challenge) {
					t.Errorf("the page got %q, want 401 with a challenge starting %s", got, tt.challenge)
				}
				if stepUp := strings.Contains(tt.url, "stepup"); tt.challenge != "" && stepUp != strings.HasSuffix(got, "| reauthentication_required") {
					t.Errorf("the page got %q; a step-up refusal: %t", got, stepUp)
				}
			}
			status, schemes := w.seen(t, tt.url)
			if status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", status)
			}
			switch {
			case tt.control && (len(schemes) == 0 || !strings.EqualFold(schemes[0], "basic")):
				t.Fatalf("authentication requests %v, want one for basic (else this test sees none)", schemes)
			case !tt.control && len(schemes) != 0:
				t.Errorf("authentication requests %v, want none", schemes)
			}
		})
	}
}

// authWatch records, per URL, the status of the tab's responses and the
// schemes Chromium raised an authentication request for (each cancelled, as
// a person closing the dialog would).
type authWatch struct {
	mu      sync.Mutex
	status  map[string]int64
	schemes map[string][]string
}

func watchAuth(t *testing.T, ctx context.Context) *authWatch {
	t.Helper()
	w := &authWatch{status: map[string]int64{}, schemes: map[string][]string{}}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventResponseReceived:
			w.mu.Lock()
			w.status[e.Response.URL] = e.Response.Status
			w.mu.Unlock()
		case *fetch.EventRequestPaused:
			go func() {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
			}()
		case *fetch.EventAuthRequired:
			w.mu.Lock()
			w.schemes[e.Request.URL] = append(w.schemes[e.Request.URL], e.AuthChallenge.Scheme)
			w.mu.Unlock()
			go func() {
				_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: e.RequestID,
					AuthChallengeResponse: &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseCancelAuth}})
			}()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	handleAuth := true
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handleAuth}); err != nil {
		t.Fatal(err)
	}
	return w
}

// seen waits for the response to url and returns its status and the
// authentication requests raised for it.
func (w *authWatch) seen(t *testing.T, url string) (int64, []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		status, schemes := w.status[url], append([]string(nil), w.schemes[url]...)
		w.mu.Unlock()
		if status != 0 || time.Now().After(deadline) {
			return status, schemes
		}
		time.Sleep(50 * time.Millisecond)
	}
}
