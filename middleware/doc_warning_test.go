package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sessionguard/sessionguard/middleware"
)

// Serve the warning script next to the app, outside the authentication middleware,
// and add one tag to every signed-in page:
//
//	<script src="/sessionguard/warning.js" defer
//	  data-peek-url="/api/session"
//	  data-keepalive-url="/api/session/keepalive"
//	  data-logout-url="/logout"
//	  data-signin-url="/signin"></script>
func ExampleWarningScript() {
	mux := http.NewServeMux()
	mux.Handle("GET /sessionguard/warning.js", middleware.WarningScript())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sessionguard/warning.js", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body.Len() == len(middleware.WarningScriptSource()))
	// Output:
	// 200 text/javascript; charset=utf-8
	// true
}
