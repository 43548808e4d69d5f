package middleware

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestVerifiedTokenMemo: a token verified before is answered without
// parsing it again; its exp, its key (still there, still the same) are
// checked on every hit; a refused token is never remembered.
func TestVerifiedTokenMemo(t *testing.T) {
	now := time.Now()
	hashOf := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	tokenFor := func(t *testing.T, exp time.Time) string {
		return signClaims(t, "k", jwt.MapClaims{"iss": "https://idp.example", "sub": "42", "exp": exp.Unix()})
	}
	// unparsable makes every parse fail: only a memo hit can verify.
	unparsable := func(v *jwtVerifier) { v.parser = jwt.NewParser(jwt.WithValidMethods([]string{"none-at-all"})) }

	t.Run("a hit skips the parse and the signature check", func(t *testing.T) {
		v := claimVerifier(t, nil)
		tok := tokenFor(t, now.Add(time.Hour))
		if _, err := v.verifyHashed(tok, hashOf(tok)); err != nil {
			t.Fatal(err)
		}
		unparsable(v)
		c, err := v.verifyHashed(tok, hashOf(tok))
		if err != nil || c.UserID != 42 {
			t.Fatalf("hit = %+v, %v; want the claims of the first check", c, err)
		}
		other := tokenFor(t, now.Add(2*time.Hour))
		if _, err := v.verifyHashed(other, hashOf(other)); err == nil {
			t.Fatal("a token never verified passed without a parse")
		}
	})
	t.Run("exp is checked on every hit, with the leeway", func(t *testing.T) {
		v := claimVerifier(t, func(c *JWTConfig) { c.Leeway = 10 * time.Second })
		tok := tokenFor(t, now.Add(time.Minute))
		if _, err := v.verifyHashed(tok, hashOf(tok)); err != nil {
			t.Fatal(err)
		}
		v.nowFunc = func() time.Time { return now.Add(time.Minute + 5*time.Second) }
		if _, err := v.verifyHashed(tok, hashOf(tok)); err != nil {
			t.Fatalf("within the leeway: %v", err)
		}
		v.nowFunc = func() time.Time { return now.Add(time.Minute + 11*time.Second) }
		if _, err := v.verifyHashed(tok, hashOf(tok)); !errors.Is(err, errJWT) {
			t.Fatalf("past exp + leeway: %v, want a refusal", err)
		}
	})
	t.Run("a key removed or replaced ends its tokens' entries", func(t *testing.T) {
		for name, change := range map[string]func(v *jwtVerifier){
			"removed": func(v *jwtVerifier) { delete(v.keys, "k") },
			"replaced": func(v *jwtVerifier) {
				v.keys["k"] = JWTKey{ID: "k", Algorithm: "HS256", VerifyKey: []byte("another secret, 32 bytes long!!")}
			},
		} {
			v := claimVerifier(t, nil)
			tok := tokenFor(t, now.Add(time.Hour))
			if _, err := v.verifyHashed(tok, hashOf(tok)); err != nil {
				t.Fatal(err)
			}
			change(v)
			if _, err := v.verifyHashed(tok, hashOf(tok)); !errors.Is(err, errJWT) {
				t.Fatalf("key %s: %v, want a refusal", name, err)
			}
			if _, ok := v.memo.get(hashOf(tok)); ok {
				t.Fatalf("key %s: the entry is still there", name)
			}
		}
	})
	t.Run("a kid-less token's entry holds while the Guard's one key does", func(t *testing.T) {
		// Static keys cannot change after New: this shows that the entry
		// answers to the one key, never to another key or to a key set
		// whose token must name its key.
		other := []byte("another secret, 32 bytes long!!")
		for name, tt := range map[string]struct {
			change func(v *jwtVerifier)
			hit    bool
		}{
			"the key as it was": {func(*jwtVerifier) {}, true},
			"the same key under another id": {func(v *jwtVerifier) {
				v.keys = map[string]JWTKey{"k2": {ID: "k2", Algorithm: "HS256", VerifyKey: claimTestSecret}}
			}, true},
			"another key under another id": {func(v *jwtVerifier) {
				v.keys = map[string]JWTKey{"k2": {ID: "k2", Algorithm: "HS256", VerifyKey: other}}
			}, false},
			"the key replaced":             {func(v *jwtVerifier) { v.keys["k"] = JWTKey{ID: "k", Algorithm: "HS256", VerifyKey: other} }, false},
			"the key of another algorithm": {func(v *jwtVerifier) { v.keys["k"] = JWTKey{ID: "k", Algorithm: "HS384", VerifyKey: claimTestSecret} }, false},
			"the key removed":              {func(v *jwtVerifier) { delete(v.keys, "k") }, false},
			"a second key beside it":       {func(v *jwtVerifier) { v.keys["k2"] = JWTKey{ID: "k2", Algorithm: "HS256", VerifyKey: other} }, false},
			"the same key twice, two ids":  {func(v *jwtVerifier) { v.keys["k2"] = JWTKey{ID: "k2", Algorithm: "HS256", VerifyKey: claimTestSecret} }, false},
		} {
			t.Run(name, func(t *testing.T) {
				v := claimVerifier(t, nil)
				tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://idp.example", "sub": "42", "exp": now.Add(time.Hour).Unix()}).SignedString(claimTestSecret)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := v.verifyHashed(tok, hashOf(tok)); err != nil {
					t.Fatalf("kid-less token of the one key: %v", err)
				}
				if e, ok := v.memo.get(hashOf(tok)); !ok || e.kid != "" {
					t.Fatalf("entry %+v, %v; want one with no kid", e, ok)
				}
				tt.change(v)
				unparsable(v)
				c, err := v.verifyHashed(tok, hashOf(tok))
				if _, kept := v.memo.get(hashOf(tok)); tt.hit != (err == nil && c.UserID == 42) || tt.hit != kept {
					t.Fatalf("answered %+v, %v, entry kept %v; want a hit %v", c, err, kept, tt.hit)
				}
			})
		}
	})
	t.Run("a refused token is not remembered", func(t *testing.T) {
		v := claimVerifier(t, nil)
		tok := tokenFor(t, now.Add(-time.Hour))
		if _, err := v.verifyHashed(tok, hashOf(tok)); err == nil {
			t.Fatal("an expired token verified")
		}
		if _, ok := v.memo.get(hashOf(tok)); ok {
			t.Fatal("a refused token was remembered")
		}
	})
	t.Run("the memo is bounded", func(t *testing.T) {
		var m verifiedTokens
		for i := range maxVerifiedTokens + 10 {
			m.put(hashOf(string(rune(i))), verifiedToken{})
		}
		if n := len(m.entries); n > maxVerifiedTokens {
			t.Fatalf("%d entries, max %d", n, maxVerifiedTokens)
		}
	})
}
