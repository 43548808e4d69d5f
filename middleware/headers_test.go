package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAddTokens(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		before []string
		want   string
	}{
		{"empty", "Vary", nil, "Cookie, Authorization"},
		{"keeps others", "Vary", []string{"Accept-Encoding"}, "Accept-Encoding, Cookie, Authorization"},
		{"no duplicates", "Vary", []string{"cookie", "Origin, authorization"}, "cookie, Origin, authorization"},
		{"partial", "Vary", []string{"Cookie"}, "Cookie, Authorization"},
		{"vary star covers all", "Vary", []string{"*"}, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.before {
				h.Add(tt.key, v)
			}
			addTokens(h, tt.key, "Cookie", "Authorization")
			if got := strings.Join(h.Values(tt.key), ", "); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
	// "*" does not expose headers on credentialed requests, so it does not
	// count.
	h := http.Header{"Access-Control-Expose-Headers": {"*"}}
	cross := httptest.NewRequest(http.MethodGet, "/", nil)
	cross.Header.Set("Origin", "https://app.example")
	setCommonHeaders(h, cross)
	if got := strings.Join(h.Values("Access-Control-Expose-Headers"), ", "); !strings.Contains(got, HeaderIdleRemaining) {
		t.Errorf("Access-Control-Expose-Headers = %q", got)
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0", -time.Second: "0", 1999 * time.Millisecond: "1", 4 * time.Hour: "14400"} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %q, want %q", d, got, want)
		}
	}
}
