package main

import (
	"bytes"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/middleware"
)

// TestAPIRoute: which guard gets a request, by the shape of its credential
// alone.
func TestAPIRoute(t *testing.T) {
	t.Parallel()
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
	opaque := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xef}, 16)) // has - and _
	for s, want := range map[string]bool{opaque: true, opaque[:42]: false, opaque + "A": false,
		opaque[:42] + "B": false /* not canonical */, opaque[:42] + "=": false, jwt: false} {
		if opaqueShaped(s) != want {
			t.Fatalf("opaqueShaped(%q) = %t", s, !want)
		}
	}
	api := &apiGuard{cookie: cpCookie, scs: &middleware.Guard{}}
	tenantAPI := &apiGuard{cookie: tenantCookie}
	tests := []struct {
		name    string
		g       *apiGuard
		cookies []string // values of the mount's cookie
		auth    []string // Authorization header values
		want    route
	}{
		{"nothing", api, nil, nil, viaOpaque},
		{"opaque bearer", api, nil, []string{"Bearer " + opaque}, viaOpaque},
		{"JWT bearer", api, nil, []string{"Bearer " + jwt}, viaJWT},
		{"JWT bearer, scheme in lower case", api, nil, []string{"bearer " + jwt}, viaJWT},
		{"two Authorization headers", api, nil, []string{"Bearer " + jwt, "Bearer " + jwt}, viaOpaque},
		{"another scheme", api, nil, []string{"Basic " + jwt}, viaOpaque},
		{"scs cookie", api, []string{opaque}, nil, viaSCS},
		{"scs cookie and the same bearer", api, []string{opaque}, []string{"Bearer " + opaque}, viaSCS},
		{"scs cookie and another bearer", api, []string{opaque}, []string{"Bearer " + jwt}, viaOpaque},
		{"malformed scs cookie", api, []string{"abc"}, nil, viaOpaque},
		{"JWT in the scs cookie", api, []string{jwt}, []string{"Bearer " + jwt}, viaOpaque},
		{"two scs cookies", api, []string{opaque, opaque}, nil, viaOpaque},
		{"tenant cookie", tenantAPI, []string{jwt}, nil, viaJWT},
		{"tenant cookie and a bearer", tenantAPI, []string{jwt}, []string{"Bearer " + opaque}, viaJWT},
		{"opaque token as tenant cookie", tenantAPI, []string{opaque}, nil, viaOpaque},
		{"opaque bearer on the tenant API", tenantAPI, nil, []string{"Bearer " + opaque}, viaOpaque},
		{"JWT bearer on the tenant API", tenantAPI, nil, []string{"Bearer " + jwt}, viaJWT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/me", nil)
			if len(tt.cookies) > 0 {
				r.Header.Set("Cookie", tt.g.cookie+"="+strings.Join(tt.cookies, "; "+tt.g.cookie+"="))
			}
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			if got := tt.g.route(r); got != tt.want {
				t.Errorf("route %d, want %d", got, tt.want)
			}
		})
	}
}
