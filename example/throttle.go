package main

import (
	"errors"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in throttling, per client address and per account, on the form and
// the API sign-ins alike.
//
// Why golang.org/x/time/rate and not github.com/go-chi/httprate: the account
// is known only once the body is read, inside the handler, and per account
// only failed sign-ins count; a token bucket per key answers both "may this
// key try now?" without spending and "when may it?" (Retry-After), where
// httprate is a middleware that counts every request it sees. Both keep
// their counts in this process: behind a load balancer each instance
// throttles on its own, so the limits multiply by the number of instances
// (httprate can share counts through Redis; a team that needs that can swap
// the throttle for it).

// rateLimit is a token bucket: burst attempts at once, then one every every.
type rateLimit struct {
	every time.Duration
	burst int
}

// Default limits. Per address every attempt counts (each costs a bcrypt
// comparison); per account only failures count, and a correct password
// forgets them, so that a user who mistyped is not held back once in.
var (
	defaultAddressLimit = rateLimit{every: 3 * time.Second, burst: 20}
	defaultAccountLimit = rateLimit{every: 30 * time.Second, burst: 5}
)

// maxThrottleKeys bounds the keys a throttle keeps (about 100 bytes each).
const maxThrottleKeys = 100_000

// throttle keeps a token bucket per key.
type throttle struct {
	limit   rate.Limit
	burst   int
	maxKeys int

	mu   sync.Mutex
	keys map[string]*rate.Limiter
}

func newThrottle(l rateLimit) *throttle {
	return &throttle{limit: rate.Every(l.every), burst: l.burst, maxKeys: maxThrottleKeys, keys: map[string]*rate.Limiter{}}
}

// take spends one attempt of key's allowance, or reports how long key must
// wait for the next one (spending nothing).
func (t *throttle) take(key string, now time.Time) (wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if wait = t.waitLocked(key, now); wait == 0 {
		t.limiterLocked(key, now).AllowN(now, 1)
	}
	return wait
}

// wait reports how long key must wait before its next attempt, 0 if none.
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waitLocked(key, now)
}

// forget resets key's allowance to a full bucket.
func (t *throttle) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

func (t *throttle) waitLocked(key string, now time.Time) time.Duration {
	lim, ok := t.keys[key]
	if !ok {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(t.limit) * float64(time.Second))
}

// limiterLocked returns key's bucket, making room for a new one if needed:
// first by dropping full buckets (the same as no bucket), then arbitrary ones,
// so that memory stays bounded whatever keys arrive. Dropping a bucket
// forgets its attempts; reaching that takes maxKeys keys, each throttled by
// address too.
func (t *throttle) limiterLocked(key string, now time.Time) *rate.Limiter {
	if lim, ok := t.keys[key]; ok {
		return lim
	}
	if len(t.keys) >= t.maxKeys {
		for k, lim := range t.keys {
			if lim.TokensAt(now) >= float64(t.burst) {
				delete(t.keys, k)
			}
		}
		for k := range t.keys {
			if len(t.keys) < t.maxKeys {
				break
			}
			delete(t.keys, k)
		}
	}
	lim := rate.NewLimiter(t.limit, t.burst)
	t.keys[key] = lim
	return lim
}

// addressKey is the throttling key of a client address (app.clientIP: the
// peer's, or behind TRUSTED_PROXIES the client the proxies report): the
// address itself, or its /64 for IPv6, the block one client usually holds.
func addressKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// errThrottled is a sign-in refused for throttling; a throttledError says
// when to try again.
var errThrottled = errors.New("too many sign-in attempts")

type throttledError struct{ wait time.Duration }

func (e *throttledError) Error() string { return errThrottled.Error() }
func (e *throttledError) Unwrap() error { return errThrottled }

// retryAfter is the Retry-After value: whole seconds, rounded up, at least 1.
func (e *throttledError) retryAfter() int64 { return max(1, int64(math.Ceil(e.wait.Seconds()))) }

// setRetryAfter sets the Retry-After header of a throttled sign-in.
func setRetryAfter(w http.ResponseWriter, e *throttledError) {
	w.Header().Set("Retry-After", strconv.FormatInt(e.retryAfter(), 10))
}
