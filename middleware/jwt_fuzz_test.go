package middleware_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard/middleware"
)

// FuzzJWT: no token panics the verifier, none authenticates against an empty
// store, and the only tokens that reach the store at all are ones an
// independent golang-jwt parse with the real keys and rules accepts: a forged,
// expired, foreign or malformed token never costs a query. The seed corpus is
// in testdata/fuzz/FuzzJWT; go test runs it as a normal test.
func FuzzJWT(f *testing.F) {
	now := time.Now()
	const sid = "6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e"
	sign := func(m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	f.Add(sign(jwt.SigningMethodHS256, "k2", hmacNew, claims(sid, now)))
	f.Add(sign(jwt.SigningMethodHS256, "k1", hmacOld, claims(sid, now)))
	f.Add(sign(jwt.SigningMethodHS256, "k2", hmacOld, claims(sid, now)))
	f.Add(sign(jwt.SigningMethodHS384, "k2", append(hmacNew, hmacNew...), claims(sid, now)))
	f.Add(sign(jwt.SigningMethodNone, "k2", jwt.UnsafeAllowNoneSignatureType, claims(sid, now)))
	f.Add(sign(jwt.SigningMethodHS256, "k2", hmacNew, claims(sid, now.Add(-9*time.Hour))))

	st := newFakeStore()
	g, err := middleware.New(middleware.Config{Store: st, Logger: discard, JWT: hmacJWT()})
	if err != nil {
		f.Fatal(err)
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("https://auth.example"),
		jwt.WithAudience("panel"), jwt.WithExpirationRequired(), jwt.WithLeeway(time.Minute))
	keys := map[any][]byte{"k2": hmacNew, "k1": hmacOld}

	f.Fuzz(func(t *testing.T, token string) {
		before := st.totalCalls()
		_, err := g.Authenticate(request(nil, "Bearer "+token))
		if err == nil {
			t.Fatal("authenticated against an empty store")
		}
		if st.totalCalls() == before {
			return
		}
		_, perr := parser.Parse(token, func(tk *jwt.Token) (any, error) {
			if k, ok := keys[tk.Header["kid"]]; ok {
				return k, nil
			}
			return nil, errors.New("unknown kid")
		})
		if perr != nil {
			t.Fatalf("a token that does not verify reached the store: %v", perr)
		}
	})
}
