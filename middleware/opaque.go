package middleware

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// opaqueTokenBytes is the entropy of an opaque token: 256 bits.
const opaqueTokenBytes = 32

// opaqueTokenLen is the length of an opaque token: base64url of 32 bytes
// without padding.
const opaqueTokenLen = 43

// randomToken returns n bytes from crypto/rand, base64url without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("middleware: random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newOpaqueToken returns a fresh opaque session token.
func newOpaqueToken() (string, error) { return randomToken(opaqueTokenBytes) }

// validOpaqueToken reports whether s has the exact form of an opaque token:
// 43 base64url characters that decode canonically to 32 bytes.
func validOpaqueToken(s string) bool {
	if len(s) != opaqueTokenLen {
		return false
	}
	var b [opaqueTokenBytes + 1]byte
	n, err := strictBase64URL.Decode(b[:], []byte(s))
	return err == nil && n == opaqueTokenBytes
}

// strictBase64URL is made once: Strict copies the whole Encoding (its
// decode table) on every call.
var strictBase64URL = base64.RawURLEncoding.Strict()
