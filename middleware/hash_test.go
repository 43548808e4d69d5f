package middleware

import "testing"

func TestHashToken(t *testing.T) {
	// sha256("abc"), a published test vector.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := hashToken("abc"); got != want {
		t.Errorf("hashToken = %s", got)
	}
}
