package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
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

// A re-authentication with an identity provider's token needs a token the
// provider issued for it: not the session's own token with its ECDSA
// signature s replaced by n-s (a second valid signature of the same claims,
// which anyone holding the token can make), nor an older token of the same
// session replayed. Either would let a stolen session pass a step-up
// without the user authenticating again.
func TestReauthenticateRefusesTheSessionsTokenResigned(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard,
		Tokens: middleware.JWTs, JWT: &middleware.JWTConfig{
			Keys:           []middleware.JWTKey{{ID: "idp", Algorithm: "ES256", VerifyKey: &ecKey.PublicKey}},
			Issuer:         "https://auth.example",
			Audience:       "panel",
			SessionIDClaim: "sid",
		}})
	if err != nil {
		t.Fatal(err)
	}
	const sid = "0f6c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7f"
	issuedAt := func(iat time.Time) string {
		c := claims(sid, iat)
		c["sub"] = strconv.FormatInt(db.user, 10)
		c["jti"] = randomToken(t)[:22]
		c["exp"] = time.Now().Add(time.Hour).Unix()
		c["auth_time"] = iat.Unix()
		return sign(t, jwt.SigningMethodES256, "idp", ecKey, c)
	}
	older := issuedAt(time.Now().Add(-time.Hour))
	current := issuedAt(time.Now().Add(-time.Minute))
	if _, err := g.Record(nil, nil, current, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	resigned := reSigned(t, current, elliptic.P256())
	if code := serve(g, requestWithCookie(resigned)); code != 401 {
		t.Fatalf("the re-signed token alone: %d, want 401 (no row has its hash)", code)
	}
	for _, c := range []struct{ name, token string }{
		{"the session's token re-signed (s -> n-s)", resigned},
		{"an older token of the session", older},
	} {
		name, bad := c.name, c.token
		r := requestWithCookie(current)
		_, _, err := g.Reauthenticate(httptest.NewRecorder(), r, middleware.Reauthentication{Token: bad, ACR: "aal2"})
		if !errors.Is(err, middleware.ErrReauthenticationRequired) {
			t.Errorf("%s: %v, want ErrReauthenticationRequired", name, err)
		}
	}
	if code := serve(g, requestWithCookie(current)); code != 200 {
		t.Fatalf("the session's token after the refused re-authentications: %d", code)
	}
	next := issuedAt(time.Now())
	if _, s, err := g.Reauthenticate(httptest.NewRecorder(), requestWithCookie(current), middleware.Reauthentication{Token: next, ACR: "aal2"}); err != nil || s.ACR != "aal2" {
		t.Fatalf("the provider's new token: %v %+v", err, s)
	}
}

// An identity provider's token that carries OIDC's auth_time proves a
// re-authentication only if that time is after the session's last one: a
// token the provider issued silently (a refresh, an SSO session reused)
// carries the old auth_time, and must not pass a step-up as a new
// authentication.
func TestReauthenticateRefusesAnOldAuthTime(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	verifyOnly := hmacJWT()
	verifyOnly.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	verifyOnly.SessionIDClaim = "sid"
	g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard,
		Tokens: middleware.JWTs, JWT: verifyOnly})
	if err != nil {
		t.Fatal(err)
	}
	const sid = "0f6c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7f"
	signedIn := time.Now().Add(-24 * time.Hour) // the user's sign-in at the provider
	token := func(authTime any) string {
		c := claims(sid, time.Now())
		c["sub"] = strconv.FormatInt(db.user, 10)
		c["jti"] = randomToken(t)[:22]
		c["exp"] = time.Now().Add(time.Hour).Unix()
		if authTime != nil {
			c["auth_time"] = authTime
		}
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}
	current := token(signedIn.Unix())
	if _, err := g.Record(nil, nil, current, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	reauth := func(next string) error {
		_, _, err := g.Reauthenticate(httptest.NewRecorder(), requestWithCookie(current), middleware.Reauthentication{Token: next, ACR: "aal2"})
		return err
	}
	for _, c := range []struct {
		name  string
		token string
	}{
		{"the sign-in's auth_time (a silent refresh)", token(signedIn.Unix())},
		{"an auth_time before the session's", token(signedIn.Add(-time.Hour).Unix())},
		{"an auth_time that is not a time", token("yesterday")},
	} {
		if err := reauth(c.token); !errors.Is(err, middleware.ErrReauthenticationRequired) {
			t.Errorf("%s: %v, want ErrReauthenticationRequired", c.name, err)
		}
	}
	next := token(time.Now().Unix())
	if err := reauth(next); err != nil {
		t.Fatalf("a token of a new authentication: %v", err)
	}
}

// OIDC's auth_time is a NumericDate, which may have a fraction of a second,
// and the database keeps microseconds: a silent refresh that repeats the
// sign-in's auth_time 1700000000.1 is refused as one of a whole second is,
// not read as a later authentication than the session's stored time.
func TestReauthenticateRefusesAFractionalAuthTimeAgain(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	g := providerGuard(t, db)
	sid := randomUUID(t)
	signedIn := json.Number(strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10) + ".1")
	token := func() string {
		c := claims(sid, time.Now())
		c["sub"] = strconv.FormatInt(db.user, 10)
		c["jti"] = randomToken(t)[:22]
		c["auth_time"] = signedIn
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}
	current := token()
	if _, err := g.Record(nil, nil, current, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	_, _, err := g.Reauthenticate(httptest.NewRecorder(), requestWithCookie(current), middleware.Reauthentication{Token: token(), ACR: "aal2"})
	if !errors.Is(err, middleware.ErrReauthenticationRequired) {
		t.Fatalf("a refresh with the sign-in's auth_time %s: %v, want ErrReauthenticationRequired", signedIn, err)
	}
}

// Record refuses a token that already has a session (ErrDuplicateToken),
// and that holds for the same ES* token re-signed (s -> n-s), a second
// string of it with another hash: a token whose session was signed out or
// revoked must not open a new one by re-signing.
func TestRecordRefusesAReSignedToken(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	for _, alg := range []struct {
		method jwt.SigningMethod
		curve  elliptic.Curve
	}{{jwt.SigningMethodES256, elliptic.P256()}, {jwt.SigningMethodES384, elliptic.P384()}, {jwt.SigningMethodES512, elliptic.P521()}} {
		t.Run(alg.method.Alg(), func(t *testing.T) {
			ecKey, err := ecdsa.GenerateKey(alg.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			g, err := middleware.New(middleware.Config{Store: db.store, AppType: sessionguard.ControlPanel, Logger: discard,
				Tokens: middleware.JWTs, JWT: &middleware.JWTConfig{ // an identity provider's: no session-id claim
					Keys:   []middleware.JWTKey{{ID: "idp", Algorithm: alg.method.Alg(), VerifyKey: &ecKey.PublicKey}},
					Issuer: "https://auth.example", Audience: "panel"}})
			if err != nil {
				t.Fatal(err)
			}
			c := claims("", time.Now())
			c["sub"] = strconv.FormatInt(db.user, 10)
			c["jti"] = randomToken(t)[:22]
			token := sign(t, alg.method, "idp", ecKey, c)
			resigned := reSigned(t, token, alg.curve)
			if _, err := g.Record(nil, nil, token, middleware.SignIn{}); err != nil {
				t.Fatal(err)
			}
			if _, err := g.Record(nil, nil, resigned, middleware.SignIn{}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
				t.Errorf("re-signed while the session lives: %v, want ErrDuplicateToken", err)
			}
			if err := g.SignOut(nil, requestWithCookie(token)); err != nil {
				t.Fatal(err)
			}
			if _, err := g.Record(nil, nil, resigned, middleware.SignIn{}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
				t.Errorf("re-signed after the sign-out: %v, want ErrDuplicateToken", err)
			}
			if code := serve(g, requestWithCookie(resigned)); code != 401 {
				t.Errorf("the re-signed token: %d, want 401", code)
			}
		})
	}
}

// reSigned returns token with its ECDSA signature's s replaced by n-s:
// ecdsa.Verify accepts both.
func reSigned(t *testing.T, token string, curve elliptic.Curve) string {
	t.Helper()
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	size := (curve.Params().BitSize + 7) / 8
	if err != nil || len(sig) != 2*size {
		t.Fatalf("not an ECDSA signature on %s: %v", curve.Params().Name, err)
	}
	s := new(big.Int).SetBytes(sig[size:])
	s.Sub(curve.Params().N, s)
	s.FillBytes(sig[size:])
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}
