package middleware_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/middleware"
)

// TestSignInRefusesAnOversizedJWT: in JWT mode SignIn refuses a token longer
// than MaxTokenBytes (SECURITY.md, ASVS 3.3.5) before it opens a session or
// sets a cookie, because the Guard would refuse that token on every request.
func TestSignInRefusesAnOversizedJWT(t *testing.T) {
	tests := []struct {
		name     string
		maxBytes int    // Config.MaxTokenBytes; 0 is the default, 4096
		issuer   string // JWTConfig.Issuer, which the token carries as iss
		wantErr  bool
	}{
		{"default limit, ordinary claims", 0, "https://auth.example", false},
		{"default limit, an issuer of 5000 bytes", 0, "https://" + strings.Repeat("a", 5000), true},
		{"limit of 200 bytes, ordinary claims", 200, "https://auth.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			jwtCfg := hmacJWT()
			jwtCfg.Issuer = tt.issuer
			g := panelGuard(t, st, func(c *middleware.Config) {
				c.JWT = jwtCfg
				c.MaxTokenBytes = tt.maxBytes
			})
			rec := httptest.NewRecorder()
			tok, _, err := g.SignIn(rec, request(nil), middleware.SignIn{UserID: 42})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("SignIn: %v", err)
				}
				if len(tok) > middleware.DefaultMaxTokenBytes || rec.Header().Get("Set-Cookie") == "" {
					t.Fatalf("token of %d bytes, Set-Cookie %q", len(tok), rec.Header().Get("Set-Cookie"))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "exceeds MaxTokenBytes") {
				t.Fatalf("SignIn: err %v, want one saying the token exceeds MaxTokenBytes", err)
			}
			if tok != "" || st.totalCalls() != 0 || rec.Header().Get("Set-Cookie") != "" {
				t.Errorf("refused SignIn returned %d token bytes, made %d store calls, Set-Cookie %q",
					len(tok), st.totalCalls(), rec.Header().Get("Set-Cookie"))
			}
		})
	}
}
