package middleware

import "strings"

// TokenKinds are the kinds of session token a Guard accepts
// (Config.Tokens), a set: OpaqueTokens|JWTs accepts both. The Guard tells
// them apart by their shape alone, so a token of a kind it does not accept
// costs no query.
type TokenKinds uint8

const (
	// OpaqueTokens are 32 random bytes in base64url without padding: 43
	// characters, the tokens SignIn mints without JWT, and scs's.
	OpaqueTokens TokenKinds = 1 << iota
	// JWTs are signed JWTs (three base64url parts joined by dots), verified
	// with Config.JWT before the store is asked.
	JWTs
)

func (k TokenKinds) has(kind TokenKinds) bool { return k&kind != 0 }

// kindOf tells a token's kind by its shape: OpaqueTokens for exactly the
// opaque form, JWTs for three parts joined by dots (a JWS in compact form;
// the signature may be empty, so that an unsigned "alg: none" token reaches
// the verifier and is refused there by name), 0 for anything else. token
// must hold only token characters (validTokenChars), which every caller
// checks: kindOf looks at the dots alone, and a JWT's bytes are not scanned
// a second time on every request.
func kindOf(token string) TokenKinds {
	if validOpaqueToken(token) {
		return OpaqueTokens
	}
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || header == "" || payload == "" || strings.IndexByte(sig, '.') >= 0 {
		return 0
	}
	return JWTs
}
