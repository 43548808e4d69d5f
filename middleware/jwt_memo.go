package middleware

import (
	"bytes"
	"crypto"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// maxVerifiedTokens bounds the memo of verified tokens. When it is full it
// starts over empty: a few MB at most, and a busy app's live tokens are
// verified again once.
const maxVerifiedTokens = 32_768

// verifiedTokens remembers the JWTs a Guard verified, by the SHA-256 of
// their exact bytes (the hash the store is asked about), so that the next
// request with the same token skips the signature check and the JSON
// decoding: the same bytes, checked with the same key, verify the same way,
// and say the same claims. What can change since is checked on every hit:
// the time (exp, with the leeway; nbf and iat only ever get further in the
// past) and the key, which must still be the one the token names by its
// kid, unchanged (a key rotated out of Config.JWT.Keys cannot be, but one
// dropped from or replaced in a JWKS can). A token without a kid is
// remembered with none, and its key found again by the same rule: the
// Guard's only static key. Static keys do not change after New, so its
// exp (or a full memo emptying itself) ends such an entry; the check keeps
// it from ever answering to another key. Only successes are remembered; a
// refused token is refused again the long way.
type verifiedTokens struct {
	mu      sync.RWMutex
	entries map[string]verifiedToken
}

type verifiedToken struct {
	claims   jwtClaims // Expires is zero without exp (AllowNoExpiry)
	kid, alg string
	key      any // the key that verified it
}

func (m *verifiedTokens) get(hash string) (verifiedToken, bool) {
	m.mu.RLock()
	e, ok := m.entries[hash]
	m.mu.RUnlock()
	return e, ok
}

func (m *verifiedTokens) put(hash string, e verifiedToken) {
	m.mu.Lock()
	if m.entries == nil || len(m.entries) >= maxVerifiedTokens {
		m.entries = make(map[string]verifiedToken)
	}
	m.entries[hash] = e
	m.mu.Unlock()
}

func (m *verifiedTokens) drop(hash string) {
	m.mu.Lock()
	delete(m.entries, hash)
	m.mu.Unlock()
}

// verifyHashed is verify for a token whose hex SHA-256 is hash, answered
// from the memo when the token was verified before and still holds.
func (v *jwtVerifier) verifyHashed(token, hash string) (jwtClaims, error) {
	if e, ok := v.memo.get(hash); ok {
		key, err := v.keyOf(e.kid, e.alg)
		if err == nil && sameKey(key, e.key) {
			if exp := e.claims.Expires; exp.IsZero() || v.nowFunc().Before(exp.Add(v.cfg.Leeway)) {
				return e.claims, nil
			}
		} else {
			v.memo.drop(hash)
		}
		// Expired or its key gone or changed: the long way says why.
	}
	var e verifiedToken
	claims, err := v.verifyWith(token, func(t *jwt.Token, key any) {
		e.kid, _ = t.Header["kid"].(string)
		e.alg, e.key = t.Method.Alg(), key
	})
	if err != nil {
		return jwtClaims{}, err
	}
	e.claims = claims
	v.memo.put(hash, e)
	return claims, nil
}

// sameKey reports whether a and b are the same key: equal bytes for HMAC
// secrets, Equal for public keys.
func sameKey(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case interface{ Equal(crypto.PublicKey) bool }:
		return x.Equal(b)
	}
	return false
}
