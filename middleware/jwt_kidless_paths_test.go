package middleware_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// TestKidlessTokenOnEveryPath: Record, SignOut, Refresh and Reauthenticate
// choose a kid-less token's key as Authenticate does. The Guard's one
// static key verifies it; beside a second key it is refused before the
// store on each path, though the key it was signed with is one of the two:
// SignOut, which ends a session by any token a key of the Guard signed,
// expired or not, calls the store for none.
func TestKidlessTokenOnEveryPath(t *testing.T) {
	oneKey := func() *middleware.JWTConfig {
		return &middleware.JWTConfig{
			Keys:   []middleware.JWTKey{{ID: "only", Algorithm: "HS256", VerifyKey: oneSecret}},
			Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid",
		}
	}
	twoKeys := func() *middleware.JWTConfig {
		c := oneKey()
		c.Keys = append(c.Keys, middleware.JWTKey{ID: "next", Algorithm: "HS256", VerifyKey: hmacNew})
		return c
	}
	claimsAt := func(iat time.Time, edit func(jwt.MapClaims)) jwt.MapClaims {
		c := idpClaims()
		c["iat"] = iat.Unix()
		if edit != nil {
			edit(c)
		}
		return c
	}
	now := time.Now()
	// current is the session's token, naming its key; next follows it
	// without a kid.
	current := func(t *testing.T) string {
		return sign(t, jwt.SigningMethodHS256, "only", oneSecret, claimsAt(now.Add(-time.Minute), nil))
	}
	next := func(t *testing.T) string {
		return kidless(t, jwt.SigningMethodHS256, oneSecret, claimsAt(now, func(c jwt.MapClaims) { c["auth_time"] = now.Unix() }))
	}
	seed := func(st *fakeStore, token string) {
		st.seed(token, sessionguard.NewSession{UserID: 42, TenantID: 7, AppType: sessionguard.ControlPanel, AbsoluteTimeout: time.Hour, IdleTimeout: time.Hour})
	}
	paths := []struct {
		name  string
		call  string // the store method that acts on the token
		run   func(t *testing.T, g *middleware.Guard, st *fakeStore) error
		wrong error // the refusal beside a second key
	}{
		{"Record", "Create", func(t *testing.T, g *middleware.Guard, _ *fakeStore) error {
			_, err := g.Record(nil, request(nil), kidless(t, jwt.SigningMethodHS256, oneSecret, idpClaims()), middleware.SignIn{AppType: sessionguard.ControlPanel})
			return err
		}, middleware.ErrInvalidToken},
		{"SignOut, the token expired", "SignOut", func(t *testing.T, g *middleware.Guard, st *fakeStore) error {
			expired := kidless(t, jwt.SigningMethodHS256, oneSecret, claimsAt(now.Add(-2*time.Hour), func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }))
			seed(st, expired)
			if err := g.SignOut(nil, request(nil, "Bearer "+expired)); err != nil {
				return err
			}
			if st.callCount("SignOut") == 0 {
				return middleware.ErrInvalidToken // ignored, as a forged token
			}
			return nil
		}, middleware.ErrInvalidToken},
		{"Refresh", "Reauthenticate", func(t *testing.T, g *middleware.Guard, st *fakeStore) error {
			cur := current(t)
			seed(st, cur)
			_, err := g.Refresh(nil, request(nil, "Bearer "+cur), next(t))
			return err
		}, middleware.ErrReauthenticationRequired},
		{"Reauthenticate", "Reauthenticate", func(t *testing.T, g *middleware.Guard, st *fakeStore) error {
			cur := current(t)
			seed(st, cur)
			_, _, err := g.Reauthenticate(nil, request(nil, "Bearer "+cur), middleware.Reauthentication{Token: next(t)})
			return err
		}, middleware.ErrReauthenticationRequired},
	}
	for _, p := range paths {
		t.Run(p.name+", the one key", func(t *testing.T) {
			st := newFakeStore()
			g, logs := loggingGuard(t, st, oneKey())
			if err := p.run(t, g, st); err != nil {
				t.Fatalf("refused: %v\n%s", err, logs)
			}
			if n := st.callCount(p.call); n != 1 {
				t.Errorf("%s calls = %d, want 1", p.call, n)
			}
		})
		t.Run(p.name+", beside a second key", func(t *testing.T) {
			st := newFakeStore()
			g, logs := loggingGuard(t, st, twoKeys())
			if err := p.run(t, g, st); !errors.Is(err, p.wrong) {
				t.Fatalf("got %v, want %v", err, p.wrong)
			}
			if n := st.callCount(p.call); n != 0 {
				t.Errorf("%s calls = %d, want 0", p.call, n)
			}
			if p.call == "SignOut" {
				if n := st.totalCalls(); n != 0 {
					t.Errorf("store calls = %d, want 0", n)
				}
				return
			}
			if want := "missing kid: the Guard has several keys and a token must name its own"; !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		})
	}
}

// hs256Raw is a token of header and payload as written, HS256-signed with
// secret: JSON that golang-jwt would not write (a duplicate key, a key of
// another case).
func hs256Raw(header string, payload jwt.MapClaims, secret []byte) string {
	body, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	b := base64.RawURLEncoding
	signing := b.EncodeToString([]byte(header)) + "." + b.EncodeToString(body)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + b.EncodeToString(mac.Sum(nil))
}

// TestKidlessTokenHeaderTricks: a token without a kid gets the one key's
// check and nothing else from its header. A key it carries itself (jwk,
// jku) verifies nothing, an alg in another case is no algorithm, a kid of
// another case is no kid, and of a duplicated kid the last one counts
// (golang-jwt's JSON): each refused before the store.
func TestKidlessTokenHeaderTricks(t *testing.T) {
	attacker := []byte("the attacker's own secret, 32+ bytes")
	jc := &middleware.JWTConfig{
		Keys:   []middleware.JWTKey{{ID: "only", Algorithm: "HS256", VerifyKey: oneSecret}},
		Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid",
	}
	ownKey := `{"kty":"oct","k":"` + base64.RawURLEncoding.EncodeToString(attacker) + `"}`
	tests := []struct {
		name, header string
		secret       []byte
		cause        string
	}{
		{"its own key in jwk", `{"alg":"HS256","jwk":` + ownKey + `}`, attacker, "signature invalid"},
		{"its own key set in jku", `{"alg":"HS256","jku":"https://attacker.example/jwks.json"}`, attacker, "signature invalid"},
		{"KID, another case", `{"alg":"HS256","KID":"only"}`, attacker, "signature invalid"},
		{"alg hs256", `{"alg":"hs256"}`, oneSecret, "alg not allowed"},
		{"alg none after HS256", `{"alg":"HS256","alg":"none"}`, oneSecret, "alg not allowed"},
		{"kid, then kid null", `{"alg":"HS256","kid":"only","kid":null}`, oneSecret, "kid is not a key id"},
		{"kid false", `{"alg":"HS256","kid":false}`, oneSecret, "kid is not a key id"},
		{"kid an object", `{"alg":"HS256","kid":{}}`, oneSecret, "kid is not a key id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			g, logs := loggingGuard(t, st, jc)
			if err := accepted(t, g, st, hs256Raw(tt.header, idpClaims(), tt.secret)); !errors.Is(err, middleware.ErrInvalidToken) {
				t.Fatalf("got %v, want ErrInvalidToken", err)
			}
			if n := st.totalCalls(); n != 0 {
				t.Errorf("store calls = %d, want 0", n)
			}
			if want := fmt.Sprintf("cause=%q", "jwt rejected: "+tt.cause); !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %s:\n%s", want, logs)
			}
		})
	}
	// The control: the same header JSON, signed with the one key, verifies.
	st := newFakeStore()
	g, logs := loggingGuard(t, st, jc)
	if err := accepted(t, g, st, hs256Raw(`{"alg":"HS256","KID":"only"}`, idpClaims(), oneSecret)); err != nil {
		t.Fatalf("a kid-less token of the one key, with a KID header: %v\n%s", err, logs)
	}
}
