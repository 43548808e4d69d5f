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
// accepted or refused: no caching, Vary on the credentials, and the
// X-Session-* headers exposed to cross-origin scripts.
func setCommonHeaders(h http.Header) {
	h["Cache-Control"] = []string{"no-store"}
	if len(h["Vary"]) == 0 {
		h["Vary"] = []string{varyValue}
	} else {
		addTokens(h, "Vary", "Cookie", "Authorization")
	}
	if len(h["Access-Control-Expose-Headers"]) == 0 {
		h["Access-Control-Expose-Headers"] = []string{exposeHeadersValue}
	} else {
		addTokens(h, "Access-Control-Expose-Headers", exposedHeaders...)
	}
}

// setSessionHeaders sets the remaining-time headers of an accepted request.
func setSessionHeaders(h http.Header, s Session, warn time.Duration) {
	h.Set(HeaderIdleRemaining, seconds(s.IdleRemaining))
	h.Set(HeaderAbsoluteRemaining, seconds(s.AbsoluteRemaining))
	h.Set(HeaderWarningThreshold, seconds(warn))
}

func seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatInt(int64(d/time.Second), 10)
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
