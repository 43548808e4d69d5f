package middleware

import (
	"strings"
	"testing"
)

func TestValidOpaqueToken(t *testing.T) {
	good, err := newOpaqueToken()
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]bool{
		good:                          true,
		strings.Repeat("A", 43):       true,
		strings.Repeat("A", 42):       false,
		strings.Repeat("A", 44):       false,
		strings.Repeat("A", 42) + "B": false, // non-canonical last character
		strings.Repeat("A", 42) + "+": false, // standard, not URL, alphabet
		strings.Repeat("A", 42) + "=": false,
	} {
		if got := validOpaqueToken(tok); got != want {
			t.Errorf("validOpaqueToken(%q) = %v, want %v", tok, got, want)
		}
	}
}
