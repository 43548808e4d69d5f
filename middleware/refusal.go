package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// RefusalError is why a request was not authenticated. Compare it with the
// sentinels below through errors.Is (which matches on Reason, whatever the
// EndReason), or read it with errors.As.
//
// Its Error text never contains a token, a token hash or a cookie value.
type RefusalError struct {
	Status int // HTTP status for the response: 400, 401, 403 or 503
	// Reason is the machine-readable reason: the Reason of one of the
	// sentinels below ("missing", "invalid", "idle_timeout", …), the
	// "reason" of DenyJSON's body and the X-Session-End-Reason header.
	Reason    string
	EndReason string // for ErrRevoked: why the session ended ("logout", "admin_revoke", …)
	// Bearer is true when the client is a bearer client: the token came from
	// the Authorization header, or there was no token and no session cookie.
	// The default Deny's WWW-Authenticate says what was wrong with the
	// token (RFC 6750's error attribute) for those only.
	Bearer bool
	// MaxAge and ACRValues are, for ErrReauthenticationRequired, what the
	// route asks: the longest time since the last authentication (0: any)
	// and the acceptable acr values, space-separated as in RFC 9470 ("": any).
	MaxAge    time.Duration
	ACRValues string

	cause    error  // the store error, for ErrUnavailable
	causeMsg string // cause.Error() with the token and hash redacted
	realm    string // the refusing Guard's Config.Realm, for WWW-Authenticate
}

// Sentinels for errors.Is.
var (
	ErrMissingToken    = &RefusalError{Status: http.StatusUnauthorized, Reason: "missing"}
	ErrInvalidToken    = &RefusalError{Status: http.StatusUnauthorized, Reason: "invalid"}
	ErrIdleTimeout     = &RefusalError{Status: http.StatusUnauthorized, Reason: "idle_timeout"}
	ErrAbsoluteTimeout = &RefusalError{Status: http.StatusUnauthorized, Reason: "absolute_timeout"}
	// ErrRevoked: the session was ended on purpose; EndReason says why
	// ("logout", "admin_revoke", …).
	ErrRevoked     = &RefusalError{Status: http.StatusUnauthorized, Reason: "revoked"}
	ErrWrongApp    = &RefusalError{Status: http.StatusForbidden, Reason: "wrong_app"}
	ErrWrongTenant = &RefusalError{Status: http.StatusForbidden, Reason: "wrong_tenant"}
	// ErrBadTenant: the route's tenant could not be resolved (Config.Tenant
	// failed or gave no tenant).
	ErrBadTenant = &RefusalError{Status: http.StatusBadRequest, Reason: "bad_tenant"}
	// ErrMalformedRequest: the Authorization header is not one Bearer
	// credential as RFC 6750 writes it ("Bearer", spaces, one token): no
	// token, two, a character no token has, or several Authorization
	// headers. RFC 6750's invalid_request, a 400: the request is wrong,
	// whatever the token.
	ErrMalformedRequest = &RefusalError{Status: http.StatusBadRequest, Reason: "malformed_request"}
	// ErrUnavailable: the store failed or did not answer in time. The
	// returned error wraps the store's error (errors.Unwrap); the default
	// response body never includes it.
	ErrUnavailable = &RefusalError{Status: http.StatusServiceUnavailable, Reason: "unavailable"}
	// ErrCanceled: the request's context was canceled (the client went
	// away) before the store answered, and the store's call failed with
	// that cancellation (an error of the store's own, or its StoreTimeout
	// passing, stays ErrUnavailable). It is refused as every answer that
	// is not a pass, but it says nothing about the store: it is logged at
	// Debug level and counted under its own reason, so that an alert on
	// ErrUnavailable does not fire on clients that leave. The returned
	// error wraps the store's error, as ErrUnavailable's does.
	ErrCanceled = &RefusalError{Status: http.StatusServiceUnavailable, Reason: "canceled"}
)

func (e *RefusalError) Error() string {
	msg := "middleware: session refused: " + e.Reason
	if e.EndReason != "" {
		msg += " (" + e.EndReason + ")"
	}
	if e.causeMsg != "" {
		// A cause of this package's own names the package already.
		msg += ": " + strings.TrimPrefix(e.causeMsg, "middleware: ")
	}
	return msg
}

// Is matches a RefusalError of the same Reason.
func (e *RefusalError) Is(target error) bool {
	t, ok := target.(*RefusalError)
	return ok && t.Reason == e.Reason
}

// Unwrap returns the store error behind an ErrUnavailable or ErrCanceled
// refusal, or behind a re-authentication refused because its token is taken
// (sessionguard.ErrDuplicateToken); nil for any other.
func (e *RefusalError) Unwrap() error { return e.cause }

// refuse makes a fresh refusal from a sentinel.
func refuse(sentinel *RefusalError, bearer bool) *RefusalError {
	return &RefusalError{Status: sentinel.Status, Reason: sentinel.Reason, Bearer: bearer}
}

// unavailable wraps a store error. secrets (the token and its hash) are
// redacted from the message, in case a store puts its arguments in its errors.
func unavailable(cause error, bearer bool, secrets ...string) *RefusalError {
	e := refuse(ErrUnavailable, bearer)
	e.cause = cause
	e.causeMsg = redact(cause.Error(), secrets...)
	return e
}

// callFailed is the refusal of a failed call (the store's, or
// Config.Tenant's) made for a request with ctx, its context: ErrUnavailable,
// or ErrCanceled when the call failed because ctx was canceled, the client
// gone before the answer came. Both must hold: a store error of its own (a
// refused connection, the StoreTimeout passed) is an outage even when the
// client has gone too by the time it returns, or an outage that outlasts
// its clients' patience would be counted and logged as nothing but clients
// leaving.
func callFailed(ctx context.Context, cause error, bearer bool, secrets ...string) *RefusalError {
	e := unavailable(cause, bearer, secrets...)
	if errors.Is(cause, context.Canceled) && errors.Is(ctx.Err(), context.Canceled) {
		e.Reason = ErrCanceled.Reason
	}
	return e
}

// logFailed logs a failed store call of SignIn, Record, Reauthenticate or
// SignOut: as an outage (at Error level, the first of each second:
// outageLog), unless e is ErrCanceled (the client left), which is logged at
// Debug level as the Middleware's refusals are.
func (g *Guard) logFailed(ctx context.Context, msg string, e *RefusalError) {
	if errors.Is(e, ErrCanceled) {
		g.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, msg, slog.String("error", e.causeMsg))
		return
	}
	level, since := g.outage.level(g.now())
	g.cfg.Logger.LogAttrs(ctx, level, msg, since, slog.String("error", e.causeMsg))
}

func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}

// cleanEndReason keeps a store-provided end reason only when it is a short
// identifier ([a-z0-9_.-], at most 50 bytes, as in sessions.revoke_reason), so
// that it is safe in a header, a log line and a JSON body; anything else
// becomes "other".
func cleanEndReason(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 50 {
		return "other"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "other"
		}
	}
	return s
}

// refusalBody is the default JSON refusal.
type refusalBody struct {
	Error     string `json:"error"`
	Reason    string `json:"reason"`
	EndReason string `json:"end_reason,omitempty"`
}

// DenyJSON is the default Config.Deny, for APIs: it writes application/json
// {"error":…,"reason":…,"end_reason":…} with the refusal's status,
// X-Session-End-Reason (and X-Session-Revoke-Reason with the end_reason),
// Cache-Control: no-store, and a WWW-Authenticate challenge in the Guard's
// realm on every 401 and on a bearer client's 403 (RFC 6750: no error
// attribute for a request that presented no bearer token, a cookie client's
// included, invalid_token for a refused bearer token, insufficient_scope for
// a session of another app or tenant, invalid_request for a malformed
// Authorization header's 400). A 503 gets
// Retry-After: 1. Errors that are not a *RefusalError are answered as 503.
//
// [ErrReauthenticationRequired] (a live session that a [Guard.Require]
// route finds too old or of another level) is answered 401
// {"error":"insufficient_user_authentication","reason":"reauthentication_required",
// "max_age":…,"acr_values":…} with X-Session-Reauthentication instead of
// X-Session-End-Reason (the session has not ended), and bearer clients get
// RFC 9470's challenge (cookie clients the bare one), for instance
// Bearer realm="…", error="insufficient_user_authentication",
// error_description="More recent authentication is required", max_age=600.
func DenyJSON(w http.ResponseWriter, _ *http.Request, err error) {
	var re *RefusalError
	if !errors.As(err, &re) {
		re = refuse(ErrUnavailable, false)
	}
	if errors.Is(re, ErrReauthenticationRequired) {
		denyReauthentication(w, re)
		return
	}
	h := w.Header()
	body := refusalBody{Reason: re.Reason, EndReason: cleanEndReason(re.EndReason)}
	switch re.Status {
	case http.StatusUnauthorized:
		body.Error = "session_invalid"
	case http.StatusForbidden:
		body.Error = "forbidden"
	case http.StatusBadRequest:
		body.Error = "bad_request"
	default:
		body.Error = "unavailable"
	}
	if v := challenge(re); v != "" {
		h.Set("WWW-Authenticate", v)
	}
	status := re.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	h.Set(HeaderEndReason, re.Reason)
	if body.EndReason != "" {
		h.Set(HeaderRevokeReason, body.EndReason)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	b, _ := json.Marshal(body) // cannot fail: three strings
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// challenge is DenyJSON's WWW-Authenticate value for re, "" for none. Every
// 401 has one (RFC 9110 section 15.5.2: a 401 MUST carry a challenge
// applicable to the resource), the cookie client's too: Bearer is the scheme
// the Guard accepts besides its cookie, so it applies to every route, and
// browsers, which prompt for Basic, Digest, NTLM and Negotiate only, ignore
// it. The error attribute (RFC 6750 section 3.1) is for a request that
// presented a bearer token: a cookie client, or a request with no token,
// gets the bare challenge. A malformed Authorization header's 400 says
// invalid_request, a bearer client's 403 insufficient_scope.
func challenge(re *RefusalError) string {
	bare := bareChallenge(re)
	switch {
	case re.Status == http.StatusUnauthorized && (!re.Bearer || errors.Is(re, ErrMissingToken)):
		return bare
	case !re.Bearer:
		return ""
	case errors.Is(re, ErrMalformedRequest):
		return bare + `, error="invalid_request"`
	case re.Status == http.StatusUnauthorized:
		return bare + `, error="invalid_token"`
	case re.Status == http.StatusForbidden:
		return bare + `, error="insufficient_scope"`
	}
	return ""
}

// bareChallenge is the Bearer challenge in the refusing Guard's realm,
// without an error attribute: every challenge the Guard writes starts so.
func bareChallenge(re *RefusalError) string {
	realm := re.realm
	if realm == "" {
		realm = DefaultRealm
	}
	return `Bearer realm="` + realm + `"`
}

// GoString is Error, so that %#v prints no more than Error does.
func (e *RefusalError) GoString() string { return e.Error() }
