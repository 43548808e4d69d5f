package main

import (
	"errors"
	"log/slog"
	"net/http"
)

// logPasswordRefused records a failed password check, a sign-in's or a
// re-authentication's (check), as an audit line at Warn level. The Guards
// audit the sessions (created, refused, ended, a refused step-up token),
// but the password is the app's to check, so its failures are the app's
// to log (OWASP ASVS 7.2.1: every authentication decision, never the
// password or a token). The line names the account by its user id when the
// e-mail is an account's (userID 0: none is, or the attempt was throttled
// before the lookup), never the e-mail as typed, which is now and then a
// password typed into the wrong field; and the client address, as the
// Guards' events do. A throttled attempt is logged too: it is what a guessing
// run looks like once the throttle holds it.
func (a *app) logPasswordRefused(r *http.Request, check string, userID int64, err error) {
	attrs := []slog.Attr{slog.String("check", check), slog.String("client_ip", a.clientIP(r))}
	if userID != 0 {
		attrs = append(attrs, slog.Int64("user_id", userID))
	}
	why := "wrong_credentials"
	if errors.Is(err, errThrottled) {
		why = "throttled"
	}
	attrs = append(attrs, slog.String("reason", why))
	a.log.LogAttrs(r.Context(), slog.LevelWarn, "example: password refused", attrs...)
}
