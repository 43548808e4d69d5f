package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/sessionguard/sessionguard/internal/browsertest"
)

// TestBrowserIgnoresTheRefusalChallenge: the WWW-Authenticate challenge of
// a refusal that carried no bearer token (Bearer realm="sessionguard",
// which every 401 of DenyJSON has, a cookie client's included) asks nothing
// of a browser: Chromium raises no authentication request for it (which
// would be a sign-in dialog) and shows the JSON body, while it does raise
// one for a Basic challenge, the control that shows the test can see one.
func TestBrowserIgnoresTheRefusalChallenge(t *testing.T) {
	t.Parallel()
	g := newGuard(t, newFakeStore(), nil)
	mux := http.NewServeMux()
	mux.Handle("GET /guarded", g.Middleware(okHandler))
	mux.HandleFunc("GET /basic", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="control"`)
		http.Error(w, "basic", http.StatusUnauthorized)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx := browsertest.New(t)
	var (
		mu      sync.Mutex
		schemes = map[string][]string{} // path → the schemes Chromium asked credentials for
	)
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *fetch.EventRequestPaused:
			go func() {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
			}()
		case *fetch.EventAuthRequired:
			mu.Lock()
			path := strings.TrimPrefix(e.Request.URL, srv.URL)
			schemes[path] = append(schemes[path], e.AuthChallenge.Scheme)
			mu.Unlock()
			go func() {
				_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: e.RequestID,
					AuthChallengeResponse: &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseCancelAuth}})
			}()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	handleAuth := true
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handleAuth}); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/basic")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/guarded")); err != nil {
		t.Fatal(err)
	}
	if body := browsertest.Eval[string](t, ctx, `document.body.innerText`); !strings.Contains(body, `"reason":"missing"`) {
		t.Errorf("the refused page shows %q, want its JSON body", body)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := schemes["/basic"]; len(got) == 0 || !strings.EqualFold(got[0], "basic") {
		t.Fatalf("Basic challenge: authentication requests %v, want one for basic (else this test sees none)", got)
	}
	if got := schemes["/guarded"]; len(got) != 0 {
		t.Errorf("the Guard's challenge: authentication requests %v, want none", got)
	}
}
