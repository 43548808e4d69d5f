package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

func TestClientIPBehindProxies(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	clientIP := middleware.ClientIPBehindProxies(trusted)
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"no proxy, no header", "198.51.100.7:4000", nil, "198.51.100.7"},
		{"spoofed header from an untrusted peer is ignored", "198.51.100.7:4000", []string{"203.0.113.9"}, "198.51.100.7"},
		{"one trusted proxy", "10.0.0.2:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"client's own claim left of the real address", "10.0.0.2:80", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted proxies", "10.0.0.2:80", []string{"203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"header split over lines", "10.0.0.2:80", []string{"1.2.3.4, 203.0.113.9", "10.1.1.1"}, "203.0.113.9"},
		{"garbage from the client stops the walk", "10.0.0.2:80", []string{"203.0.113.9, ' OR 1=1"}, "10.0.0.2"},
		{"garbage after a trusted hop", "10.0.0.2:80", []string{"evil, 10.1.1.1"}, "10.1.1.1"},
		{"only trusted hops", "10.0.0.2:80", []string{"10.3.3.3, 10.1.1.1"}, "10.3.3.3"},
		{"trusted peer without header", "10.0.0.2:80", nil, "10.0.0.2"},
		{"IPv6 with port", "[2001:db8:ffff::1]:443", []string{"[2001:db8::5]:1234"}, "2001:db8::5"},
		{"IPv4-mapped IPv6 peer", "[::ffff:10.0.0.2]:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"zone dropped", "10.0.0.2:80", []string{"fe80::1%eth0"}, "fe80::1"},
		{"empty entries", "10.0.0.2:80", []string{" , "}, "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r); got != tt.want {
				t.Fatalf("client IP %q, want %q", got, tt.want)
			}
		})
	}
}

// With TrustedProxies set, the Guard records the address behind the proxy at
// sign-in; without it, a client's X-Forwarded-For changes nothing.
func TestTrustedProxiesConfig(t *testing.T) {
	t.Parallel()
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.RemoteAddr = "10.0.0.2:80"
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		return r
	}
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		want    string
	}{
		{"no trusted proxies", nil, "10.0.0.2"},
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newFakeStore()
			g := newGuard(t, st, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel; c.TrustedProxies = tc.proxies })
			if _, _, err := g.SignIn(nil, req(), middleware.SignIn{UserID: 1}); err != nil {
				t.Fatal(err)
			}
			if got := st.created[0].IP; got != tc.want {
				t.Fatalf("recorded IP %q, want %q", got, tc.want)
			}
		})
	}

	for _, cfg := range []middleware.Config{
		{TrustedProxies: []netip.Prefix{{}}},
		{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, ClientIP: middleware.RemoteAddrIP},
	} {
		cfg.Store = newFakeStore()
		if _, err := middleware.New(cfg); err == nil || !strings.HasPrefix(err.Error(), "middleware: config:") {
			t.Errorf("New(%+v) = %v, want a config error", cfg.TrustedProxies, err)
		}
	}
}

// FuzzClientIP: whatever the headers, a request from an untrusted peer gets
// the peer's address, and any answer is an IP address the client could not
// choose unless it came through a trusted proxy.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.2:80", "203.0.113.9, 10.1.1.1")
	f.Add("198.51.100.7:1", "10.0.0.1")
	f.Add("[::ffff:10.0.0.2]:80", "[2001:db8::5]:1234,,")
	f.Add("10.0.0.2:80", "fe80::1%eth0, ' OR 1=1 --")
	f.Add("garbage", "\x00\xff")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	clientIP := middleware.ClientIPBehindProxies(trusted)
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := clientIP(r)
		peer := middleware.RemoteAddrIP(r)
		pa, err := netip.ParseAddr(strings.TrimSpace(peer))
		if err != nil {
			var ap netip.AddrPort
			ap, err = netip.ParseAddrPort(strings.TrimSpace(peer))
			pa = ap.Addr()
		}
		if err != nil {
			if got != peer {
				t.Fatalf("unparsable peer %q gave %q", peer, got)
			}
			return
		}
		if !trusted[0].Contains(pa.Unmap()) {
			if got != pa.Unmap().WithZone("").String() {
				t.Fatalf("untrusted peer %q: got %q", peer, got)
			}
			return
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("answer %q is not an IP address", got)
		}
	})
}
