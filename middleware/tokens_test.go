package middleware

import (
	"strings"
	"testing"
)

// kindOf's tokens hold token characters only (its callers check that with
// validTokenChars first; extract_test.go tests the refusal of the others).
func TestKindOf(t *testing.T) {
	opaque, err := newOpaqueToken()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		token string
		want  TokenKinds
	}{
		{opaque, OpaqueTokens},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2ln", JWTs},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiI0MiJ9.", JWTs}, // unsigned: the verifier refuses it by name
		{"a.b.c", JWTs},
		{strings.Repeat("A", 42) + "B", 0}, // 43 characters, not canonical base64url of 32 bytes
		{strings.Repeat("A", 44), 0},
		{"a.b", 0},
		{"a.b.c.d", 0}, // five-part JWE or junk
		{".b.c", 0},
		{"a..c", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := kindOf(tt.token); got != tt.want {
			t.Errorf("kindOf(%q) = %d, want %d", tt.token, got, tt.want)
		}
	}
}
