package middleware_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// Config.TokenSource replaces the cookie and bearer extraction; the rest of
// the decision is the Guard's.
func TestConfigTokenSource(t *testing.T) {
	t.Parallel()
	const live, revoked = "live", "revoked"
	cases := []struct {
		name       string
		source     middleware.SourcedToken
		sourceErr  error
		wantStatus int
		wantReason string
		wantEnd    string
		wantCall   string // the store method called, "" for none
		challenge  bool   // WWW-Authenticate expected
	}{
		{name: "valid", source: middleware.SourcedToken{Value: live}, wantStatus: 200, wantCall: "Validate"},
		{name: "valid bearer", source: middleware.SourcedToken{Value: live, Bearer: true}, wantStatus: 200, wantCall: "Validate"},
		{name: "none", wantStatus: 401, wantReason: "missing"},
		{name: "none, bearer client", source: middleware.SourcedToken{Bearer: true}, wantStatus: 401, wantReason: "missing", challenge: true},
		{name: "malformed", source: middleware.SourcedToken{Value: "a b"}, wantStatus: 401, wantReason: "invalid"},
		{name: "source refuses", sourceErr: middleware.ErrInvalidToken, wantStatus: 401, wantReason: "invalid"},
		{name: "source fails", sourceErr: errors.New("boom"), wantStatus: 503, wantReason: "unavailable"},
		{name: "ended token of a live session", source: middleware.SourcedToken{Value: live, Ended: true},
			wantStatus: 401, wantReason: "invalid", wantCall: "Peek"},
		{name: "ended token of a revoked session", source: middleware.SourcedToken{Value: revoked, Ended: true},
			wantStatus: 401, wantReason: "revoked", wantEnd: "admin_revoke", wantCall: "Peek"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := newFakeStore()
			plain, err := middleware.New(middleware.Config{Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			tokens := map[string]string{}
			for _, name := range []string{live, revoked} {
				tok, _, err := plain.SignIn(nil, nil, middleware.SignIn{UserID: 3})
				if err != nil {
					t.Fatal(err)
				}
				tokens[name] = tok
			}
			if _, err := store.Revoke(t.Context(), sha256Hex(tokens[revoked]), sessionguard.ReasonAdminRevoke); err != nil {
				t.Fatal(err)
			}
			src := tc.source
			if tok, ok := tokens[src.Value]; ok {
				src.Value = tok
			}
			g, err := middleware.New(middleware.Config{
				Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler),
				TokenSource: func(*http.Request) (middleware.SourcedToken, error) { return src, tc.sourceErr },
			})
			if err != nil {
				t.Fatal(err)
			}
			before := map[string]int{"Validate": store.callCount("Validate"), "Peek": store.callCount("Peek")}
			rec := httptest.NewRecorder()
			// A session cookie of the default name is ignored: the source decides.
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(&http.Cookie{Name: middleware.DefaultCookieName, Value: tokens[live]})
			g.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, req)

			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d %q, want %d", rec.Code, rec.Body.String(), tc.wantStatus)
			}
			if tc.wantReason != "" && rec.Header().Get("X-Session-End-Reason") != tc.wantReason {
				t.Errorf("reason %q, want %q", rec.Header().Get("X-Session-End-Reason"), tc.wantReason)
			}
			if tc.wantEnd != "" && !strings.Contains(rec.Body.String(), `"end_reason":"`+tc.wantEnd+`"`) {
				t.Errorf("body %q lacks end_reason %q", rec.Body.String(), tc.wantEnd)
			}
			if got := rec.Header().Get("WWW-Authenticate") != ""; got != tc.challenge {
				t.Errorf("WWW-Authenticate present %v, want %v", got, tc.challenge)
			}
			for _, m := range []string{"Validate", "Peek"} {
				want := 0
				if m == tc.wantCall {
					want = 1
				}
				if got := store.callCount(m) - before[m]; got != want {
					t.Errorf("%s calls = %d, want %d", m, got, want)
				}
			}
			if strings.Contains(rec.Body.String(), tokens[live]) {
				t.Error("the response contains the token")
			}
		})
	}
}

// With a TokenSource, Guard.SignOut revokes the source's token and leaves
// cookies alone.
func TestTokenSourceSignOut(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	plain, _ := middleware.New(middleware.Config{Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler)})
	token, _, err := plain.SignIn(nil, nil, middleware.SignIn{UserID: 5})
	if err != nil {
		t.Fatal(err)
	}
	g, err := middleware.New(middleware.Config{
		Store: store, AppType: sessionguard.ControlPanel, Logger: slog.New(slog.DiscardHandler),
		TokenSource: func(*http.Request) (middleware.SourcedToken, error) {
			return middleware.SourcedToken{Value: token}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := g.SignOut(rec, httptest.NewRequest("POST", "/logout", nil)); err != nil {
		t.Fatal(err)
	}
	if c := rec.Result().Cookies(); len(c) != 0 {
		t.Fatalf("SignOut with a TokenSource set cookies %v", c)
	}
	if len(store.revokes) != 1 || store.revokes[0] != (fakeRevoke{sha256Hex(token), sessionguard.ReasonLogout}) {
		t.Fatalf("revokes = %v", store.revokes)
	}
}
