package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRefusalErrorsIs(t *testing.T) {
	cause := errors.New("pool closed")
	revoked := refuse(ErrRevoked, false)
	revoked.EndReason = "admin_revoke"
	tests := []struct {
		name   string
		err    error
		is     []error
		isNot  []error
		status int
	}{
		{"revoked matches whatever the end reason", revoked, []error{ErrRevoked}, []error{ErrInvalidToken, ErrUnavailable}, 401},
		{"wrapped", fmt.Errorf("login page: %w", refuse(ErrWrongApp, true)), []error{ErrWrongApp}, []error{ErrWrongTenant}, 403},
		{"unavailable wraps its cause", unavailable(cause, false, "tok"), []error{ErrUnavailable, cause}, []error{ErrInvalidToken}, 503},
		{"bad tenant", refuse(ErrBadTenant, false), []error{ErrBadTenant}, []error{ErrWrongTenant}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range tt.is {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = false", tt.err, target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = true", tt.err, target)
				}
			}
			var re *RefusalError
			if !errors.As(tt.err, &re) || re.Status != tt.status {
				t.Errorf("status = %v, want %d", re, tt.status)
			}
		})
	}
	if got := revoked.Error(); got != "middleware: session refused: revoked (admin_revoke)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestRedact(t *testing.T) {
	got := redact("validate abc123 and tokXYZ", "abc123", "tokXYZ", "")
	if got != "validate [REDACTED] and [REDACTED]" {
		t.Errorf("redact = %q", got)
	}
}

func TestCleanEndReason(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"logout":                 "logout",
		"password_change":        "password_change",
		"custom.reason-2":        "custom.reason-2",
		"Logout":                 "other",
		"a b":                    "other",
		"x\r\nSet-Cookie: a":     "other",
		string(make([]byte, 51)): "other",
	} {
		if got := cleanEndReason(in); got != want {
			t.Errorf("cleanEndReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDenyJSON(t *testing.T) {
	inRealm := func(e *RefusalError) *RefusalError { e.realm = "r"; return e }
	revoked := refuse(ErrRevoked, false)
	revoked.EndReason = "logout"
	tests := []struct {
		name      string
		err       error
		status    int
		body      string
		challenge string
		retry     string
	}{
		{"missing, bearer", inRealm(refuse(ErrMissingToken, true)), 401, `{"error":"session_invalid","reason":"missing"}`, `Bearer realm="r"`, ""},
		{"invalid, cookie", refuse(ErrInvalidToken, false), 401, `{"error":"session_invalid","reason":"invalid"}`, `Bearer realm="sessionguard"`, ""},
		{"revoked, cookie", inRealm(revoked), 401, `{"error":"session_invalid","reason":"revoked","end_reason":"logout"}`, `Bearer realm="r"`, ""},
		{"wrong app, cookie", refuse(ErrWrongApp, false), 403, `{"error":"forbidden","reason":"wrong_app"}`, "", ""},
		{"idle, bearer", inRealm(refuse(ErrIdleTimeout, true)), 401, `{"error":"session_invalid","reason":"idle_timeout"}`, `Bearer realm="r", error="invalid_token"`, ""},
		{"wrong tenant, bearer", inRealm(refuse(ErrWrongTenant, true)), 403, `{"error":"forbidden","reason":"wrong_tenant"}`, `Bearer realm="r", error="insufficient_scope"`, ""},
		{"malformed Authorization", inRealm(refuse(ErrMalformedRequest, true)), 400, `{"error":"bad_request","reason":"malformed_request"}`, `Bearer realm="r", error="invalid_request"`, ""},
		{"bad tenant", refuse(ErrBadTenant, true), 400, `{"error":"bad_request","reason":"bad_tenant"}`, "", ""},
		{"unavailable, bearer", unavailable(errors.New("secret detail"), true), 503, `{"error":"unavailable","reason":"unavailable"}`, "", "1"},
		{"canceled", callFailed(canceledRequest().Context(), fmt.Errorf("secret detail: %w", context.Canceled), false), 503, `{"error":"unavailable","reason":"canceled"}`, "", "1"},
		{"not a refusal", errors.New("secret detail"), 503, `{"error":"unavailable","reason":"unavailable"}`, "", "1"},
		{"no realm: the default", refuse(ErrMissingToken, true), 401, `{"error":"session_invalid","reason":"missing"}`, `Bearer realm="sessionguard"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			DenyJSON(rec, httptest.NewRequest(http.MethodGet, "/", nil), tt.err)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			var got, want any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(tt.body), &want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("body = %s, want %s", rec.Body, tt.body)
			}
			h := rec.Header()
			if h.Get("WWW-Authenticate") != tt.challenge || h.Get("Retry-After") != tt.retry {
				t.Errorf("WWW-Authenticate %q, Retry-After %q", h.Get("WWW-Authenticate"), h.Get("Retry-After"))
			}
			if h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != "application/json" {
				t.Errorf("headers = %v", h)
			}
			var re *RefusalError
			if errors.As(tt.err, &re) && h.Get(HeaderEndReason) != re.Reason {
				t.Errorf("%s = %q", HeaderEndReason, h.Get(HeaderEndReason))
			}
		})
	}
}

// canceledRequest is a request whose client has gone away.
func canceledRequest() *http.Request {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
}
