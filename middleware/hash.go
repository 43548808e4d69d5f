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
	// Copied into a stack buffer: []byte(token) would allocate for any
	// token longer than 32 bytes. Tokens past the buffer (up to
	// MaxTokenBytes) take the allocation.
	var in [512]byte
	sum := sha256.Sum256(append(in[:0], token...))
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:]) // one allocation; hex.EncodeToString makes two

}
