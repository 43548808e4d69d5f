package middleware

import (
	"crypto/sha256"
	"encoding/hex"
)

// hashToken returns hex(SHA-256(token)), 64 lowercase hex characters: the only
// form of a token the store ever sees. A plain, unsalted hash is right here:
// the token carries 256 bits of entropy (or is a signed JWT with a random
// jti), so it cannot be guessed from the hash.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:]) // one allocation; hex.EncodeToString makes two

}
