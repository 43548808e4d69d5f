package middleware

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Response headers.
const (
	HeaderIdleRemaining     = "X-Session-Idle-Remaining"     // whole seconds before the idle timeout
	HeaderAbsoluteRemaining = "X-Session-Absolute-Remaining" // whole seconds before the absolute timeout
	HeaderWarningThreshold  = "X-Session-Warning-Threshold"  // seconds before the idle timeout to warn
	HeaderEndReason         = "X-Session-End-Reason"         // the reason of a refusal
	// HeaderRevokeReason is, on a "revoked" refusal, why the session was
	// ended ("logout", "admin_revoke", "session_limit", …): the body's
	// end_reason, for scripts that read headers only (warning.js).
	HeaderRevokeReason = "X-Session-Revoke-Reason"
)

var exposedHeaders = []string{HeaderIdleRemaining, HeaderAbsoluteRemaining, HeaderWarningThreshold, HeaderEndReason, HeaderRevokeReason, HeaderReauthentication}

// Header values of the common case, where the handler chain has not set
// these headers yet: built once, not per response.
var (
	varyValue          = "Cookie, Authorization"
	exposeHeadersValue = strings.Join(exposedHeaders, ", ")
)

// setCommonHeaders sets the headers of every response the guard decides,
// accepted or refused: no caching, Vary on the credentials, and, on a
// cross-origin request, the X-Session-* headers exposed to its script.
func setCommonHeaders(h http.Header, r *http.Request) { setCommon(h, r, make([]string, 3)) }

// setCommon is setCommonHeaders with the values' slices cut from vals (3
// long), so that a response's headers cost one allocation, not one each.
// Each value gets a slice of its own capacity: appending to one never
// writes into another.
//
// Access-Control-Expose-Headers goes only on responses to requests with an
// Origin header: browsers read it only on CORS responses, and every CORS
// request carries Origin (Fetch standard). Same-origin scripts read every
// header anyway, and the value is the longest the Guard writes.
func setCommon(h http.Header, r *http.Request, vals []string) {
	vals[0] = "no-store"
	h["Cache-Control"] = vals[0:1:1]
	if len(h["Vary"]) == 0 {
		vals[1] = varyValue
		h["Vary"] = vals[1:2:2]
	} else {
		addTokens(h, "Vary", "Cookie", "Authorization")
	}
	if len(r.Header["Origin"]) == 0 {
		return
	}
	if len(h["Access-Control-Expose-Headers"]) == 0 {
		vals[2] = exposeHeadersValue
		h["Access-Control-Expose-Headers"] = vals[2:3:3]
	} else {
		addTokens(h, "Access-Control-Expose-Headers", exposedHeaders...)
	}
}

// setAcceptedHeaders sets the common headers and the remaining-time headers
// of an accepted request: the hot path, in two allocations (the values'
// slices, and both numbers' digits in one string). warn is the warning
// threshold's header value, formatted once when the Guard was built.
func setAcceptedHeaders(h http.Header, r *http.Request, s Session, warn string) {
	vals := make([]string, 6)
	setCommon(h, r, vals[:3])
	var buf [40]byte
	b := strconv.AppendInt(buf[:0], secondsLeft(s.IdleRemaining), 10)
	idleEnd := len(b)
	b = strconv.AppendInt(b, secondsLeft(s.AbsoluteRemaining), 10)
	digits := string(b)
	vals[3], vals[4], vals[5] = digits[:idleEnd], digits[idleEnd:], warn
	h[HeaderIdleRemaining] = vals[3:4:4]
	h[HeaderAbsoluteRemaining] = vals[4:5:5]
	h[HeaderWarningThreshold] = vals[5:6:6]
}

// clearTimeLeft takes the time-left headers off a response whose session
// ends with it (SignOut, or SignIn replacing it): they would count down a
// session that is gone.
func clearTimeLeft(h http.Header) {
	delete(h, HeaderIdleRemaining)
	delete(h, HeaderAbsoluteRemaining)
	delete(h, HeaderWarningThreshold)
}

func seconds(d time.Duration) string { return strconv.FormatInt(secondsLeft(d), 10) }

// secondsLeft is d in whole seconds, 0 when negative.
func secondsLeft(d time.Duration) int64 {
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}

// addTokens adds the comma-separated tokens to header key, skipping those
// already present (case-insensitively), without clobbering existing values.
func addTokens(h http.Header, key string, tokens ...string) {
	var missing []string
	for _, t := range tokens {
		if !hasToken(h.Values(key), t, key == "Vary") {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		h.Add(key, strings.Join(missing, ", "))
	}
}

// hasToken reports whether token is among values. A "*" covers every token
// only when star is true: it does for Vary, but not for
// Access-Control-Expose-Headers, where browsers ignore it on credentialed
// requests.
func hasToken(values []string, token string, star bool) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			p := strings.TrimSpace(part)
			if star && p == "*" || strings.EqualFold(p, token) {
				return true
			}
		}
	}
	return false
}
