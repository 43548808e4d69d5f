package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestRecordRefusesATokenRotatedOut is the reviewer's scenario on the
// README's bring-your-own-token glue (POST /session with the identity
// provider's JWT: Guard.Record): the session's first token T0 is rotated out
// by a re-authentication with the provider's new token T1. T0 still
// verifies and has not expired; recording it again must not open a new
// session with a fresh authentication (which would even pass a step-up), and
// a request with it stays refused. With a session-id claim the answer is
// the same ErrDuplicateToken, also for a token recorded twice (the row's id
// is taken), never ErrUnavailable. An ECDSA token's re-signed twin, another
// string for the same token, is refused as T0 is.
func TestRecordRefusesATokenRotatedOut(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method jwt.SigningMethod
		key    middleware.JWTKey
		sign   any
		sid    bool // the provider's tokens name the session
	}{
		{"HS256, no session-id claim", jwt.SigningMethodHS256, middleware.JWTKey{ID: "idp", Algorithm: "HS256", VerifyKey: hmacNew}, hmacNew, false},
		{"HS256, session-id claim", jwt.SigningMethodHS256, middleware.JWTKey{ID: "idp", Algorithm: "HS256", VerifyKey: hmacNew}, hmacNew, true},
		{"ES256, no session-id claim", jwt.SigningMethodES256, middleware.JWTKey{ID: "idp", Algorithm: "ES256", VerifyKey: &ecKey.PublicKey}, ecKey, false},
		{"ES256, session-id claim", jwt.SigningMethodES256, middleware.JWTKey{ID: "idp", Algorithm: "ES256", VerifyKey: &ecKey.PublicKey}, ecKey, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newRealDB(t, pgstore.Config{})
			cfg := &middleware.JWTConfig{Keys: []middleware.JWTKey{tt.key}, Issuer: "https://idp.example", Audience: "app"}
			const sid = "0f6c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7f"
			if tt.sid {
				cfg.SessionIDClaim = "sid"
			}
			g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard,
				Tokens: middleware.JWTs, JWT: cfg})
			if err != nil {
				t.Fatal(err)
			}
			providerToken := func(authTime time.Time) string {
				c := jwt.MapClaims{"iss": "https://idp.example", "aud": "app", "sub": strconv.FormatInt(db.user, 10), "jti": randomToken(t)[:22],
					"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "auth_time": authTime.Unix()}
				if tt.sid {
					c["sid"] = sid
				}
				return sign(t, tt.method, "idp", tt.sign, c)
			}
			record := func(token string) error {
				_, err := g.Record(nil, httptest.NewRequest("POST", "/session", nil), token, middleware.SignIn{})
				return err
			}

			t0 := providerToken(time.Now().Add(-time.Minute))
			if err := record(t0); err != nil {
				t.Fatal(err)
			}
			if err := record(t0); !errors.Is(err, sessionguard.ErrDuplicateToken) || errors.Is(err, middleware.ErrUnavailable) {
				t.Fatalf("Record of a recorded token = %v, want ErrDuplicateToken", err)
			}
			t1 := providerToken(time.Now())
			r := httptest.NewRequest("POST", "/reauthenticate", nil)
			withCookie(t0)(r)
			if _, _, err := g.Reauthenticate(httptest.NewRecorder(), r, middleware.Reauthentication{Token: t1}); err != nil {
				t.Fatalf("Reauthenticate with the provider's new token: %v", err)
			}

			stale := []string{t0}
			if tt.method == jwt.SigningMethodES256 {
				stale = append(stale, reSigned(t, t0, elliptic.P256()))
			}
			for i, token := range stale {
				if err := record(token); !errors.Is(err, sessionguard.ErrDuplicateToken) || errors.Is(err, middleware.ErrUnavailable) {
					t.Fatalf("token %d: Record of a token rotated out = %v, want ErrDuplicateToken", i, err)
				}
				if code := serve(g, requestWithCookie(token)); code != http.StatusUnauthorized {
					t.Fatalf("token %d: a request with a token rotated out: %d, want 401", i, code)
				}
			}
			if code := serve(g, requestWithCookie(t1)); code != http.StatusOK {
				t.Fatalf("the session's new token: %d, want 200", code)
			}
			var sessions int
			if err := db.pool.QueryRow(t.Context(), "SELECT count(*) FROM sessions").Scan(&sessions); err != nil || sessions != 1 {
				t.Fatalf("%d sessions (%v), want the one recorded", sessions, err)
			}
		})
	}
}

// A re-authentication's new token that another session holds, or that a
// rotation retired, is the caller's mistake, as Record of it is: it is
// sessionguard.ErrDuplicateToken, both sessions stay as they were, and
// nothing is logged as an outage. Before, the store's duplicate-token error
// came back as ErrUnavailable (a 503) logged at Error level, which pages an
// operator for a token the application handed over twice.
func TestReauthenticateWithAnotherSessionsToken(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	var logs syncBuffer
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Tokens: middleware.JWTs,
		JWT: &middleware.JWTConfig{Keys: []middleware.JWTKey{{ID: "idp", Algorithm: "HS256", VerifyKey: hmacNew}},
			Issuer: "https://idp.example", Audience: "app"}})
	if err != nil {
		t.Fatal(err)
	}
	providerToken := func(authTime time.Time) string {
		return sign(t, jwt.SigningMethodHS256, "idp", hmacNew, jwt.MapClaims{"iss": "https://idp.example", "aud": "app",
			"sub": strconv.FormatInt(db.user, 10), "jti": randomToken(t)[:22], "iat": time.Now().Unix(),
			"exp": time.Now().Add(time.Hour).Unix(), "auth_time": authTime.Unix()})
	}
	first, second := providerToken(time.Now().Add(-time.Hour)), providerToken(time.Now().Add(-time.Minute))
	for _, token := range []string{first, second} {
		if _, err := g.Record(nil, nil, token, middleware.SignIn{}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = g.Reauthenticate(httptest.NewRecorder(), requestWithCookie(first), middleware.Reauthentication{Token: second})
	if !errors.Is(err, sessionguard.ErrDuplicateToken) || errors.Is(err, middleware.ErrUnavailable) {
		t.Errorf("Reauthenticate with the other session's token = %v, want ErrDuplicateToken", err)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("logged as an outage: %s", logs.String())
	}
	for _, token := range []string{first, second} {
		if code := serve(g, requestWithCookie(token)); code != http.StatusOK {
			t.Errorf("a session after the refused re-authentication: %d, want 200", code)
		}
	}
}
