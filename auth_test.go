package sessionguard_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
)

func TestCheckAuthentication(t *testing.T) {
	t.Parallel()
	many := make([]string, sessionguard.MaxAMRValues+1)
	for i := range many {
		many[i] = "pwd"
	}
	tests := []struct {
		name string
		acr  string
		amr  []string
		ok   bool
	}{
		{"nothing recorded", "", nil, true},
		{"typical", "aal2", []string{"pwd", "otp"}, true},
		{"urn acr", "urn:mace:incommon:iap:silver", []string{"hwk"}, true},
		{"longest acr", strings.Repeat("a", sessionguard.MaxACRBytes), nil, true},
		{"acr too long", strings.Repeat("a", sessionguard.MaxACRBytes+1), nil, false},
		{"acr with a space", "aal1 aal2", nil, false},
		{"acr with a quote", `aal2"`, nil, false},
		{"acr with a backslash", `aal2\`, nil, false},
		{"acr with a newline", "aal2\r\nSet-Cookie: x", nil, false},
		{"acr not ASCII", "aal2\u00e9", nil, false},
		{"empty amr value", "", []string{""}, false},
		{"amr value too long", "", []string{strings.Repeat("m", sessionguard.MaxAMRBytes+1)}, false},
		{"too many amr values", "", many, false},
		{"amr with a comma and quote", "", []string{`pwd",otp`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sessionguard.CheckAuthentication(tt.acr, tt.amr)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, sessionguard.ErrInvalidAuthentication)) {
				t.Fatalf("CheckAuthentication = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
