package middleware_test

import (
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
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// A step-up whose token the Guard refuses is an authentication that
// failed (OWASP ASVS V7, NIST SP 800-92): each refusal of Reauthenticate's
// Reauthentication.Token and of Refresh's token leaves one refused event,
// reason reauthentication_refused or refresh_refused, naming the session
// (id, user, tenant, app type) and the client address, logged at Warn with
// why, and never the token or its hash. Before, only a success was
// recorded: an attacker with a stolen session who kept failing the step-up
// left no trace. A store failure is not such a refusal (it is logged as an
// outage), nor is a request without a live session (the Middleware's
// refusal).
func TestRefusedStepUpIsAudited(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	tenant := pgtest.CreateTenant(t, db.pool, "acme-"+randomToken(t)[:8])
	user := pgtest.CreateUser(t, db.pool, "stepup-"+randomToken(t)[:8]+"@example.com", tenant)
	var logs syncBuffer
	var events eventLog
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	provider := hmacJWT()
	provider.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	provider.TenantIDClaim = "tid" // and no SessionIDClaim: a token of the user's other session passes the claims check
	guard := func(store sessionguard.Store) *middleware.Guard {
		g, err := middleware.New(middleware.Config{Store: store, AppType: sessionguard.TenantApp, Tokens: middleware.JWTs,
			JWT: provider, Logger: logger, OnEvent: events.add, Tenant: func(*http.Request) (int64, error) { return tenant, nil }})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := guard(db.store)
	now := time.Now()
	var secrets []string
	// signed is a provider's token for user's session, issued now, of an
	// authentication an hour ago, signed with key, edited by edit.
	signed := func(key []byte, edit func(jwt.MapClaims)) string {
		c := claims(randomUUID(t), now) // no SessionIDClaim: "sid" is only a required claim
		c["sub"], c["tid"] = strconv.FormatInt(user, 10), strconv.FormatInt(tenant, 10)
		c["jti"] = randomToken(t)[:22]
		c["exp"] = now.Add(time.Hour).Unix()
		c["auth_time"] = now.Add(-time.Hour).Unix()
		if edit != nil {
			edit(c)
		}
		tok := sign(t, jwt.SigningMethodHS256, "k2", key, c)
		secrets = append(secrets, tok, sha256Hex(tok), strings.ToUpper(sha256Hex(tok)))
		return tok
	}
	token := func(edit func(jwt.MapClaims)) string { return signed(hmacNew, edit) }
	record := func(tok string) middleware.Session {
		t.Helper()
		s, err := g.Record(nil, nil, tok, middleware.SignIn{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	earlier := func(c jwt.MapClaims) { c["iat"] = now.Add(-time.Minute).Unix() }
	current := token(earlier)
	s := record(current)
	fresh := func(c jwt.MapClaims) { c["auth_time"] = now.Unix() }
	other := token(fresh) // the user's other session, of a new authentication
	record(other)
	// A token a refresh retired: same iat as its successor, so that only
	// the store can tell.
	retiredSession, successor := token(nil), token(nil)
	rs := record(retiredSession)
	if _, err := g.Refresh(nil, requestWithCookie(retiredSession), successor); err != nil {
		t.Fatal(err)
	}
	noAuthTime := guard(noAuthTimeStore{db.store})
	leaky := guard(leakyRotation{db.store})
	events.take()

	from := func(tok string) *http.Request {
		r := requestWithCookie(tok)
		r.RemoteAddr = "192.0.2.10:5555"
		return r
	}
	reauth := func(g *middleware.Guard, tok string) func(*http.Request) error {
		return func(r *http.Request) error {
			_, _, err := g.Reauthenticate(httptest.NewRecorder(), r, middleware.Reauthentication{Token: tok, ACR: "aal2"})
			return err
		}
	}
	refresh := func(g *middleware.Guard, tok string) func(*http.Request) error {
		return func(r *http.Request) error {
			_, err := g.Refresh(httptest.NewRecorder(), r, tok)
			return err
		}
	}
	const reauthRefused, refreshRefused = sessionguard.ReasonReauthenticationRefused, sessionguard.ReasonRefreshRefused
	tests := []struct {
		name   string
		holder string // the session's token the request carries
		call   func(*http.Request) error
		want   error
		reason string
	}{
		{"reauthenticate: another user's token", current, reauth(g, token(func(c jwt.MapClaims) { fresh(c); c["sub"] = "999999" })), middleware.ErrReauthenticationRequired, reauthRefused},
		{"reauthenticate: another tenant's token", current, reauth(g, token(func(c jwt.MapClaims) { fresh(c); c["tid"] = "999999" })), middleware.ErrReauthenticationRequired, reauthRefused},
		{"reauthenticate: a forged token", current, reauth(g, signed(hmacOld, fresh)), middleware.ErrReauthenticationRequired, reauthRefused},
		{"reauthenticate: an expired token", current, reauth(g, token(func(c jwt.MapClaims) { fresh(c); c["exp"] = now.Add(-time.Minute).Unix() })), middleware.ErrReauthenticationRequired, reauthRefused},
		{"reauthenticate: a stale auth_time", current, reauth(g, token(nil)), middleware.ErrReauthenticationRequired, reauthRefused},
		{"reauthenticate: no auth_time", current, reauth(g, token(func(c jwt.MapClaims) { delete(c, "auth_time") })), middleware.ErrReauthenticationRequired, reauthRefused},
		{"reauthenticate: the session's own token", current, reauth(g, current), middleware.ErrReauthenticationRequired, reauthRefused},
		{"reauthenticate: issued before the session's", current, reauth(g, token(func(c jwt.MapClaims) { fresh(c); c["iat"] = now.Add(-time.Hour).Unix() })), middleware.ErrReauthenticationRequired, reauthRefused},
		{"reauthenticate: an opaque token", current, reauth(g, randomToken(t)), middleware.ErrReauthenticationRequired, reauthRefused},
		{"reauthenticate: the user's other session's token", current, reauth(g, other), sessionguard.ErrDuplicateToken, reauthRefused},
		{"refresh: the session's own token", current, refresh(g, current), middleware.ErrReauthenticationRequired, refreshRefused},
		{"refresh: a forged token", current, refresh(g, signed(hmacOld, fresh)), middleware.ErrReauthenticationRequired, refreshRefused},
		{"refresh: an opaque token", current, refresh(g, randomToken(t)), middleware.ErrReauthenticationRequired, refreshRefused},
		{"refresh: a token a rotation retired", successor, refresh(g, retiredSession), sessionguard.ErrDuplicateToken, refreshRefused},
		{"refresh: a session without an authentication time", current, refresh(noAuthTime, token(nil)), middleware.ErrReauthenticationRequired, refreshRefused},
		{"reauthenticate: a store failure", current, reauth(leaky, token(fresh)), middleware.ErrUnavailable, ""},
		{"refresh: a store failure", current, refresh(leaky, token(nil)), middleware.ErrUnavailable, ""},
	}
	for _, tt := range tests {
		err := tt.call(from(tt.holder))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		if tt.reason != "" {
			// Every refused token is a step-up refusal, a taken one too:
			// DenyJSON answers it with the step-up challenge, never a 503.
			rec := httptest.NewRecorder()
			middleware.DenyJSON(rec, from(tt.holder), err)
			if !errors.Is(err, middleware.ErrReauthenticationRequired) || errors.Is(err, middleware.ErrInvalidToken) || rec.Code != http.StatusUnauthorized {
				t.Errorf("%s: %v answered %d; want ErrReauthenticationRequired (not ErrInvalidToken), a 401", tt.name, err, rec.Code)
			}
		}
		got := events.take()
		if tt.reason == "" {
			if len(got) != 0 {
				t.Errorf("%s: events %+v, want none (not a refused token)", tt.name, got)
			}
			continue
		}
		sid := s.ID
		if tt.holder == successor {
			sid = rs.ID
		}
		want := sessionguard.Event{Kind: sessionguard.EventRefused, Reason: tt.reason, Count: 1, SessionID: sid,
			UserID: user, TenantID: tenant, AppType: sessionguard.TenantApp, IP: "192.0.2.10"}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: events %+v, want one %+v", tt.name, got, want)
		}
	}
	if code := serve(g, requestWithCookie(current)); code != http.StatusOK {
		t.Fatalf("the session after its refused step-ups: %d, want 200 (a refusal ends nothing)", code)
	}
	out := logs.String()
	for _, want := range []string{`"level":"WARN","msg":"sessionguard: reauthentication refused","event":"refused","reason":"reauthentication_refused"`,
		`"level":"WARN","msg":"sessionguard: refresh refused","event":"refused","reason":"refresh_refused"`, `the token's auth_time is not after the session's authentication`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(out, secret) {
			t.Fatalf("the log contains a token or hash %q", secret)
		}
	}
}
