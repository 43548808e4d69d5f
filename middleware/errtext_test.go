package middleware_test

import (
	"errors"
	"net/http"
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

// Each error of SignIn, Record, Reauthenticate, Refresh and Require names
// its package once, however it was built, and still matches its sentinel.
// Before, an error wrapping a RefusalError sentinel repeated the prefix
// ("middleware: record: middleware: session refused: invalid: ...") and a
// refused re-authentication token said it three times
// ("middleware: session refused: reauthentication_required: middleware:
// reauthenticate: middleware: session refused: invalid: ...").
func TestErrorsSayTheirPackageOnce(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	tenant := pgtest.CreateTenant(t, db.pool, "acme-"+randomToken(t)[:8])
	user := pgtest.CreateUser(t, db.pool, "errtext-"+randomToken(t)[:8]+"@example.com", tenant)
	provider := hmacJWT()
	provider.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	provider.TenantIDClaim = "tid"
	guard := func(store sessionguard.Store) *middleware.Guard {
		g, err := middleware.New(middleware.Config{Store: store, AppType: sessionguard.TenantApp, Tokens: middleware.JWTs,
			JWT: provider, Logger: discard, Tenant: func(*http.Request) (int64, error) { return tenant, nil }})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := guard(db.store)
	opaque := newGuard(t, db.store, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel })
	now := time.Now()
	signed := func(key []byte, edit func(jwt.MapClaims)) string {
		c := claims(randomUUID(t), now)
		c["sub"], c["tid"] = strconv.FormatInt(user, 10), strconv.FormatInt(tenant, 10)
		c["jti"] = randomToken(t)[:22]
		c["exp"] = now.Add(time.Hour).Unix()
		c["auth_time"] = now.Add(-time.Hour).Unix()
		if edit != nil {
			edit(c)
		}
		return sign(t, jwt.SigningMethodHS256, "k2", key, c)
	}
	token := func(edit func(jwt.MapClaims)) string { return signed(hmacNew, edit) }
	fresh := func(c jwt.MapClaims) { c["auth_time"] = now.Unix() }
	current := token(func(c jwt.MapClaims) { c["iat"] = now.Add(-time.Minute).Unix() })
	if _, err := g.Record(nil, nil, current, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	other := token(fresh)
	if _, err := g.Record(nil, nil, other, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	record := func(tok string, p middleware.SignIn) func() error {
		return func() error { _, err := g.Record(nil, nil, tok, p); return err }
	}
	reauth := func(g *middleware.Guard, tok string, a middleware.Reauthentication) func() error {
		return func() error {
			r := requestWithCookie(tok)
			if tok == "" {
				r.Header.Del("Cookie")
			}
			_, _, err := g.Reauthenticate(nil, r, a)
			return err
		}
	}
	stepUp := func(tok string) func() error {
		return reauth(g, current, middleware.Reauthentication{Token: tok})
	}
	refresh := func(g *middleware.Guard, tok string) func() error {
		return func() error { _, err := g.Refresh(nil, requestWithCookie(current), tok); return err }
	}
	require := func(q middleware.Requirement) func() error {
		return func() (err error) {
			defer func() { err, _ = recover().(error) }()
			g.Require(q, okHandler)
			return nil
		}
	}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"record: not a token the Guard accepts", record(randomToken(t), middleware.SignIn{}), middleware.ErrInvalidToken},
		{"record: a forged token", record(signed(hmacOld, nil), middleware.SignIn{}), middleware.ErrInvalidToken},
		{"record: no tenant claim", record(token(func(c jwt.MapClaims) { delete(c, "tid") }), middleware.SignIn{}), middleware.ErrInvalidToken},
		{"record: expires within a second", record(token(func(c jwt.MapClaims) { c["exp"] = time.Now().Unix() + 1 }), middleware.SignIn{}), middleware.ErrInvalidToken},
		{"record: UserID disagrees", record(token(nil), middleware.SignIn{UserID: user + 1}), middleware.ErrInvalidToken},
		{"record: TenantID disagrees", record(token(nil), middleware.SignIn{TenantID: tenant + 1}), middleware.ErrInvalidToken},
		{"record: another app type", record(token(nil), middleware.SignIn{AppType: sessionguard.ControlPanel}), nil},
		{"record: a recorded token", record(current, middleware.SignIn{}), sessionguard.ErrDuplicateToken},
		{"sign in: no user", func() error { _, _, err := opaque.SignIn(nil, nil, middleware.SignIn{}); return err }, nil},
		{"sign in: a Guard that cannot mint", func() error {
			_, _, err := g.SignIn(nil, nil, middleware.SignIn{UserID: user, TenantID: tenant})
			return err
		}, nil},
		{"reauthenticate: an acr that cannot be recorded", reauth(g, current, middleware.Reauthentication{ACR: `a"b`}), sessionguard.ErrInvalidAuthentication},
		{"reauthenticate: no token", reauth(g, "", middleware.Reauthentication{}), middleware.ErrMissingToken},
		{"reauthenticate: a Guard that cannot mint", reauth(g, current, middleware.Reauthentication{}), nil},
		{"reauthenticate: not a token the Guard accepts", stepUp(randomToken(t)), middleware.ErrReauthenticationRequired},
		{"reauthenticate: the session's own token", stepUp(current), middleware.ErrReauthenticationRequired},
		{"reauthenticate: a forged token", stepUp(signed(hmacOld, fresh)), middleware.ErrReauthenticationRequired},
		{"reauthenticate: another user's token", stepUp(token(func(c jwt.MapClaims) { fresh(c); c["sub"] = "999999" })), middleware.ErrReauthenticationRequired},
		{"reauthenticate: expires within a second", stepUp(token(func(c jwt.MapClaims) { fresh(c); c["exp"] = time.Now().Unix() + 1 })), middleware.ErrReauthenticationRequired},
		{"reauthenticate: issued before the session's", stepUp(token(func(c jwt.MapClaims) { fresh(c); c["iat"] = now.Add(-time.Hour).Unix() })), middleware.ErrReauthenticationRequired},
		{"reauthenticate: no auth_time", stepUp(token(func(c jwt.MapClaims) { delete(c, "auth_time") })), middleware.ErrReauthenticationRequired},
		{"reauthenticate: a stale auth_time", stepUp(token(nil)), middleware.ErrReauthenticationRequired},
		{"reauthenticate: another session's token", stepUp(other), sessionguard.ErrDuplicateToken},
		{"reauthenticate: a store failure", reauth(guard(leakyRotation{db.store}), current, middleware.Reauthentication{Token: token(fresh)}), middleware.ErrUnavailable},
		{"refresh: not a JWT", refresh(g, randomToken(t)), middleware.ErrReauthenticationRequired},
		{"refresh: the session's own token", refresh(g, current), middleware.ErrReauthenticationRequired},
		{"refresh: no authentication time", refresh(guard(noAuthTimeStore{db.store}), token(nil)), middleware.ErrReauthenticationRequired},
		{"require: an acr that cannot be recorded", require(middleware.Requirement{ACR: []string{`a"b`}}), sessionguard.ErrInvalidAuthentication},
		{"require: a negative MaxAge", require(middleware.Requirement{MaxAge: -time.Second}), nil},
	}
	for _, tt := range tests {
		err := tt.call()
		if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want an error matching %v", tt.name, err, tt.want)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "middleware: ") || strings.Count(msg, "middleware:") != 1 {
			t.Errorf("%s: %q says its package other than once, first", tt.name, msg)
		}
		if errors.Is(tt.want, middleware.ErrReauthenticationRequired) && err.Error() == tt.want.Error() {
			t.Errorf("%s: %q does not say why the token was refused", tt.name, err)
		}
	}
}

// A refusal whose cause is one of the package's own errors says the package
// once: a request to an scs Guard that did not come through LoadAndSave read
// "middleware: session refused: unavailable: middleware: scs: ...".
func TestRefusalCauseSaysThePackageOnce(t *testing.T) {
	t.Parallel()
	app := newSCSApp(t, nil)
	g, err := middleware.New(middleware.Config{SCS: app.sm, Store: app.store, AppType: sessionguard.ControlPanel, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	r := request(nil)
	r.AddCookie(&http.Cookie{Name: app.sm.Cookie.Name, Value: strings.Repeat("A", 43)})
	_, err = g.Authenticate(r)
	if !errors.Is(err, middleware.ErrUnavailable) {
		t.Fatalf("Authenticate outside LoadAndSave: %v, want ErrUnavailable", err)
	}
	if n := strings.Count(err.Error(), "middleware:"); n != 1 {
		t.Errorf("%q says \"middleware:\" %d times, want once", err, n)
	}
}
