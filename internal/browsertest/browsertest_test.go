package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sessionguard/sessionguard/internal/browsertest"
)

// TestSecureCookieOnLoopback records what the browser does with a Secure cookie set
// over plain http://127.0.0.1: Chromium treats loopback as a potentially trustworthy
// origin, so it keeps the cookie and sends it back. The session cookie of the
// middleware is Secure, so browser tests on httptest servers depend on this.
func TestSecureCookieOnLoopback(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/set":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3cret", Path: "/",
				Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
			fmt.Fprint(w, "<!doctype html><title>set</title>set")
		case "/check":
			c, err := r.Cookie("sid")
			got := "absent"
			if err == nil {
				got = c.Value
			}
			fmt.Fprintf(w, "<!doctype html><title>check</title><p id=got>%s</p>", got)
		}
	}))
	defer srv.Close()

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/set"),
		chromedp.Navigate(srv.URL+"/check"),
	); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#got")))
	if err != nil {
		t.Fatal(err)
	}
	if got != "s3cret" {
		t.Fatalf("Secure cookie over http://127.0.0.1: server got %q, want it sent back", got)
	}
	t.Logf("Secure cookie set over %s was kept and sent back", srv.URL)
}

func TestScreenshotAndTabs(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>hi</title><h1>hello</h1><script>localStorage.setItem("k", "v")</script>`)
	}))
	defer srv.Close()

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	p := browsertest.Screenshot(t, ctx, "hello")
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		t.Fatalf("screenshot %s: %v", p, err)
	}
	tab := browsertest.NewTab(t, ctx)
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/other")); err != nil {
		t.Fatal(err)
	}
	v, err := chromedp.Run(tab, chromedp.Evaluate[string](`localStorage.getItem("k")`))
	if err != nil || v != "v" {
		t.Fatalf("second tab: storage = %q, %v; want the first tab's", v, err)
	}
}

// Axe finds what it should: a page with an image without alt text and an
// unlabelled input fails, the same page fixed passes.
func TestAxe(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/bad" {
			fmt.Fprint(w, `<!doctype html><html lang="en"><head><title>Bad</title></head><body><main><h1>Bad</h1>`+
				`<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text"></main></body></html>`)
			return
		}
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><title>Good</title></head><body><main><h1>Good</h1>`+
			`<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A dot"><label>Name <input type="text"></label></main></body></html>`)
	}))
	defer srv.Close()
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/bad")); err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, v := range browsertest.Axe(t, ctx) {
		rules[v.ID] = true
	}
	if !rules["image-alt"] || !rules["label"] {
		t.Fatalf("violations %v, want image-alt and label", rules)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/good")); err != nil {
		t.Fatal(err)
	}
	if vs := browsertest.Axe(t, ctx); len(vs) != 0 {
		t.Fatalf("violations on the fixed page: %v", vs)
	}
}

// TestNewRetriesABrowserThatExitsWhileStarting: a browser that exits before
// it prints its DevTools address (as Chromium once did on a loaded CI
// machine: "chrome failed to start") is started again, and the test goes on
// in the second one. CHROME_PATH is a script that fails its first run.
func TestNewRetriesABrowserThatExitsWhileStarting(t *testing.T) {
	chrome := browsertest.ChromePath(t)
	dir := t.TempDir()
	failed := filepath.Join(dir, "failed-once")
	script := filepath.Join(dir, "chrome-failing-once")
	body := "#!/bin/sh\nif [ ! -e '" + failed + "' ]; then : > '" + failed + "'; echo 'exits while starting' >&2; exit 1; fi\nexec '" + chrome + "' \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHROME_PATH", script)

	ctx := browsertest.New(t)
	if _, err := os.Stat(failed); err != nil {
		t.Fatalf("the first start did not fail; the test proves nothing: %v", err)
	}
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`1 + 1 === 2`)); err != nil || !ok {
		t.Fatalf("the browser of the second start: %v, %v", ok, err)
	}
}
