package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/crypto/bcrypt"

	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// errBadCredentials is every sign-in refusal: unknown e-mail, wrong password,
// wrong app or wrong tenant all look the same to the client.
var errBadCredentials = errors.New("wrong e-mail, password, app or organisation")

// signInRequest is what a sign-in form or POST /api/login asks for.
type signInRequest struct {
	Email    string
	Password string
	App      pgstore.AppType
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

// startSession opens a session for u through the guard of u's app, which sets
// that app's cookie on w.
//
// A password change that happens between the credential check and the new
// session would not revoke that session (it did not exist yet), so the hash is
// read again afterwards: if it changed, the new session is ended at once.
func (a *app) startSession(w http.ResponseWriter, r *http.Request, u user) (string, middleware.Session, error) {
	g := a.cpPages
	if u.App == pgstore.TenantApp {
		g = a.tenantPages
	}
	token, s, err := g.SignIn(w, r, middleware.SignIn{UserID: u.ID, TenantID: u.TenantID})
	if err != nil {
		return "", middleware.Session{}, err
	}
	same, err := a.users.passwordHashIs(r.Context(), u.ID, u.passwordHash)
	if err == nil && same {
		return token, s, nil
	}
	w.Header().Del("Set-Cookie") // the new session's cookie
	g.ClearCookie(w)
	if _, rerr := a.store.RevokeSession(r.Context(), s.ID, pgstore.ReasonPasswordChange); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return "", middleware.Session{}, fmt.Errorf("sign in: %w", err)
	}
	return "", middleware.Session{}, errBadCredentials
}
