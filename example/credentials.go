package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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

// authenticate checks a sign-in request against the users table. It runs
// bcrypt whether or not the e-mail exists, so that the response time does not
// tell which addresses have accounts.
func (a *app) authenticate(ctx context.Context, req signInRequest) (user, error) {
	u, found, err := a.users.byEmail(ctx, req.Email)
	if err != nil {
		return user{}, err
	}
	hash := a.dummyHash
	if found {
		hash = []byte(u.passwordHash)
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(req.Password)) == nil
	if !found || !match || u.App != req.App || u.TenantID != req.TenantID {
		return user{}, errBadCredentials
	}
	return u, nil
}

// startSession opens a session for u in u's app and returns its token (for
// bearer clients) and the Session. The control panel signs in on the
// request's scs session (middleware.SCS.SignIn: a new scs token, whose
// cookie LoadAndSave sets); the tenant app through its guard, which sets the
// tenant cookie on w.
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
		token, s, err = a.tenantPages.SignIn(w, r, p)
	} else {
		token, s, err = a.cpPages.SignIn(w, r, p)
	}
	if err != nil {
		return "", middleware.Session{}, err
	}
	same, err := a.users.passwordHashIs(r.Context(), u.ID, u.passwordHash)
	if err == nil && same {
		return token, s, nil
	}
	if _, rerr := a.store.RevokeSession(r.Context(), s.ID, sessionguard.ReasonPasswordChange); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if u.App == sessionguard.TenantApp {
		w.Header().Del("Set-Cookie") // the new session's cookie
		a.tenantPages.ClearCookie(w)
	} else if derr := a.cpSCS.Destroy(r.Context()); derr != nil { // LoadAndSave deletes the cookie
		err = errors.Join(err, derr)
	}
	if err != nil {
		return "", middleware.Session{}, fmt.Errorf("sign in: %w", err)
	}
	return "", middleware.Session{}, errBadCredentials
}
