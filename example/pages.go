package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard/middleware"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFiles embed.FS

// staticFS is the static directory: the stylesheet and the tenant app's script.
var staticFS, _ = fs.Sub(staticFiles, "static")

// pages holds one template set per page, each with the shared layout.
type pages map[string]*template.Template

var templateFuncs = template.FuncMap{
	"ago":     ago,
	"seconds": func(d time.Duration) int64 { return int64(d / time.Second) },
	"utc":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"device":  device,
}

func loadPages() (pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := pages{}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		p[base] = t
	}
	return p, nil
}

// view is what every page template receives.
type view struct {
	Title   string
	App     string // "cp", "tenant" or "" (the landing page), for the header
	User    *user
	Tenant  *tenant
	Session *middleware.Session
	Notice  string // chosen by the server (a fixed map, a flash message), never text from the request
	Error   string
	Warning *warningScript // the timeout warning, on signed-in pages
	Data    any
}

// warningScript is the data attributes of the warning script's tag.
type warningScript struct {
	PeekURL, KeepaliveURL, LogoutURL, SigninURL string
	BearerStorageKey                            string
}

// render writes page with status. It renders into a buffer first so that a
// template error becomes a clean 500, not half a page.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	var buf bytes.Buffer
	t, ok := a.pages[page]
	if !ok {
		a.log.ErrorContext(r.Context(), "example: no such page", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		a.log.ErrorContext(r.Context(), "example: render", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows a short error page.
func (a *app) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	a.render(w, r, status, "error", view{Title: http.StatusText(status), Error: msg})
}

func (a *app) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.logFailure(r, "example: database", err)
	a.renderError(w, r, http.StatusServiceUnavailable, "The service is unavailable. Please try again in a moment.")
}

// signinReasons are the messages of the sign-in pages, by the reason a
// session ended, which comes as ?reason= (from the page guards' refusals and
// from warning.js). Only these keys are shown; anything else in the query is
// ignored.
var signinReasons = map[string]string{
	"idle":            "You were signed out because you were inactive.",
	"absolute":        "You were signed out because your session reached its maximum length. Please sign in again.",
	"revoked":         "Your session was ended. Please sign in again.",
	"logout":          "You have signed out.",
	"admin_revoke":    "You were signed out because your session was ended by an administrator.",
	"password_change": "You were signed out because your password was changed. Sign in with the new password.",
	"user_revoke":     "You were signed out from another of your sessions.",
	"other_tenant":    "You are signed in to another organisation. Sign in here to switch.",
	"invalid":         "Your session is no longer valid. Please sign in again.",
	"session_limit":   "You were signed out because you signed in on another device.",
	// The re-enter-password page's, when a page asked for it.
	middleware.ErrReauthenticationRequired.Reason: "For your security, enter your password again to continue.",
}

// pageReason turns a refusal into a key of signinReasons ("" for none: the
// visitor simply was not signed in).
func pageReason(re *middleware.RefusalError) string {
	switch re.Reason {
	case middleware.ErrMissingToken.Reason:
		return ""
	case middleware.ErrIdleTimeout.Reason:
		return "idle"
	case middleware.ErrAbsoluteTimeout.Reason:
		return "absolute"
	case middleware.ErrWrongTenant.Reason:
		return "other_tenant"
	case middleware.ErrRevoked.Reason:
		if _, ok := signinReasons[re.EndReason]; ok {
			return re.EndReason
		}
		return "revoked"
	}
	return "invalid"
}

// pageRefusal is what the page guards' Deny functions share: a store failure
// is a 503 page (fail closed), an unknown tenant a 404, another app's session
// a 403. Otherwise it returns the refusal, for a redirect to the sign-in page.
func (a *app) pageRefusal(w http.ResponseWriter, r *http.Request, err error) (*middleware.RefusalError, bool) {
	var re *middleware.RefusalError
	if !errors.As(err, &re) || re.Status == http.StatusServiceUnavailable {
		a.renderError(w, r, http.StatusServiceUnavailable, "The session service is unavailable. Please try again in a moment.")
		return nil, false
	}
	switch re.Reason {
	case middleware.ErrBadTenant.Reason:
		a.renderError(w, r, http.StatusNotFound, "There is no such organisation.")
		return nil, false
	case middleware.ErrWrongApp.Reason:
		a.renderError(w, r, http.StatusForbidden, "This session belongs to another app.")
		return nil, false
	}
	w.Header().Set(middleware.HeaderEndReason, re.Reason)
	return re, true
}

// denyTenantPage is the tenant pages' Config.Deny: a refusal sends the
// browser to the tenant's sign-in page with ?reason=.
func (a *app) denyTenantPage(w http.ResponseWriter, r *http.Request, err error) {
	a.redirectToSignin(w, r, err, tenantSigninURL(r))
}

// denyCPPage is the control-panel pages' Config.Deny: a refusal sends the
// browser to the sign-in page with ?reason=.
func (a *app) denyCPPage(w http.ResponseWriter, r *http.Request, err error) {
	a.redirectToSignin(w, r, err, "/cp/signin")
}

// redirectToSignin answers a refused page with a redirect to signin. Why the
// session ended travels in the URL as a fixed code (?reason=, a key of
// signinReasons, which the sign-in page turns into text), never in a session:
// a refused or anonymous request writes nothing, so that refused requests
// cannot fill the database with sessions made to carry a message. Not being
// signed in at all (missing) says nothing.
func (a *app) redirectToSignin(w http.ResponseWriter, r *http.Request, err error, signin string) {
	re, ok := a.pageRefusal(w, r, err)
	if !ok {
		return
	}
	if reason := pageReason(re); reason != "" {
		signin += "?reason=" + url.QueryEscape(reason)
	}
	http.Redirect(w, r, signin, http.StatusSeeOther)
}

// ago is "5 seconds ago", "3 minutes ago", … for the session lists.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < 2*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds ago", int(d/time.Second))
	case d < 2*time.Minute:
		return "1 minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 2*time.Hour:
		return "1 hour ago"
	}
	return fmt.Sprintf("%d hours ago", int(d/time.Hour))
}

// device names the browser and system of a User-Agent, roughly, for people
// looking at their session list. The full string is shown beside it.
func device(ua string) string {
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"HeadlessChrome/", "Headless Chrome"}, {"Chrome/", "Chrome"},
		{"Firefox/", "Firefox"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "Go HTTP client"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			return browser + " on " + s.name
		}
	}
	return browser
}
