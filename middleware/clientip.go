package middleware

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// RemoteAddrIP is the default Config.ClientIP: the host part of
// r.RemoteAddr. It does not look at X-Forwarded-For or any other header.
func RemoteAddrIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ClientIPBehindProxies returns a Config.ClientIP for an app behind reverse
// proxies (load balancers, CDNs) whose addresses are in trusted. It is the
// default ClientIP when Config.TrustedProxies is set.
//
// Trust assumption: every proxy in trusted appends the address it received
// the request from to X-Forwarded-For. The client address is then found by
// reading X-Forwarded-For from the right, skipping addresses in trusted; the
// first address that is not trusted is the client. A request whose direct
// peer (r.RemoteAddr) is not in trusted did not come through a proxy: its
// X-Forwarded-For is the client's own claim and is ignored. An entry that is
// not an IP address stops the walk, and the last trusted hop is returned, so
// a client can never choose the address that is recorded.
func ClientIPBehindProxies(trusted []netip.Prefix) func(r *http.Request) string {
	prefixes := make([]netip.Prefix, len(trusted))
	for i, p := range trusted {
		prefixes[i] = p.Masked()
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer, ok := parseHop(RemoteAddrIP(r))
		if !ok {
			return RemoteAddrIP(r)
		}
		if !isTrusted(peer) {
			return peer.String()
		}
		client := peer
		lines := r.Header.Values("X-Forwarded-For")
		for i := len(lines) - 1; i >= 0; i-- {
			hops := strings.Split(lines[i], ",")
			for j := len(hops) - 1; j >= 0; j-- {
				hop, ok := parseHop(hops[j])
				if !ok {
					return client.String()
				}
				client = hop
				if !isTrusted(hop) {
					return hop.String()
				}
			}
		}
		// Every hop was a trusted proxy: the leftmost is the best we know.
		return client.String()
	}
}

// parseHop parses one X-Forwarded-For entry: an IP address, optionally with a
// port ("192.0.2.1:443", "[2001:db8::1]:443"). IPv4-mapped IPv6 addresses
// become IPv4, and zones are dropped, so that prefixes match as expected.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}
