package middleware

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard"
)

// ErrReauthenticationRequired: the session is live, but its last
// authentication is older than the route allows or not of a level it
// accepts (see Requirement). The session is not ended: once the user has
// re-entered a credential and the application has called
// Guard.Reauthenticate, the same route lets them in. The refusal's MaxAge
// and ACRValues say what the route asks for. Guard.Reauthenticate returns
// it too (with neither) when it refuses the token of a re-authentication.
var ErrReauthenticationRequired = &RefusalError{Status: http.StatusUnauthorized, Reason: "reauthentication_required"}

// HeaderReauthentication is set to "reauthentication_required" on a
// Requirement's refusal, for scripts. It is not X-Session-End-Reason: the
// session has not ended, and a script that signs the user out on that
// header (warning.js does) must leave this refusal to the page.
const HeaderReauthentication = "X-Session-Reauthentication"

// Requirement is what a route asks of a session's authentication, beyond
// being live: that it is recent (ASVS 7.5.1, 7.5.3: re-authentication
// before changing credentials or other sensitive operations), or of a given
// level (step-up). The zero Requirement asks nothing more.
type Requirement struct {
	// MaxAge is how long ago the last authentication (sign-in or
	// Guard.Reauthenticate) may be, by the database's clock, in whole
	// seconds. 0 means any age.
	MaxAge time.Duration
	// ACR lists the acr values the route accepts, most preferred first
	// (sent to bearer clients as RFC 9470's acr_values). Empty means any.
	ACR []string
}

// Check is the decision behind [Guard.Require]: nil when s meets q, else a
// *RefusalError matching ErrReauthenticationRequired that carries q (MaxAge,
// ACRValues) and s.Bearer. A session without an authentication time (the
// zero Session) never meets a MaxAge.
func (q Requirement) Check(s Session) error {
	if e := q.refusal(s); e != nil {
		return e
	}
	return nil
}

// refusal is Check's refusal, or nil.
func (q Requirement) refusal(s Session) *RefusalError {
	tooOld := q.MaxAge > 0 && (s.AuthTime.IsZero() || s.AuthAge > q.MaxAge)
	wrongLevel := len(q.ACR) > 0 && !slices.Contains(q.ACR, s.ACR)
	if !tooOld && !wrongLevel {
		return nil
	}
	e := refuse(ErrReauthenticationRequired, s.Bearer)
	e.MaxAge = q.MaxAge
	e.ACRValues = strings.Join(q.ACR, " ")
	return e
}

// validate checks q once, when a route is built.
func (q Requirement) validate() error {
	switch {
	case q.MaxAge < 0:
		return fmt.Errorf("middleware: requirement: MaxAge %v is negative", q.MaxAge)
	case q.MaxAge%time.Second != 0:
		return fmt.Errorf("middleware: requirement: MaxAge %v is not whole seconds", q.MaxAge)
	case len(q.ACR) > sessionguard.MaxAMRValues:
		return fmt.Errorf("middleware: requirement: at most %d ACR values", sessionguard.MaxAMRValues)
	}
	for _, v := range q.ACR {
		if v == "" {
			return fmt.Errorf("middleware: requirement: an empty ACR value")
		}
		if err := sessionguard.CheckAuthentication(v, nil); err != nil {
			return fmt.Errorf("middleware: requirement: %w", err)
		}
	}
	return nil
}

// Require is [Guard.Middleware] for a route that also asks q of the
// session's authentication. A request whose session is live but falls short
// is refused with ErrReauthenticationRequired through Config.Deny (the
// route's refusal style, see WithDeny; for pages, RedirectToReauthenticate),
// and the session is neither ended nor extended beyond the Middleware's
// touch. Anything else is refused as Middleware refuses it.
//
// Require includes Middleware: mount it instead of Middleware, not inside
// it, where each request would be checked (and counted) twice, nor inside
// PeekMiddleware, where its own check would extend the session.
//
// q is checked here, once: Require panics on a negative or fractional
// MaxAge or a malformed ACR value, as http.ServeMux panics on a bad pattern
// (a mistake in the program, not in a request).
func (g *Guard) Require(q Requirement, next http.Handler) http.Handler {
	if err := q.validate(); err != nil {
		panic(err)
	}
	return g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		if e := q.refusal(s); e != nil {
			g.cfg.Deny(w, r, g.refusedStatus(r, e, sessionguard.Status{SessionID: s.ID, UserID: s.UserID, TenantID: s.TenantID}))
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// reauthBody is DenyJSON's body for ErrReauthenticationRequired.
type reauthBody struct {
	Error     string `json:"error"`
	Reason    string `json:"reason"`
	MaxAge    int64  `json:"max_age,omitempty"`
	ACRValues string `json:"acr_values,omitempty"`
}

// denyReauthentication is DenyJSON for ErrReauthenticationRequired: 401
// with RFC 9470's error code in the body, HeaderReauthentication, and for
// bearer clients the RFC 9470 challenge; a cookie client's 401 gets
// DenyJSON's bare challenge, as its other 401s do.
func denyReauthentication(w http.ResponseWriter, re *RefusalError) {
	h := w.Header()
	if re.Bearer {
		h.Set("WWW-Authenticate", stepUpChallenge(re))
	} else {
		h.Set("WWW-Authenticate", challenge(re))
	}
	h.Set(HeaderReauthentication, re.Reason)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	b, _ := json.Marshal(reauthBody{Error: "insufficient_user_authentication", Reason: re.Reason,
		MaxAge: int64(re.MaxAge / time.Second), ACRValues: re.ACRValues})
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write(append(b, '\n'))
}

// stepUpChallenge is the WWW-Authenticate value of RFC 9470 (OAuth 2.0 Step
// Up Authentication Challenge Protocol, section 3) in the Guard's realm, as
// every challenge it writes: the error code
// insufficient_user_authentication, a description, and what would do:
// max_age in seconds and acr_values, a space-separated list. Require checked
// the ACR values when the route was built; a RefusalError made by hand keeps
// only the values that pass the same check (no quote, backslash, space or
// control character), so nothing can break out of the quoted string.
func stepUpChallenge(re *RefusalError) string {
	var acr []string
	for _, v := range strings.Fields(re.ACRValues) {
		if sessionguard.CheckAuthentication(v, nil) == nil {
			acr = append(acr, v)
		}
	}
	acrValues := strings.Join(acr, " ")
	var desc string
	switch {
	case re.MaxAge > 0 && acrValues != "":
		desc = "A more recent authentication at a different level is required"
	case re.MaxAge > 0:
		desc = "More recent authentication is required"
	case acrValues != "":
		desc = "A different authentication level is required"
	default:
		// Reauthenticate refused the token of a re-authentication.
		desc = "A new authentication is required"
	}
	v := bareChallenge(re) + `, error="insufficient_user_authentication", error_description="` + desc + `"`
	if re.MaxAge > 0 {
		v += ", max_age=" + strconv.FormatInt(int64(re.MaxAge/time.Second), 10)
	}
	if acrValues != "" {
		v += `, acr_values="` + acrValues + `"`
	}
	return v
}
