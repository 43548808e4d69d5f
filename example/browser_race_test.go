package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionguard/sessionguard/internal/browsertest"
)

// 11. A request of the warning script in one tab races a re-authentication
// in another: it left with the session's old cookie and reached the server
// after the re-authentication had rotated that token out, so the server
// refused it (401, X-Session-End-Reason: invalid) although the session is
// live under its new token. Neither tab may sign out: the refused tab asks
// again, now with the browser's new cookie, and goes on. (It ended the
// session in every tab at once: the first answer sent it to the sign-in
// page and told the other tab, the one that had just re-authenticated, to
// follow.) The test holds the tab's request until the other tab has
// re-authenticated, then answers it with the server's own answer to the
// old cookie: what the browser gets when the two requests cross.
func TestBrowserRequestRacingReauthentication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		start  func(t *testing.T, tab2 context.Context) // makes the script in tab2 send the request
	}{
		{"a poll", "GET", "/api/session", func(t *testing.T, tab2 context.Context) {
			browsertest.Eval[bool](t, tab2, `SessionGuardWarning.refresh(), true`)
		}},
		{"Stay signed in", "POST", "/api/session/keepalive", func(t *testing.T, tab2 context.Context) {
			browsertest.WaitJS(t, tab2, dialogVisible, browserIdle)
			if err := chromedp.Do(tab2, chromedp.Click(chromedp.CSS("#sg-stay"))); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startBrowserExample(t)
			tab1 := browsertest.New(t)
			browserSignIn(t, tab1, s, "staff@example.com")
			old := browserCookie(t, tab1, s)
			tab2 := browsertest.NewTab(t, tab1)
			if err := chromedp.Do(tab2, chromedp.Navigate(s.base+"/cp/")); err != nil {
				t.Fatal(err)
			}
			browsertest.WaitJS(t, tab2, `window.SessionGuardWarning && SessionGuardWarning.state().active`, 15*time.Second)

			held := holdRequests(t, tab2, "*"+tt.path)
			tt.start(t, tab2)
			var id fetch.RequestID
			select {
			case id = <-held:
			case <-time.After(browserIdle):
				t.Fatalf("tab 2 sent no %s %s", tt.method, tt.path)
			}

			// Tab 1 re-authenticates: the session gets a new token.
			err := chromedp.Do(tab1,
				chromedp.Navigate(s.base+reauthURL("/cp/")),
				chromedp.WaitVisible(chromedp.CSS("#reauth-password")),
				chromedp.SendKeys(chromedp.CSS("#reauth-password"), testPassword),
				chromedp.Click(chromedp.CSS("#reauthenticate")),
			)
			if err != nil {
				t.Fatal(err)
			}
			browsertest.WaitLocation(t, tab1, s.base+"/cp/", 15*time.Second)
			if now := browserCookie(t, tab1, s); now.Value == old.Value {
				t.Fatal("the re-authentication left the cookie as it was")
			}

			// Tab 2's request reaches the server now, with the old cookie.
			r := s.do(tt.method, tt.path, cookie(old), nil, "Accept", "application/json")
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("the old cookie after the re-authentication: %d, want 401", r.StatusCode)
			}
			var headers []*fetch.HeaderEntry
			for name, vs := range r.Header {
				for _, v := range vs {
					headers = append(headers, &fetch.HeaderEntry{Name: name, Value: v})
				}
			}
			_, err = chromedp.Call(tab2, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: id, ResponseCode: int64(r.StatusCode), ResponseHeaders: headers, Body: r.body})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(tab2, fetch.Disable, cdp.Empty{}); err != nil {
				t.Fatal(err)
			}

			time.Sleep(3 * time.Second) // for the tab to ask again and for a message between the tabs to arrive
			for i, tab := range []context.Context{tab1, tab2} {
				if loc := browsertest.Eval[string](t, tab, `location.href`); loc != s.base+"/cp/" {
					t.Errorf("tab %d went to %s", i+1, loc)
				}
				if browsertest.Eval[bool](t, tab, `SessionGuardWarning.state().ended`) {
					t.Errorf("tab %d counts the live session as ended", i+1)
				}
			}
			// The session's re-authentication was activity: the dialog
			// closes once the tab has the new numbers.
			browsertest.WaitJS(t, tab2, dialogGone, 5*time.Second)
			browsertest.Eval[bool](t, tab2, `SessionGuardWarning.refresh().then(function (st) { window.peeked = st; }), true`)
			browsertest.WaitJS(t, tab2, `window.peeked === 200`, 5*time.Second)
		})
	}
}

// browserCookie is the control panel's cookie that the browser of ctx holds.
func browserCookie(t *testing.T, ctx context.Context, s *exampleServer) *http.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == cpCookie {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("the browser holds no %s cookie", cpCookie)
	return nil
}

// holdRequests holds the tab's requests whose URL matches pattern before
// they leave the browser, and sends the id of each on the returned channel,
// for the test to answer it (fetch.FulfillRequest).
func holdRequests(t *testing.T, ctx context.Context, pattern string) <-chan fetch.RequestID {
	t.Helper()
	held := make(chan fetch.RequestID, 8)
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			select {
			case held <- e.RequestID:
			default:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		t.Fatal(err)
	}
	return held
}
