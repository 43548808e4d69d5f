package middleware_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

func TestRequirementCheck(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	session := func(age time.Duration, acr string) middleware.Session {
		return middleware.Session{AuthTime: at, AuthAge: age, ACR: acr, Bearer: true}
	}
	tests := []struct {
		name string
		q    middleware.Requirement
		s    middleware.Session
		ok   bool
	}{
		{"nothing asked", middleware.Requirement{}, session(10*time.Hour, ""), true},
		{"recent enough", middleware.Requirement{MaxAge: 10 * time.Minute}, session(10*time.Minute, ""), true},
		{"too old by a second", middleware.Requirement{MaxAge: 10 * time.Minute}, session(10*time.Minute+time.Second, ""), false},
		{"no authentication time", middleware.Requirement{MaxAge: time.Hour}, middleware.Session{}, false},
		{"an accepted level", middleware.Requirement{ACR: []string{"aal3", "aal2"}}, session(time.Hour, "aal2"), true},
		{"another level", middleware.Requirement{ACR: []string{"aal3", "aal2"}}, session(0, "aal1"), false},
		{"no level recorded", middleware.Requirement{ACR: []string{"aal2"}}, session(0, ""), false},
		{"level but too old", middleware.Requirement{MaxAge: time.Minute, ACR: []string{"aal2"}}, session(2*time.Minute, "aal2"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.q.Check(tt.s)
			if tt.ok {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var re *middleware.RefusalError
			if !errors.As(err, &re) || !errors.Is(err, middleware.ErrReauthenticationRequired) {
				t.Fatalf("Check = %v, want ErrReauthenticationRequired", err)
			}
			if re.Status != http.StatusUnauthorized || re.MaxAge != tt.q.MaxAge || re.ACRValues != strings.Join(tt.q.ACR, " ") || re.Bearer != tt.s.Bearer {
				t.Fatalf("refusal %+v does not carry the requirement", re)
			}
		})
	}
}

// A session that falls short of a route's requirement is refused without
// being ended: bearer clients get exactly RFC 9470's challenge, every
// client the JSON reason and the script header, and nobody gets
// X-Session-End-Reason, which would make a page sign the user out.
func TestRequireRefusesWithTheStepUpChallenge(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		q          middleware.Requirement
		challenge  string
		bodyMaxAge int64
		bodyACR    string
	}{
		{"max age", middleware.Requirement{MaxAge: 10 * time.Minute},
			`Bearer realm="sessionguard", error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=600`, 600, ""},
		{"acr", middleware.Requirement{ACR: []string{"aal3", "urn:example:mfa"}},
			`Bearer realm="sessionguard", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="aal3 urn:example:mfa"`, 0, "aal3 urn:example:mfa"},
		{"both", middleware.Requirement{MaxAge: 5 * time.Minute, ACR: []string{"aal2"}},
			`Bearer realm="sessionguard", error="insufficient_user_authentication", error_description="A more recent authentication at a different level is required", max_age=300, acr_values="aal2"`, 300, "aal2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, _, err := g.SignIn(nil, nil, middleware.SignIn{UserID: db.user, ACR: "aal1"})
			if err != nil {
				t.Fatal(err)
			}
			ageAuth(t, db, db.user, time.Hour)
			h := g.Require(tt.q, okHandler)
			for _, bearer := range []bool{true, false} {
				creds := withCookie(token)
				if bearer {
					creds = withBearer(token)
				}
				rec := do(h, "GET", "/", creds)
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("bearer=%v: %d, want 401", bearer, rec.Code)
				}
				wantChallenge := `Bearer realm="sessionguard"` // a 401 has a challenge (RFC 9110), a cookie client's without an error
				if bearer {
					wantChallenge = tt.challenge
				}
				if got := rec.Header().Get("WWW-Authenticate"); got != wantChallenge {
					t.Errorf("bearer=%v: WWW-Authenticate\n got %s\nwant %s", bearer, got, wantChallenge)
				}
				if got := rec.Header().Get(middleware.HeaderReauthentication); got != "reauthentication_required" {
					t.Errorf("%s = %q", middleware.HeaderReauthentication, got)
				}
				if got := rec.Header().Get(middleware.HeaderEndReason); got != "" {
					t.Errorf("%s = %q on a live session", middleware.HeaderEndReason, got)
				}
				var body struct {
					Error     string `json:"error"`
					Reason    string `json:"reason"`
					MaxAge    int64  `json:"max_age"`
					ACRValues string `json:"acr_values"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				if body.Error != "insufficient_user_authentication" || body.Reason != "reauthentication_required" ||
					body.MaxAge != tt.bodyMaxAge || body.ACRValues != tt.bodyACR {
					t.Errorf("body %s", rec.Body)
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Error("refusal may be cached")
				}
			}
			// Not ended: an ordinary route still lets the session in.
			if rec := do(g.Middleware(okHandler), "GET", "/", withBearer(token)); rec.Code != http.StatusOK {
				t.Fatalf("the session after a step-up refusal: %d", rec.Code)
			}
		})
	}
}

// Require is Middleware first: a request without a live session is refused
// as Middleware refuses it, and a recent enough one goes through.
func TestRequireAuthenticatesFirst(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	h := g.Require(middleware.Requirement{MaxAge: time.Minute}, okHandler)
	if rec := do(h, "GET", "/", nil); rec.Code != http.StatusUnauthorized || refusal(t, rec).Reason != middleware.ErrMissingToken.Reason {
		t.Fatalf("no token: %d %s", rec.Code, rec.Body)
	}
	token := signInUser(t, g, db.user)
	if rec := do(h, "GET", "/", withBearer(token)); rec.Code != http.StatusOK {
		t.Fatalf("fresh sign-in: %d %s", rec.Code, rec.Body)
	}
	if _, err := db.store.Revoke(t.Context(), sha256Hex(token), sessionguard.ReasonAdminRevoke); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "GET", "/", withBearer(token)); rec.Code != http.StatusUnauthorized || refusal(t, rec).EndReason != sessionguard.ReasonAdminRevoke {
		t.Fatalf("revoked: %d %s", rec.Code, rec.Body)
	}
}

func TestRequirePanicsOnBadRequirements(t *testing.T) {
	t.Parallel()
	g := newGuard(t, newFakeStore(), nil)
	for _, q := range []middleware.Requirement{
		{MaxAge: -time.Second},
		{MaxAge: 1500 * time.Millisecond},
		{ACR: []string{""}},
		{ACR: []string{`aal2"`}},
		{ACR: []string{"aal1 aal2"}},
		{ACR: []string{"aal2\r\nX-Injected: 1"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Require(%+v) did not panic", q)
				}
			}()
			g.Require(q, okHandler)
		}()
	}
}

// Pages: the refusal redirects to the re-authentication page with a return
// path, the page re-authenticates and returns there, and the route opens.
func TestRequireRedirectsPagesAndReturns(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	api, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	signInPage := func(w http.ResponseWriter, r *http.Request, _ error) {
		http.Redirect(w, r, "/signin?reason=session", http.StatusSeeOther)
	}
	pages := api.WithDeny(middleware.RedirectToReauthenticate("/reauth", signInPage))
	mux := http.NewServeMux()
	mux.Handle("GET /admin/users", pages.Require(middleware.Requirement{MaxAge: 10 * time.Minute}, okHandler))
	mux.Handle("POST /reauth", pages.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// (The application checks the password here.)
		if _, _, err := pages.Reauthenticate(w, r, middleware.Reauthentication{AMR: []string{"pwd"}}); err != nil {
			http.Error(w, "reauthentication failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, middleware.LocalPath(r.FormValue(middleware.ReturnParam), "/"), http.StatusSeeOther)
	})))

	token := signInUser(t, pages, db.user)
	ageAuth(t, db, db.user, 11*time.Minute)

	rec := do(mux, "GET", "/admin/users?tab=2&q=a%20b", withCookie(token))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("stale page: %d", rec.Code)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.Path != "/reauth" || loc.Query().Get("return") != "/admin/users?tab=2&q=a%20b" || loc.Query().Get("reason") != "reauthentication_required" {
		t.Fatalf("Location %q", rec.Header().Get("Location"))
	}
	if loc.Host != "" || loc.Scheme != "" {
		t.Fatalf("Location %q leaves the site", loc)
	}

	rec = do(mux, "POST", "/reauth?"+loc.RawQuery, withCookie(token))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/users?tab=2&q=a%20b" {
		t.Fatalf("reauth: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Value == token {
		t.Fatalf("reauth cookies %v", cookies)
	}
	if rec := do(mux, "GET", "/admin/users?tab=2", withCookie(cookies[0].Value)); rec.Code != http.StatusOK {
		t.Fatalf("after reauth: %d", rec.Code)
	}
	// Other refusals keep the route's own style.
	if rec := do(mux, "GET", "/admin/users", withCookie(token)); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signin?reason=session" {
		t.Fatalf("old cookie: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	// A hostile return value sends the user home, not elsewhere.
	fresh := cookies[0].Value
	rec = do(mux, "POST", "/reauth?return="+url.QueryEscape("//evil.example/phish"), withCookie(fresh))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("hostile return: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
}

// A refusal made by hand cannot smuggle anything into the challenge: ACR
// values that a Requirement would refuse are left out.
func TestStepUpChallengeDropsMalformedACRValues(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	middleware.DenyJSON(rec, httptest.NewRequest("GET", "/", nil), &middleware.RefusalError{
		Status: http.StatusUnauthorized, Reason: middleware.ErrReauthenticationRequired.Reason, Bearer: true,
		ACRValues: `aal2 x",error="invalid_token aal3`})
	want := `Bearer realm="sessionguard", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="aal2 aal3"`
	if got := rec.Header().Get("WWW-Authenticate"); got != want {
		t.Fatalf("WWW-Authenticate\n got %s\nwant %s", got, want)
	}
}

// A step-up refusal is counted as a refused validation with its reason, and
// a sign-in the session limit refuses with reason session_limit.
func TestStepUpAndLimitMetrics(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	db := newRealDB(t, pgstore.Config{})
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, MeterProvider: m.Provider, Logger: discard,
		SessionLimit: sessionguard.SessionLimit{Max: 1, AtLimit: sessionguard.RefuseNewSession}})
	if err != nil {
		t.Fatal(err)
	}
	token := signInUser(t, g, db.user)
	ageAuth(t, db, db.user, time.Hour)
	if rec := do(g.Require(middleware.Requirement{MaxAge: time.Minute}, okHandler), "GET", "/", withBearer(token)); rec.Code != http.StatusUnauthorized {
		t.Fatalf("step-up: %d", rec.Code)
	}
	if _, _, err := g.SignIn(nil, nil, middleware.SignIn{UserID: db.user}); !errors.Is(err, sessionguard.ErrSessionLimit) {
		t.Fatalf("second sign-in: %v", err)
	}
	s := m.Collect(t)
	for _, reason := range []string{"reauthentication_required", "session_limit"} {
		if got := s.Value("sessionguard.validations", attribute.String("result", "refused"), attribute.String("reason", reason), attribute.String("app_type", "control_panel")); got != 1 {
			t.Errorf("refused/%s counted %d times, want 1", reason, got)
		}
	}
}

// Every challenge a Guard writes names its Config.Realm: a refused token's,
// a missing one's and a step-up's alike.
func TestChallengesNameTheGuardsRealm(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Realm: "acme-panel", Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := g.SignIn(nil, nil, middleware.SignIn{UserID: db.user})
	if err != nil {
		t.Fatal(err)
	}
	ageAuth(t, db, db.user, time.Hour)
	stepUp := g.Require(middleware.Requirement{MaxAge: 10 * time.Minute}, okHandler)
	tests := []struct {
		name  string
		h     http.Handler
		creds func(*http.Request)
		want  string
	}{
		{"no token", g.Middleware(okHandler), nil, `Bearer realm="acme-panel"`},
		{"unknown bearer token", g.Middleware(okHandler), withBearer(strings.Repeat("A", 43)), `Bearer realm="acme-panel", error="invalid_token"`},
		{"step-up, bearer", stepUp, withBearer(token),
			`Bearer realm="acme-panel", error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=600`},
		{"step-up, cookie", stepUp, withCookie(token), `Bearer realm="acme-panel"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(tt.h, "GET", "/", tt.creds)
			if got := rec.Header().Get("WWW-Authenticate"); rec.Code != http.StatusUnauthorized || got != tt.want {
				t.Errorf("%d, WWW-Authenticate\n got %s\nwant %s", rec.Code, got, tt.want)
			}
		})
	}
}
