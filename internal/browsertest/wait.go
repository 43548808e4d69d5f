package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// WaitJS polls a JavaScript expression in the page until it is truthy, and
// fails the test after timeout. It keeps polling through navigations, when
// there is briefly no page to ask.
func WaitJS(t testing.TB, ctx context.Context, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")")); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waiting %v for %s (last error: %v)", timeout, expr, err)
}

// Eval evaluates a JavaScript expression in the page, failing the test on
// error.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// WaitLocation waits until the tab's URL ends with want, across navigations,
// and returns it; it fails the test after timeout.
func WaitLocation(t testing.TB, ctx context.Context, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var loc string
	for time.Now().Before(deadline) {
		if l, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
			loc = l
			if strings.HasSuffix(loc, want) {
				return loc
			}
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("after %v the tab is at %q, want a URL ending with %q", timeout, loc, want)
	return ""
}
