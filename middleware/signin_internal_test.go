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

func TestCleanIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":        "192.0.2.1",
		"2001:db8::1":      "2001:db8::1",
		"not an ip":        "",
		"192.0.2.1:80":     "",
		"":                 "",
		"1.2.3.4, 5.6.7.8": "",
	} {
		if got := cleanIP(in); got != want {
			t.Errorf("cleanIP(%q) = %q, want %q", in, got, want)
		}
	}
}
