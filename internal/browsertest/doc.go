// Package browsertest runs tests in a real headless Chromium through the Chrome
// DevTools Protocol (github.com/chromedp/chromedp).
//
// Each call of New starts a fresh browser with its own temporary profile, so tests
// that call it may run in parallel. A missing browser fails the test: it is never
// skipped, so CI cannot pass without having run the browser tests.
//
//	ctx := browsertest.New(t)
//	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
//		t.Fatal(err)
//	}
//	browsertest.Screenshot(t, ctx, "home")
//
// RequireAccessible audits the tab's page with axe-core (vendored in axe/,
// injected by the test, never served) and fails on serious or critical
// violations.
package browsertest
