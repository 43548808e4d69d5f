package middleware_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// hostileRequest builds a request from raw header lines, unvalidated, as a
// client may send them.
func hostileRequest(headers ...[2]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	return r
}

func ck(v string) [2]string   { return [2]string{"Cookie", v} }
func auth(v string) [2]string { return [2]string{"Authorization", v} }

// TestHostileInputAgainstTheRealStore sends hostile requests through the
// middleware and a pgstore.Store on PostgreSQL. Each gets a 4xx, and those the
// middleware can judge alone cost no query at all (counted by a pgx tracer on
// the pool). The rows that must reach the database are there to show that the
// counter counts.
func TestHostileInputAgainstTheRealStore(t *testing.T) {
	t.Parallel()
	db := newRealDB(t, pgstore.Config{})
	opaqueGuard := newGuard(t, db.store, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel })
	live := signInUser(t, opaqueGuard, db.user)
	other := signInUser(t, opaqueGuard, db.user)

	rsPub := &rsaKey().PublicKey
	der, err := x509.MarshalPKIXPublicKey(rsPub)
	if err != nil {
		t.Fatal(err)
	}
	rsPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwtGuard := newGuard(t, db.store, func(c *middleware.Config) {
		c.AppType = sessionguard.ControlPanel
		c.JWT = &middleware.JWTConfig{
			Keys:     []middleware.JWTKey{{ID: "rs1", Algorithm: "RS256", SignKey: rsaKey()}},
			Issuer:   "https://auth.example",
			Audience: "panel",
		}
	})
	liveJWT := signInUser(t, jwtGuard, db.user)
	now := time.Now()
	const sid = "6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e" // no such session row
	with := func(f func(jwt.MapClaims)) jwt.MapClaims { c := claims(sid, now); f(c); return c }
	rs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, "rs1", rsaKey(), c) }
	big := strings.Repeat("A", 1<<20)

	tests := []struct {
		name    string
		jwt     bool
		req     *http.Request
		status  int
		queries int64
	}{
		{"no token", false, hostileRequest(), 401, 0},
		{"empty cookie", false, hostileRequest(ck("__Host-session=")), 401, 0},
		{"empty bearer", false, hostileRequest(auth("Bearer ")), 400, 0},
		{"1 MiB cookie", false, hostileRequest(ck("__Host-session=" + big)), 401, 0},
		{"1 MiB bearer", false, hostileRequest(auth("Bearer " + big)), 401, 0},
		{"1 MiB of other cookies around a live one", false, hostileRequest(ck("a=" + big + "; __Host-session=" + live)), 200, 1},
		{"NUL bytes", false, hostileRequest(ck("__Host-session=" + live[:20] + "\x00" + live[21:])), 401, 0},
		{"invalid UTF-8", false, hostileRequest(auth("Bearer " + live[:20] + "\xff\xfe" + live[22:])), 400, 0},
		{"two session cookies, one live", false, hostileRequest(ck("__Host-session=" + live + "; __Host-session=" + other)), 401, 0},
		{"two Cookie lines, one live", false, hostileRequest(ck("__Host-session="+live), ck("__Host-session="+other)), 401, 0},
		{"cookie and bearer disagree", false, hostileRequest(ck("__Host-session="+live), auth("Bearer "+other)), 401, 0},
		{"two Authorization headers", false, hostileRequest(auth("Bearer "+live), auth("Bearer "+live)), 400, 0},
		{"SQL in the cookie", false, hostileRequest(ck("__Host-session=' OR '1'='1")), 401, 0},
		{"SQL in the bearer", false, hostileRequest(auth("Bearer x';DROP TABLE sessions;--")), 400, 0},
		{"well-formed unknown token", false, hostileRequest(auth("Bearer " + randomToken(t))), 401, 1},
		{"live session", false, hostileRequest(ck("__Host-session=" + live)), 200, 1},

		{"jwt: alg none", true, hostileRequest(auth("Bearer " + sign(t, jwt.SigningMethodNone, "rs1", jwt.UnsafeAllowNoneSignatureType, claims(sid, now)))), 401, 0},
		{"jwt: HS256 signed with the RSA public key", true, hostileRequest(auth("Bearer " + sign(t, jwt.SigningMethodHS256, "rs1", rsPEM, claims(sid, now)))), 401, 0},
		{"jwt: unknown kid", true, hostileRequest(auth("Bearer " + sign(t, jwt.SigningMethodRS256, "rs2", rsaKey(), claims(sid, now)))), 401, 0},
		{"jwt: no kid, genuine RS256 of the signing Guard's key", true, hostileRequest(auth("Bearer " + sign(t, jwt.SigningMethodRS256, "", rsaKey(), claims(sid, now)))), 401, 0},
		{"jwt: no kid, HS256 signed with the RSA public key", true, hostileRequest(auth("Bearer " + sign(t, jwt.SigningMethodHS256, "", rsPEM, claims(sid, now)))), 401, 0},
		{"jwt: expired", true, hostileRequest(auth("Bearer " + rs(with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })))), 401, 0},
		{"jwt: not yet valid", true, hostileRequest(auth("Bearer " + rs(with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })))), 401, 0},
		{"jwt: wrong audience", true, hostileRequest(auth("Bearer " + rs(with(func(c jwt.MapClaims) { c["aud"] = []string{"tenant"} })))), 401, 0},
		{"jwt: wrong issuer", true, hostileRequest(auth("Bearer " + rs(with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })))), 401, 0},
		{"jwt: SQL in sid", true, hostileRequest(auth("Bearer " + rs(with(func(c jwt.MapClaims) { c["sid"] = "' OR 1=1 --" })))), 401, 0},
		{"jwt: opaque token", true, hostileRequest(auth("Bearer " + live)), 401, 0},
		{"jwt: genuine, but no session row", true, hostileRequest(auth("Bearer " + rs(claims(sid, now)))), 401, 1},
		{"jwt: live session", true, hostileRequest(ck("__Host-session=" + liveJWT)), 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := opaqueGuard
			if tt.jwt {
				g = jwtGuard
			}
			before := db.queries.n.Load()
			status := serve(g, tt.req)
			queries := db.queries.n.Load() - before
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if queries != tt.queries {
				t.Errorf("%d queries, want %d", queries, tt.queries)
			}
		})
	}

	var n int
	if err := db.pool.QueryRow(context.Background(), "SELECT count(*) FROM sessions WHERE is_active").Scan(&n); err != nil || n != 3 {
		t.Fatalf("after the hostile requests: %d active sessions, %v; want the 3 signed in", n, err)
	}
}
