package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
)

func TestSCSSignInRequestsSignOut(t *testing.T) {
	t.Parallel()
	app := newSCSApp(t, nil)
	user := pgtest.CreateUser(t, app.pool, "alice@example.com", 0)
	b := app.browser(t)

	if r := b.expect("GET", "/account", http.StatusUnauthorized); r.refusal.Reason != "missing" {
		t.Fatalf("without a cookie: reason %q, want missing", r.refusal.Reason)
	}

	// Before sign-in: an anonymous scs session with its own data and expiry.
	b.expect("POST", "/cart?item=apple", http.StatusOK)
	anonymous := b.cookie
	if anonymous == "" || app.dataRows(t, anonymous) != 1 {
		t.Fatalf("anonymous session: cookie %v, %d data rows", anonymous != "", app.dataRows(t, anonymous))
	}
	// Not signed in is not an error: the refusal says missing, as without a cookie.
	if r := b.expect("GET", "/account", http.StatusUnauthorized); r.refusal.Reason != "missing" {
		t.Fatalf("anonymous session on a protected route: reason %q, want missing", r.refusal.Reason)
	}

	// Sign-in renews the token: the pre-sign-in token is dead (fixation),
	// the data moved to the new token.
	b.signIn(user)
	signedIn := b.cookie
	if signedIn == anonymous {
		t.Fatal("sign-in kept the pre-sign-in token")
	}
	if app.dataRows(t, anonymous) != 0 || app.dataRows(t, signedIn) != 1 {
		t.Fatalf("data rows: old token %d, new token %d; want 0, 1", app.dataRows(t, anonymous), app.dataRows(t, signedIn))
	}
	r := b.expect("GET", "/account", http.StatusOK)
	if r.body != "user="+strconv.FormatInt(user, 10)+" cart=apple flash=welcome" {
		t.Fatalf("account page = %q", r.body)
	}
	if idle, _ := strconv.Atoi(r.header.Get("X-Session-Idle-Remaining")); idle < 14300 || idle > 14400 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("session headers: idle %q, cache %q", r.header.Get("X-Session-Idle-Remaining"), r.header.Get("Cache-Control"))
	}
	for range 3 {
		b.expect("GET", "/account", http.StatusOK)
	}
	if b.cookie != signedIn {
		t.Fatal("requests changed the token")
	}

	planted := app.browser(t)
	planted.cookie = anonymous
	if r := planted.expect("GET", "/account", http.StatusUnauthorized); r.refusal.Reason != "invalid" {
		t.Fatalf("replayed pre-sign-in token: reason %q, want invalid", r.refusal.Reason)
	}

	b.expect("POST", "/logout", http.StatusOK)
	if b.cookie != "" {
		t.Fatal("sign-out did not delete the cookie")
	}
	if active, reason := app.sessionRow(t, signedIn); active || reason != sessionguard.ReasonLogout {
		t.Fatalf("after sign-out: active %v reason %q", active, reason)
	}
	if app.dataRows(t, signedIn) != 0 || app.found(t, signedIn) {
		t.Fatal("the scs data outlived the sign-out")
	}
	replay := app.browser(t)
	replay.cookie = signedIn
	if r := replay.expect("GET", "/account", http.StatusUnauthorized); r.refusal.Reason != "revoked" || r.refusal.EndReason != "logout" {
		t.Fatalf("replayed signed-out token: %q (%q), want revoked (logout)", r.refusal.Reason, r.refusal.EndReason)
	}
}

// Sessions ended through sessionguard end the scs session: the next request is
// refused with the reason, scs finds nothing, and the data is gone.
func TestSCSRevocationThroughSessionguard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name      string
		end       func(t *testing.T, app *scsApp, user int64, sessionID string)
		reason    string
		endReason string
	}{
		{"admin revoke", func(t *testing.T, app *scsApp, _ int64, id string) {
			if ok, err := app.store.RevokeSession(ctx, id, sessionguard.ReasonAdminRevoke); err != nil || !ok {
				t.Fatalf("RevokeSession = %v, %v", ok, err)
			}
		}, "revoked", "admin_revoke"},
		{"password change", func(t *testing.T, app *scsApp, user int64, _ string) {
			if n, err := app.store.RevokeAll(ctx, user, sessionguard.ReasonPasswordChange); err != nil || n != 2 {
				t.Fatalf("RevokeAll = %d, %v; want both sessions", n, err)
			}
		}, "revoked", "password_change"},
		{"idle timeout", func(t *testing.T, app *scsApp, user int64, _ string) {
			if _, err := app.pool.Exec(ctx, "UPDATE sessions SET last_activity_at = now() - interval '5 hours' WHERE user_id = $1", user); err != nil {
				t.Fatal(err)
			}
		}, "idle_timeout", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := newSCSApp(t, nil)
			user := pgtest.CreateUser(t, app.pool, "bob@example.com", 0)
			laptop, phone := app.browser(t), app.browser(t)
			id := laptop.signIn(user)
			phone.signIn(user)
			laptop.expect("GET", "/account", http.StatusOK)
			token := laptop.cookie

			tc.end(t, app, user, id)

			r := laptop.expect("GET", "/account", http.StatusUnauthorized)
			if r.refusal.Reason != tc.reason || r.refusal.EndReason != tc.endReason || r.endReason != tc.reason {
				t.Fatalf("refusal %q (%q), header %q; want %q (%q)", r.refusal.Reason, r.refusal.EndReason, r.endReason, tc.reason, tc.endReason)
			}
			if app.found(t, token) {
				t.Error("scs still finds the data of the ended session")
			}
			if tc.name != "idle timeout" && app.dataRows(t, token) != 0 {
				t.Error("the data row outlived the revocation")
			}
			// Once the expiry is recorded (the refusal above only peeked),
			// the data goes too.
			if _, err := app.store.Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
			if app.dataRows(t, token) != 0 {
				t.Error("the data row outlived the recorded expiry")
			}
		})
	}
}

func TestSCSListAndEndAUsersSessions(t *testing.T) {
	t.Parallel()
	app := newSCSApp(t, nil)
	user := pgtest.CreateUser(t, app.pool, "carol@example.com", 0)
	mallory := pgtest.CreateUser(t, app.pool, "mallory@example.com", 0)
	laptop, phone, attacker := app.browser(t), app.browser(t), app.browser(t)
	laptopID := laptop.signIn(user)
	phoneID := phone.signIn(user)
	attacker.signIn(mallory)

	var ids []string
	if err := json.Unmarshal([]byte(laptop.expect("GET", "/sessions", http.StatusOK).body), &ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || !(ids[0] == laptopID && ids[1] == phoneID || ids[0] == phoneID && ids[1] == laptopID) {
		t.Fatalf("session list = %v, want %s and %s", ids, laptopID, phoneID)
	}

	// Another user cannot end it; the owner can, from another device.
	attacker.expect("POST", "/sessions/"+phoneID+"/end", http.StatusNotFound)
	phone.expect("GET", "/account", http.StatusOK)
	phoneToken := phone.cookie
	laptop.expect("POST", "/sessions/"+phoneID+"/end", http.StatusOK)
	if r := phone.expect("GET", "/account", http.StatusUnauthorized); r.refusal.Reason != "revoked" || r.refusal.EndReason != "logout" {
		t.Fatalf("ended phone session: %q (%q)", r.refusal.Reason, r.refusal.EndReason)
	}
	if app.dataRows(t, phoneToken) != 0 {
		t.Fatal("the ended session's data is still stored")
	}
	laptop.expect("GET", "/account", http.StatusOK)
	if err := json.Unmarshal([]byte(laptop.expect("GET", "/sessions", http.StatusOK).body), &ids); err != nil || len(ids) != 1 || ids[0] != laptopID {
		t.Fatalf("session list after ending one = %v, %v", ids, err)
	}
}

// A token whose scs data is gone while its session lives is not signed in,
// and checking it does not extend that session.
func TestSCSDataGoneSessionAlive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := newSCSApp(t, nil)
	user := pgtest.CreateUser(t, app.pool, "dan@example.com", 0)
	b := app.browser(t)
	b.signIn(user)
	token := b.cookie
	if _, err := app.pool.Exec(ctx, `DELETE FROM sessionguard_scs_data;
		UPDATE sessions SET last_activity_at = last_activity_at - interval '10 minutes'`); err != nil {
		t.Fatal(err)
	}
	var before time.Time
	if err := app.pool.QueryRow(ctx, "SELECT last_activity_at FROM sessions").Scan(&before); err != nil {
		t.Fatal(err)
	}
	if r := b.expect("GET", "/account", http.StatusUnauthorized); r.refusal.Reason != "invalid" {
		t.Fatalf("reason %q, want invalid", r.refusal.Reason)
	}
	var after time.Time
	if err := app.pool.QueryRow(ctx, "SELECT last_activity_at FROM sessions").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if !after.Equal(before) {
		t.Fatal("checking a token scs no longer knows touched its session")
	}
	if active, _ := app.sessionRow(t, token); !active {
		t.Fatal("the check ended the session")
	}
}

func TestSCSDuplicateCookiesRefused(t *testing.T) {
	t.Parallel()
	app := newSCSApp(t, nil)
	user := pgtest.CreateUser(t, app.pool, "erin@example.com", 0)
	b := app.browser(t)
	b.signIn(user)
	good := b.cookie

	other := app.browser(t)
	other.signIn(user)
	for _, cookies := range []string{good + "; " + scsCookie + "=" + other.cookie, good + "; " + scsCookie + "=" + good} {
		b.cookie = cookies
		if r := b.expect("GET", "/account", http.StatusUnauthorized); r.refusal.Reason != "invalid" {
			t.Fatalf("two session cookies: reason %q, want invalid", r.refusal.Reason)
		}
	}
}

// TestSCSSignOutOutlivesTheClient: a browser that sends its sign-out and
// goes away at once (a closed tab cancels the request's context) is signed
// out with its scs data gone, as without scs, and SignOut reports success:
// the scs session is not left behind the ended sessions row.
func TestSCSSignOutOutlivesTheClient(t *testing.T) {
	t.Parallel()
	app := newSCSApp(t, nil)
	user := pgtest.CreateUser(t, app.pool, "scs-leave@example.com", 0)
	b := app.browser(t)
	b.signIn(user)
	var signOutErr error
	signOut := app.guard.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		cancel() // the client went away
		signOutErr = app.guard.SignOut(w, r.WithContext(ctx))
	}))
	req := httptest.NewRequest(http.MethodPost, "/signout", nil)
	req.Header.Set("Cookie", scsCookie+"="+b.cookie)
	signOut.ServeHTTP(httptest.NewRecorder(), req)
	if signOutErr != nil {
		t.Errorf("SignOut: %v", signOutErr)
	}
	if active, reason := app.sessionRow(t, b.cookie); active || reason != sessionguard.ReasonLogout {
		t.Errorf("after sign-out: active %v reason %q", active, reason)
	}
	if n := app.dataRows(t, b.cookie); n != 0 {
		t.Errorf("%d scs data rows outlived the sign-out", n)
	}
}

// With scs, a sign-in or a re-authentication whose client went away fails
// in scs's RenewToken (its store call abandoned with the request) before
// the sessions table is asked: ErrCanceled, logged at Debug level, as the
// same client leaving a sign-in without scs (TestSignInClientGoneIsNotAnOutage).
func TestSCSClientGoneIsNotAnOutage(t *testing.T) {
	t.Parallel()
	app := newSCSApp(t, nil)
	user := pgtest.CreateUser(t, app.pool, "scs-gone@example.com", 0)
	var logs syncBuffer // one Guard's log per case, taken by its case
	g, err := middleware.New(middleware.Config{SCS: app.sm, Store: app.store, AppType: sessionguard.ControlPanel,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	gone := func(r *http.Request) *http.Request {
		ctx, cancel := context.WithCancel(r.Context())
		cancel() // the client went away
		return r.WithContext(ctx)
	}
	tests := []struct {
		name string
		h    func(errp *error) http.Handler
		b    func() *browser
	}{
		{"SignIn of an anonymous session", func(errp *error) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _, *errp = g.SignIn(w, gone(r), middleware.SignIn{UserID: user})
			})
		}, func() *browser {
			b := app.browser(t)
			b.expect("POST", "/cart?item=apple", http.StatusOK)
			return b
		}},
		{"Reauthenticate", func(errp *error) http.Handler {
			return g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _, *errp = g.Reauthenticate(w, gone(r), middleware.Reauthentication{})
			}))
		}, func() *browser {
			b := app.browser(t)
			b.signIn(user)
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b()
			logs.reset()
			var err error
			req := httptest.NewRequest(http.MethodPost, "/", nil)
			req.Header.Set("Cookie", scsCookie+"="+b.cookie)
			g.LoadAndSave(tt.h(&err)).ServeHTTP(httptest.NewRecorder(), req)
			if !errors.Is(err, middleware.ErrCanceled) || errors.Is(err, middleware.ErrUnavailable) {
				t.Errorf("error %v, want ErrCanceled", err)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a client that left was logged as an outage:\n%s", logs.String())
			}
		})
	}
}
