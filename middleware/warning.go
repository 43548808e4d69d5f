package middleware

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// warningJS is the browser side of the session timeout warning: a dependency-free
// script with no build step that counts down from the X-Session-* response headers
// and shows an accessible "Stay signed in" dialog before the session ends.
//
//go:embed warning.js
var warningJS []byte

// warningETag is the strong entity tag of warningJS: the hex SHA-256 of its bytes.
var warningETag = func() string {
	sum := sha256.Sum256(warningJS)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}()

// warningModTime is a fixed modification time for http.ServeContent. The ETag is
// what validates the cache; a fixed time keeps responses identical across restarts.
var warningModTime = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// WarningScript returns a handler that serves the session timeout warning script
// (warning.js, embedded in the binary). Mount it at a path of your choice and add
// one script tag to every signed-in page:
//
//	mux.Handle("GET /sessionguard/warning.js", middleware.WarningScript())
//
//	<script src="/sessionguard/warning.js" defer
//	  data-peek-url="/api/session"
//	  data-keepalive-url="/api/session/keepalive"
//	  data-logout-url="/logout"
//	  data-signin-url="/signin"></script>
//
// The script reads its configuration from data attributes on its own tag:
//
//	data-peek-url            GET endpoint that reports the time left without extending
//	                         the session (required; the script does nothing without it)
//	data-keepalive-url       POST endpoint that extends the session ("Stay signed in")
//	data-logout-url          POST endpoint that ends the session ("Sign out")
//	data-signin-url          page to open when the session ends; "?reason=" is appended:
//	                         idle, absolute, revoked, logout or invalid
//	data-channel             BroadcastChannel name shared by the app's tabs
//	                         (default "sessionguard:" + the path of the peek URL)
//	data-poll-seconds        how often to peek, default 60, clamped to 2..3600
//	data-csrf-header         header name for a CSRF token sent on its POSTs
//	data-csrf-token          the token
//	data-credentials         fetch credentials mode, default "same-origin"
//	data-bearer-storage-key  sessionStorage key of a bearer token to send as
//	                         "Authorization: Bearer" on its own calls
//
// The peek and keepalive endpoints must set X-Session-Idle-Remaining,
// X-Session-Absolute-Remaining and X-Session-Warning-Threshold (whole seconds), and
// refuse an ended session with 401 and X-Session-End-Reason. The script also reads
// these headers from every same-origin fetch and XMLHttpRequest response of the page.
//
// The handler answers GET and HEAD (405 otherwise) with Content-Type
// text/javascript, X-Content-Type-Options: nosniff, Cache-Control
// "public, max-age=3600" and a strong ETag (the SHA-256 of the script), and answers
// a matching If-None-Match with 304. The script is public: it holds no secret, so
// serve it outside the authentication middleware.
func WarningScript() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("ETag", warningETag)
		http.ServeContent(w, r, "warning.js", warningModTime, bytes.NewReader(warningJS))
	})
}

// WarningScriptSource returns a copy of the warning script, for apps that inline it
// or serve it from their own static file pipeline.
func WarningScriptSource() []byte {
	return bytes.Clone(warningJS)
}
