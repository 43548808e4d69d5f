package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ok is the protected handler of every variant.
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
})

// serve starts an HTTP server for h on a loopback port and returns its
// address.
func serve(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr().String(), nil
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

// handwritten is the floor the Guard is measured against: what a careful
// team writes by hand for the same work as the Guard's default path, in a
// plain handler. SHA-256 of the session cookie, one indexed SELECT of the
// row and the database clock, the expiry decided in Go, an UPDATE of
// last_activity_at only when the touch interval has passed (guarded so that
// it never revives an ended row), the two timing headers, Cache-Control and
// Vary, and the user in the request context.
func handwritten(pool *pgxpool.Pool, touchInterval time.Duration, next http.Handler) http.Handler {
	const read = `SELECT is_active, user_id, last_activity_at, idle_timeout_seconds, absolute_expires_at, CURRENT_TIMESTAMP
		FROM sessions WHERE session_token_hash = $1`
	const touch = `UPDATE sessions SET last_activity_at = CURRENT_TIMESTAMP
		WHERE session_token_hash = $1 AND is_active AND last_activity_at <= CURRENT_TIMESTAMP - make_interval(secs => $2)`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || len(c.Value) != 43 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		sum := sha256.Sum256([]byte(c.Value))
		hash := hex.EncodeToString(sum[:])
		var (
			active              bool
			userID              int64
			last, absolute, now time.Time
			idleSeconds         int32
		)
		err = pool.QueryRow(r.Context(), read, hash).Scan(&active, &userID, &last, &idleSeconds, &absolute, &now)
		if errors.Is(err, pgx.ErrNoRows) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		idle := time.Duration(idleSeconds) * time.Second
		if !active || !now.Before(absolute) || !now.Before(last.Add(idle)) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if now.Sub(last) >= touchInterval {
			if _, err := pool.Exec(r.Context(), touch, hash, touchInterval.Seconds()); err != nil {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			last = now
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Vary", "Cookie, Authorization")
		h.Set("X-Session-Idle-Remaining", strconv.Itoa(int(last.Add(idle).Sub(now)/time.Second)))
		h.Set("X-Session-Absolute-Remaining", strconv.Itoa(int(absolute.Sub(now)/time.Second)))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), subjectKey{}, userID)))
	})
}
