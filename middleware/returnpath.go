package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxReturnPathBytes bounds a return path: longer is not a page of the site.
const maxReturnPathBytes = 2048

// LocalPath returns raw when it can only lead to a page of this site, else
// fallback: the check a "return to where you were" parameter needs before
// it becomes a redirect, so that a link from elsewhere cannot send the user
// on to another site after they re-entered their password (an open
// redirect).
//
// A local path starts with one "/" (not "//", which browsers read as
// another host, nor "/\", which they read the same way), has no scheme,
// host or user, and contains only printable ASCII without backslashes:
// browsers drop tabs and newlines from URLs ("/\t/evil.example" would become
// "//evil.example") and read "\" as "/". Anything non-ASCII must be
// percent-encoded. At most 2048 bytes.
func LocalPath(raw, fallback string) string {
	if len(raw) == 0 || len(raw) > maxReturnPathBytes || raw[0] != '/' {
		return fallback
	}
	if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
		return fallback
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			return fallback
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return fallback
	}
	return raw
}

// ReturnParam is the query parameter of RedirectToReauthenticate's
// redirect that holds the path to return to.
const ReturnParam = "return"

// RedirectToReauthenticate returns a Config.Deny (or WithDeny) for pages:
// a request refused with ErrReauthenticationRequired is redirected (303 See
// Other) to page, the application's "enter your password again" page, with
// ?return= the refused request's own path and query, as the client asked
// for it (also under http.StripPrefix; LocalPath; "/" when it is not one)
// and reason=reauthentication_required. After checking the credential and
// calling Guard.Reauthenticate, that page redirects to
// LocalPath(r.FormValue(ReturnParam), "/"). A refused POST returns to its
// path, which a GET should answer with its form.
//
// Every other refusal goes to otherwise (DenyJSON when nil), the route's
// usual refusal (a redirect to the sign-in page, for instance).
//
// page must be a local path (LocalPath); it is checked here, once, and
// RedirectToReauthenticate panics otherwise, as http.ServeMux panics on a
// bad pattern.
func RedirectToReauthenticate(page string, otherwise func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error) {
	if LocalPath(page, "") == "" {
		panic(fmt.Sprintf("middleware: RedirectToReauthenticate: page %q is not a local path", page))
	}
	if otherwise == nil {
		otherwise = DenyJSON
	}
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if !errors.Is(err, ErrReauthenticationRequired) {
			otherwise(w, r, err)
			return
		}
		q := url.Values{ReturnParam: {LocalPath(requestedPath(r), "/")}, "reason": {ErrReauthenticationRequired.Reason}}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set(HeaderReauthentication, ErrReauthenticationRequired.Reason)
		h.Set("Location", page+sep+q.Encode())
		w.WriteHeader(http.StatusSeeOther)
	}
}

// requestedPath is the path and query the client asked for: r.RequestURI,
// as sent (in absolute form, its path and query), not r.URL, which
// http.StripPrefix or another rewrite has cut down to what the handler sees.
// A request made in the program (no RequestURI) has only its URL.
func requestedPath(r *http.Request) string {
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		return u.RequestURI()
	}
	return r.URL.RequestURI()
}
