package middleware

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestJWTTimeClaimsPastYear9999 backs SECURITY.md ("a time claim past year
// 9999 … is refused before the store") at the boundary itself: the last
// second of year 9999 is a time, the first of year 10000 is not, for each
// time claim, and so is a second before year 1. (TestJWTClaimRules has
// values past int64 seconds, which any bound refuses, and year 9999 itself.)
func TestJWTTimeClaimsPastYear9999(t *testing.T) {
	const (
		lastOf9999   = 253402300799 // 9999-12-31T23:59:59Z
		firstOf10000 = 253402300800 // 10000-01-01T00:00:00Z
		firstOfYear1 = -62135596800 // 0001-01-01T00:00:00Z
	)
	now := time.Now()
	claims := func(name string, value int64) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://idp.example", "sub": "42", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		c[name] = value
		return c
	}
	tests := []struct {
		claim   string
		value   int64
		wantErr string // "" when accepted
	}{
		{"exp", lastOf9999, ""},
		{"exp", firstOf10000, "claim exp is not a time"},
		{"nbf", firstOf10000, "claim nbf is not a time"},
		{"iat", firstOf10000, "claim iat is not a time"},
		{"auth_time", lastOf9999, ""},
		{"auth_time", firstOf10000, "claim auth_time is not a time"},
		{"iat", firstOfYear1, ""},
		{"iat", firstOfYear1 - 1, "claim iat is not a time"},
	}
	v := claimVerifier(t, nil)
	for _, tt := range tests {
		t.Run(tt.claim+" "+time.Unix(tt.value, 0).UTC().Format(time.RFC3339), func(t *testing.T) {
			_, err := v.verify(signClaims(t, "k", claims(tt.claim, tt.value)))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("verify = %v, want accepted", err)
			case tt.wantErr != "" && (err == nil || err.Error() != "jwt rejected: "+tt.wantErr):
				t.Fatalf("verify = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
