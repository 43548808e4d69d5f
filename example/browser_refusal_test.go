package main

import (
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/internal/browsertest"
)

// 13. Refusals that end nothing leave the signed-in tab alone. The warning
// script reads every same-origin response of the page: a malformed
// Authorization header's 400 (X-Session-End-Reason: malformed_request), a
// step-up 401 (X-Session-Reauthentication, no end reason) and another app's
// API, which has no credential of this session and answers 401 "missing",
// are not this session's end. (The last signed the tab out, and every tab
// with it, before the script confirmed a refusal that names no end with a
// peek of its own.)
func TestBrowserRefusalsThatEndNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fetch  string // the page's request: fetch's arguments
		status int
	}{
		{"malformed Authorization header", `'/api/me', {headers: {Authorization: 'Bearer two tokens'}}`, 400},
		{"step-up", `'/api/sessions'`, 401},
		{"another app's API", `'/t/acme/api/me'`, 401},
	}
	s := startBrowserExample(t)
	ctx := browsertest.New(t)
	id := browserSignIn(t, ctx, s, "staff@example.com")
	s.ageAuth(id, 2*defaultReauthWindow) // GET /api/sessions asks for a new authentication
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			browsertest.Eval[bool](t, ctx, `window.answer = null, fetch(`+tt.fetch+`).then(function (r) { window.answer = r.status; }), true`)
			browsertest.WaitJS(t, ctx, `window.answer !== null`, 5*time.Second)
			if got := browsertest.Eval[int](t, ctx, `window.answer`); got != tt.status {
				t.Fatalf("the request got %d, want %d", got, tt.status)
			}
			time.Sleep(2 * time.Second) // past the script's second peek
			if loc := browsertest.Eval[string](t, ctx, `location.href`); loc != s.base+"/cp/" {
				t.Fatalf("the tab went to %s", loc)
			}
			if !browsertest.Eval[bool](t, ctx, `SessionGuardWarning.state().active && !SessionGuardWarning.state().ended`) {
				t.Fatal("the script counts the live session as ended")
			}
		})
	}
}
