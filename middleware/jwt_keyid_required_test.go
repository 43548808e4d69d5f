package middleware_test

import (
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/middleware"
)

// TestOnlyKeyStillNeedsAnID: a Guard's only static key verifies tokens
// without a kid, yet New still requires its ID (README, "Keys"): the tokens
// a Guard signs carry it, and a rotation's second key makes every token
// name its key. An ID left empty because the issuer writes no kid is
// refused when the Guard is built, not found out at the rotation.
func TestOnlyKeyStillNeedsAnID(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  middleware.JWTKey
	}{
		{"verify only", middleware.JWTKey{Algorithm: "HS256", VerifyKey: oneSecret}},
		{"signing", middleware.JWTKey{Algorithm: "HS256", SignKey: oneSecret}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := middleware.New(middleware.Config{Store: newFakeStore(), Logger: discard, Tokens: middleware.JWTs,
				JWT: &middleware.JWTConfig{Keys: []middleware.JWTKey{tt.key}, Issuer: "https://idp.example", Audience: "tenant-app"}})
			if err == nil {
				t.Fatal("New accepted a key without an ID")
			}
			if !strings.HasPrefix(err.Error(), "middleware: config: ") || !strings.Contains(err.Error(), "JWT.Keys[0].ID") {
				t.Errorf("error %q, want a config error naming JWT.Keys[0].ID", err)
			}
		})
	}
}
