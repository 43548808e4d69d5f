package pgstore

import (
	"strings"
	"testing"
)

// validHash takes exactly the 64-character strings of 0-9 and a-f: every
// byte value, at the first, a middle and the last position, and every length
// near 64.
func TestValidHash(t *testing.T) {
	t.Parallel()
	good := strings.Repeat("0123456789abcdef", 4)
	if !validHash(good) {
		t.Fatalf("validHash(%q) = false", good)
	}
	for c := range 256 {
		want := c >= '0' && c <= '9' || c >= 'a' && c <= 'f'
		for _, at := range []int{0, 31, 63} {
			h := good[:at] + string([]byte{byte(c)}) + good[at+1:]
			if got := validHash(h); got != want {
				t.Errorf("validHash with byte %#x at %d = %v, want %v", c, at, got, want)
			}
		}
	}
	for _, n := range []int{0, 1, 32, 63, 65, 128} {
		if h := strings.Repeat("a", n); validHash(h) {
			t.Errorf("validHash of %d characters = true", n)
		}
	}
}
