package middleware_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// byoRefresh is how often the app below refetches the issuer's key set: short,
// so that the test sees a removed key go within a second.
const byoRefresh = 100 * time.Millisecond

// newBYOApp is the whole of what a team writes to put sessionguard in front of
// the JWTs its identity provider issues (RS256 or EdDSA, its own "tid" claim,
// no "sid"): the lines between glue:begin and glue:end, which
// TestBringYourOwnJWTs counts.
func newBYOApp(ctx context.Context, jwksURL string, store sessionguard.Store) (http.Handler, error) {
	// glue:begin
	jwks, err := middleware.NewJWKS(ctx, jwksURL, middleware.JWKSConfig{RefreshInterval: byoRefresh, Logger: discard})
	if err != nil {
		return nil, err
	}
	guard, err := middleware.New(middleware.Config{
		Store:   store,
		AppType: sessionguard.TenantApp,
		Tenant:  func(r *http.Request) (int64, error) { return strconv.ParseInt(r.PathValue("tenant"), 10, 64) },
		JWT:     &middleware.JWTConfig{JWKS: jwks, Issuer: "https://idp.example", Audience: "tenant-app", TenantIDClaim: "tid"},
		Logger:  discard,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session", func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if _, err := guard.Record(w, r, token, middleware.SignIn{}); errors.Is(err, middleware.ErrUnavailable) {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
		} else if err != nil {
			http.Error(w, "not signed in", http.StatusUnauthorized)
		}
	})
	mux.Handle("GET /t/{tenant}/me", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		fmt.Fprintf(w, "user %d tenant %d", s.UserID, s.TenantID)
	})))
	return mux, nil
	// glue:end
}

// TestBringYourOwnJWTs runs the app above against a real PostgreSQL and an
// identity provider the library does not control, which publishes only the
// public halves of its keys as a JWKS.
func TestBringYourOwnJWTs(t *testing.T) {
	t.Parallel()
	if n := glueLines(t); n >= 30 {
		t.Fatalf("the app's glue is %d lines, want under 30", n)
	}
	base := pgtest.NewPool(t)
	tenant := pgtest.CreateTenant(t, base, "acme-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	other := pgtest.CreateTenant(t, base, "globex-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	user := pgtest.CreateUser(t, base, "byo-"+strconv.FormatInt(time.Now().UnixNano(), 36)+"@example.com", tenant)
	db := tracedDB(t, base, base.Config(), pgstore.Config{})

	is := newIssuer(t)
	is.serve(rsaJWK("rsa-1", "RS256", &is.rsa.PublicKey), edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)))
	app, err := newBYOApp(t.Context(), is.srv.URL, db.store)
	if err != nil {
		t.Fatal(err)
	}
	idpToken := func(m jwt.SigningMethod, kid string, key any) string {
		now := time.Now()
		return sign(t, m, kid, key, jwt.MapClaims{"iss": "https://idp.example", "aud": "tenant-app", "sub": strconv.FormatInt(user, 10),
			"tid": tenant, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": rand.Text()})
	}
	call := func(method, path, auth, cookie string) (int, string) {
		t.Helper()
		r := httptest.NewRequest(method, path, nil)
		if auth != "" {
			r.Header.Set("Authorization", "Bearer "+auth)
		}
		if cookie != "" {
			r.Header.Set("Cookie", "__Host-session="+cookie)
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		body, _ := io.ReadAll(rec.Body)
		return rec.Code, strings.TrimSpace(string(body))
	}
	me := fmt.Sprintf("/t/%d/me", tenant)
	want := fmt.Sprintf("user %d tenant %d", user, tenant)
	signedIn := func(t *testing.T, token string) {
		t.Helper()
		if code, body := call("POST", "/session", token, ""); code != http.StatusOK {
			t.Fatalf("recording the issuer's token: %d %s", code, body)
		}
		for _, how := range []struct{ auth, cookie string }{{token, ""}, {"", token}} {
			if code, body := call("GET", me, how.auth, how.cookie); code != http.StatusOK || body != want {
				t.Fatalf("GET %s (bearer %t) = %d %q, want 200 %q", me, how.auth != "", code, body, want)
			}
		}
	}
	refusedWithoutQuery := func(t *testing.T, method, path, token string, status int) {
		t.Helper()
		before := db.queries.n.Load()
		if code, body := call(method, path, token, ""); code != status {
			t.Fatalf("%s %s = %d %s, want %d", method, path, code, body, status)
		}
		if n := db.queries.n.Load() - before; n != 0 {
			t.Fatalf("%s %s cost %d queries, want none", method, path, n)
		}
	}

	rsaToken := idpToken(jwt.SigningMethodRS256, "rsa-1", is.rsa)
	edToken := idpToken(jwt.SigningMethodEdDSA, "ed-1", is.ed)
	t.Run("RS256 and EdDSA tokens of the issuer", func(t *testing.T) {
		signedIn(t, rsaToken)
		signedIn(t, edToken)
	})
	t.Run("another tenant's route", func(t *testing.T) {
		refusedWithoutQuery(t, "GET", fmt.Sprintf("/t/%d/me", other), edToken, http.StatusForbidden)
	})
	t.Run("forged tokens cost no query", func(t *testing.T) {
		_, forger, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		forged := idpToken(jwt.SigningMethodEdDSA, "ed-1", forger)
		refusedWithoutQuery(t, "POST", "/session", forged, http.StatusUnauthorized)
		refusedWithoutQuery(t, "GET", me, forged, http.StatusUnauthorized)
		refusedWithoutQuery(t, "GET", me, "not-a-token", http.StatusUnauthorized)
	})

	// Rotation: the issuer adds ed-2 and drops the others.
	_, ed2, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is.serve(rsaJWK("rsa-1", "RS256", &is.rsa.PublicKey), edJWK("ed-1", is.ed.Public().(ed25519.PublicKey)),
		edJWK("ed-2", ed2.Public().(ed25519.PublicKey)))
	newToken := idpToken(jwt.SigningMethodEdDSA, "ed-2", ed2)
	t.Run("a new key is accepted without a restart", func(t *testing.T) { signedIn(t, newToken) })
	is.serve(edJWK("ed-2", ed2.Public().(ed25519.PublicKey)))
	is.waitRequests(t, is.requests.Load()+2) // a whole refresh after the change
	t.Run("a removed key is refused after the refresh", func(t *testing.T) {
		refusedWithoutQuery(t, "GET", me, edToken, http.StatusUnauthorized)
		refusedWithoutQuery(t, "GET", me, rsaToken, http.StatusUnauthorized)
		signedIn(t, idpToken(jwt.SigningMethodEdDSA, "ed-2", ed2))
	})

	// The issuer's JWKS endpoint fails: the last good keys keep working.
	is.fail(http.StatusInternalServerError)
	is.waitRequests(t, is.requests.Load()+2)
	t.Run("the JWKS endpoint down", func(t *testing.T) {
		if code, body := call("GET", me, newToken, ""); code != http.StatusOK || body != want {
			t.Fatalf("with the JWKS endpoint down: %d %q, want 200", code, body)
		}
		signedIn(t, idpToken(jwt.SigningMethodEdDSA, "ed-2", ed2))
	})
}

// glueLines counts the code lines between glue:begin and glue:end in this
// file: not blank, not a comment.
func glueLines(t *testing.T) int {
	t.Helper()
	src, err := os.ReadFile("byojwt_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(src), "// glue:begin\n")
	glue, _, ok2 := strings.Cut(after, "// glue:end")
	if !ok || !ok2 {
		t.Fatal("no glue markers")
	}
	n := 0
	for _, line := range strings.Split(glue, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "//") {
			n++
		}
	}
	return n
}
