package main

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
)

// maxLoginBytes bounds the body of POST /api/login.
const maxLoginBytes = 4 << 10

// mountAPI registers the session endpoints under prefix, guarded by g with
// its JSON refusals, each inside wrap: /api (the control panel: bearer or its
// cookie, inside the Guard's LoadAndSave) and /t/{tenant}/api (the tenant app:
// bearer or its cookie, inside inTenant).
func (a *app) mountAPI(mux *http.ServeMux, prefix string, g *middleware.Guard, cookieName string, wrap func(http.Handler) http.Handler) {
	mux.Handle("GET "+prefix+"/me", wrap(g.Middleware(http.HandlerFunc(a.apiMe))))
	// The warning's poll: PeekMiddleware never extends the session.
	mux.Handle("GET "+prefix+"/session", wrap(g.PeekMiddleware(http.HandlerFunc(a.apiSession))))
	mux.Handle("POST "+prefix+"/session/keepalive", wrap(g.Middleware(http.HandlerFunc(a.apiSession))))
	mux.Handle("POST "+prefix+"/logout", wrap(a.apiLogout(g, cookieName)))
}

// sessionJSON is the session part of the API's answers. The same numbers are
// in the X-Session-* headers.
type sessionJSON struct {
	SessionID                string               `json:"session_id"`
	AppType                  sessionguard.AppType `json:"app_type"`
	TenantID                 int64                `json:"tenant_id,omitempty"`
	Credential               string               `json:"credential,omitempty"` // "cookie" or "bearer"; none at login
	IdleTimeoutSeconds       int64                `json:"idle_timeout_seconds"`
	IdleRemainingSeconds     int64                `json:"idle_remaining_seconds"`
	AbsoluteRemainingSeconds int64                `json:"absolute_remaining_seconds"`
	WarningThresholdSeconds  int64                `json:"warning_threshold_seconds"`
	LastActivityAt           time.Time            `json:"last_activity_at"`
	IdleExpiresAt            time.Time            `json:"idle_expires_at"`
	AbsoluteExpiresAt        time.Time            `json:"absolute_expires_at"`
}

func (a *app) sessionJSON(s middleware.Session) sessionJSON {
	cred := "cookie"
	if s.Bearer {
		cred = "bearer"
	}
	return sessionJSON{
		SessionID:                s.ID,
		AppType:                  s.AppType,
		TenantID:                 s.TenantID,
		Credential:               cred,
		IdleTimeoutSeconds:       secs(s.IdleTimeout),
		IdleRemainingSeconds:     secs(s.IdleRemaining),
		AbsoluteRemainingSeconds: secs(s.AbsoluteRemaining),
		WarningThresholdSeconds:  secs(a.cfg.WarningThreshold),
		LastActivityAt:           s.LastActivityAt,
		IdleExpiresAt:            s.IdleExpiresAt,
		AbsoluteExpiresAt:        s.AbsoluteExpiresAt,
	}
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// userJSON is the user part of GET /api/me.
type userJSON struct {
	ID      int64  `json:"id"`
	Email   string `json:"email"`
	IsAdmin bool   `json:"is_admin"`
}

type tenantJSON struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// apiMe answers GET /api/me: the session's user, tenant, app type and
// session id. It records activity (Middleware).
func (a *app) apiMe(w http.ResponseWriter, r *http.Request) {
	s, _ := middleware.SessionFrom(r.Context())
	u, found, err := a.users.byID(r.Context(), s.UserID)
	if err != nil {
		a.logFailure(r, "example: database", err)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "unavailable"})
		return
	}
	if !found {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no_user"})
		return
	}
	out := struct {
		User   userJSON    `json:"user"`
		Tenant *tenantJSON `json:"tenant"`
		sessionJSON
	}{User: userJSON{ID: u.ID, Email: u.Email, IsAdmin: u.IsAdmin}, sessionJSON: a.sessionJSON(s)}
	if u.TenantID != sessionguard.NoTenant {
		out.Tenant = &tenantJSON{ID: u.TenantID, Slug: u.TenantSlug, Name: u.TenantName}
	}
	writeJSON(w, http.StatusOK, out)
}

// apiSession answers GET /api/session (peek: never extends) and POST
// /api/session/keepalive (touch): the time left.
func (a *app) apiSession(w http.ResponseWriter, r *http.Request) {
	s, _ := middleware.SessionFrom(r.Context())
	writeJSON(w, http.StatusOK, a.sessionJSON(s))
}

// loginJSON is the body of POST /api/login and POST /t/{tenant}/api/login.
type loginJSON struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// apiError is every error body of the example's own endpoints.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// apiLogin answers POST /api/login (the control panel) and POST
// /t/{tenant}/api/login (the tenant app of the path): 200 with the token and
// the app's session cookie, each of which works on every endpoint of the same
// API mount; 400 for a malformed request, 401 for wrong credentials, 429 with
// Retry-After when the address or the account is throttled, 415 unless the
// request says Content-Type: application/json (a form post is not a JSON
// sign-in, whatever its body).
func (a *app) apiLogin(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{Error: "unsupported_media_type", Message: "send Content-Type: application/json"})
		return
	}
	var in loginJSON
	if msg := decodeJSON(w, r, &in); msg != "" {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "bad_request", Message: msg})
		return
	}
	if in.Email == "" || in.Password == "" {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "bad_request", Message: "email and password are required"})
		return
	}
	req := signInRequest{Email: in.Email, Password: in.Password, App: sessionguard.ControlPanel}
	if t, ok := tenantOf(r); ok {
		req.App, req.TenantID = sessionguard.TenantApp, t.ID
	}
	u, err := a.authenticate(r, req)
	var token string
	var s middleware.Session
	if err == nil {
		token, s, err = a.startSession(w, r, u)
	}
	var throttled *throttledError
	switch {
	case errors.Is(err, errBadCredentials):
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "invalid_credentials", Message: errBadCredentials.Error()})
		return
	case errors.As(err, &throttled):
		setRetryAfter(w, throttled)
		writeJSON(w, http.StatusTooManyRequests, apiError{Error: "too_many_attempts",
			Message: "too many sign-in attempts; try again after Retry-After seconds"})
		return
	case err != nil:
		a.logFailure(r, "example: sign in", err)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "unavailable"})
		return
	}
	sj := a.sessionJSON(s)
	sj.Credential = "" // both: the token in the body, the cookie in Set-Cookie
	h := w.Header()
	h.Set(middleware.HeaderIdleRemaining, strconv.FormatInt(secs(s.IdleRemaining), 10))
	h.Set(middleware.HeaderAbsoluteRemaining, strconv.FormatInt(secs(s.AbsoluteRemaining), 10))
	h.Set(middleware.HeaderWarningThreshold, strconv.FormatInt(secs(a.cfg.WarningThreshold), 10))
	writeJSON(w, http.StatusOK, struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		sessionJSON
	}{Token: token, TokenType: "Bearer", sessionJSON: sj})
}

// decodeJSON reads exactly one JSON object of known fields, at most
// maxLoginBytes, into v. It returns a message for the client, "" on success.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) string {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "body too large"
		}
		return "body is not a valid JSON object of the documented fields"
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "body has data after the JSON object"
	}
	return ""
}

// apiLogout answers POST /api/logout: it ends the session of the request's
// token (cookie or bearer) and clears the cookie. It is idempotent: with no
// live session it still answers 200. A request whose cookie and bearer token
// differ is refused (400): signing out one of them while the client believes
// it signed out the other would leave a live session behind.
func (a *app) apiLogout(g *middleware.Guard, cookieName string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
			if auth := r.Header.Get("Authorization"); auth != "" && auth != "Bearer "+c.Value {
				writeJSON(w, http.StatusBadRequest, apiError{Error: "ambiguous_credentials",
					Message: "the cookie and the Authorization header name different sessions"})
				return
			}
		}
		if err := g.SignOut(w, r); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, struct {
			SignedOut bool `json:"signed_out"`
		}{true})
	})
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
