package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// variant is one design under test: an HTTP server on loopback and the
// request headers of its sessions.
type variant struct {
	name    string
	header  string   // "Cookie" or "Authorization"
	values  []string // one header value per session
	set     *sessionSet
	pass    bool // warm up with one request per session before each window
	url     string
	srv     *http.Server
	touches bool // its sessions live in our sessions table and are touched
}

// ok is the protected handler of every variant.
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
})

func serve(v *variant, h http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	v.url = "http://" + ln.Addr().String() + "/"
	v.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = v.srv.Serve(ln) }()
	return nil
}

type subjectKey struct{}

// jwtOnly verifies an HS256 JWT (signature, alg, exp, nbf, iss, aud) and
// nothing else: no revocation, no idle timeout. The upper bound of a
// stateless design.
func jwtOnly(secret []byte, next http.Handler) http.Handler {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(jwtIssuer),
		jwt.WithAudience(jwtAudience),
	)
	key := func(*jwt.Token) (any, error) { return secret, nil }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if len(auth) < 8 || auth[:7] != "Bearer " {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var c jwtClaims
		if _, err := parser.ParseWithClaims(auth[7:], &c, key); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), subjectKey{}, c.Subject)))
	})
}

// scsAuth is scs's LoadAndSave with a handler that requires a signed-in user.
func scsAuth(sm *scs.SessionManager, next http.Handler) http.Handler {
	return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sm.GetInt(r.Context(), "user_id") == 0 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// seedAuth is the seed's contract written by hand, as the seed's team would
// write it without this library: the SHA-256 of the session cookie, then
// get_session_status, then (for a valid session) update_session_activity: two
// round trips and a write per request. It sets the two timing headers from
// the seed's answer. The baseline the Guard is measured against.
func seedAuth(pool *pgxpool.Pool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		sum := sha256.Sum256([]byte(c.Value))
		hash := hex.EncodeToString(sum[:])
		var (
			valid     bool
			idle, abs *int32
		)
		err = pool.QueryRow(r.Context(),
			`SELECT is_valid, seconds_until_idle_timeout, seconds_until_absolute_timeout FROM get_session_status($1)`,
			hash).Scan(&valid, &idle, &abs)
		if err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		if !valid || idle == nil || abs == nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var touched bool
		if err := pool.QueryRow(r.Context(), "SELECT update_session_activity($1)", hash).Scan(&touched); err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Session-Idle-Remaining", strconv.Itoa(int(*idle)))
		w.Header().Set("X-Session-Absolute-Remaining", strconv.Itoa(int(*abs)))
		next.ServeHTTP(w, r)
	})
}
