package middleware

import (
	"strings"
	"testing"
)

func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		u, err := newUUID()
		if err != nil {
			t.Fatal(err)
		}
		if !uuidPattern.MatchString(u) || u[14] != '4' || !strings.ContainsRune("89ab", rune(u[19])) || seen[u] {
			t.Fatalf("bad or repeated v4 UUID %q", u)
		}
		seen[u] = true
	}
}
