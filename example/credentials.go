package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// errBadCredentials is every sign-in refusal: unknown e-mail, wrong password,
// wrong app or wrong tenant all look the same to the client.
var errBadCredentials = errors.New("wrong e-mail, password, app or organisation")

// signInRequest is what a sign-in form or POST /api/login asks for.
type signInRequest struct {
	Email    string
	Password string
	App      sessionguard.AppType
	TenantID int64 // required for the tenant app
}

// authenticate checks a sign-in request of r against the users table.
//
// Throttling comes first, before any query or bcrypt: every attempt spends
// one of the client address's allowance and one of the account's, and a
// correct password gives the account its full allowance back, so that per
// account only failures count. A throttled attempt is a *throttledError.
//
// It runs bcrypt whether or not the e-mail exists, so that the response time
// does not tell which addresses have accounts. An e-mail that no account can
// have (control characters, invalid UTF-8, too long) is looked up nowhere: it
// is a wrong e-mail, not a database error. A refused or throttled attempt
// is logged (logPasswordRefused).
func (a *app) authenticate(r *http.Request, req signInRequest) (u user, err error) {
	defer func() {
		if errors.Is(err, errBadCredentials) || errors.Is(err, errThrottled) {
			a.logPasswordRefused(r, "sign_in", u.ID, err)
			u = user{}
		}
	}()
	now := time.Now()
	if wait := a.addressThrottle.take(addressKey(a.clientIP(r)), now); wait > 0 {
		return user{}, &throttledError{wait}
	}
	account := ""
	if possibleEmail(req.Email) {
		account = normalizeEmail(req.Email)
		if wait := a.accountThrottle.take(account, now); wait > 0 {
			return user{}, &throttledError{wait}
		}
	}
	var found bool
	if account != "" {
		if u, found, err = a.users.byEmail(r.Context(), account); err != nil {
			return user{}, err
		}
	}
	hash := a.dummyHash
	if found {
		hash = []byte(u.passwordHash)
	}
	match := a.passwordMatches(hash, req.Password)
	if !found || !match || u.App != req.App || u.TenantID != req.TenantID {
		return u, errBadCredentials // u for the log line only (the deferred func)
	}
	a.accountThrottle.forget(account)
	return u, nil
}

// passwordMatches reports whether password is the one of bcrypt hash.
func (a *app) passwordMatches(hash []byte, password string) bool {
	compare := bcrypt.CompareHashAndPassword
	if a.cfg.comparePassword != nil {
		compare = a.cfg.comparePassword
	}
	return compare(hash, []byte(password)) == nil
}

// startSession opens a session for u in u's app and returns its token (for
// bearer clients) and the Session. The control panel signs in on the
// request's scs session (Guard.SignIn renews the scs token, whose cookie
// LoadAndSave sets). The tenant app gets its token from its identity
// provider, as teams do, and records it with its Guard (Guard.Record: the
// sessions row with the Guard's timeouts and rules, and the tenant cookie on
// w); the Guard holds no key to mint one.
//
// A password change that happens between the credential check and the new
// session would not revoke that session (it did not exist yet), so the hash is
// read again afterwards: if it changed, the new session is ended at once.
func (a *app) startSession(w http.ResponseWriter, r *http.Request, u user) (string, middleware.Session, error) {
	p := middleware.SignIn{UserID: u.ID, TenantID: u.TenantID}
	var token string
	var s middleware.Session
	var err error
	if u.App == sessionguard.TenantApp {
		if token, err = a.idp.Issue(u.ID, u.TenantID); err == nil {
			s, err = a.tenant.Record(w, r, token, p)
		}
	} else {
		token, s, err = a.cp.SignIn(w, r, p)
	}
	if err != nil {
		return "", middleware.Session{}, err
	}
	same, err := a.users.passwordHashIs(r.Context(), u.ID, u.passwordHash)
	if err == nil && same {
		return token, s, nil
	}
	if _, rerr := a.store.RevokeSession(r.Context(), s.ID, sessionguard.ReasonPasswordChange); a.revocationDone(r.Context(), rerr) != nil {
		err = errors.Join(err, rerr)
	}
	if u.App == sessionguard.TenantApp {
		w.Header().Del("Set-Cookie") // the new session's cookie
		a.tenant.ClearCookie(w)
	} else if derr := a.cpSCS.Destroy(r.Context()); derr != nil { // LoadAndSave deletes the cookie
		err = errors.Join(err, derr)
	}
	if err != nil {
		return "", middleware.Session{}, fmt.Errorf("sign in: %w", err)
	}
	return "", middleware.Session{}, errBadCredentials
}

// maxEmailBytes is the longest e-mail address (RFC 5321's path limit).
const maxEmailBytes = 254

// possibleEmail reports whether s can be the e-mail of an account: valid
// UTF-8 of at most maxEmailBytes without control characters (NUL included,
// which PostgreSQL refuses in text) or U+FFFD (what encoding/json makes of
// invalid UTF-8). Anything else is refused before the database, as a wrong
// e-mail.
func possibleEmail(s string) bool {
	s = normalizeEmail(s)
	if s == "" || len(s) > maxEmailBytes || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r == utf8.RuneError || unicode.IsControl(r) })
}
