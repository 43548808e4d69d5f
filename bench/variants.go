package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
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

// seedStore puts the seed's two calls (pgstore.Store.SeedValidate:
// get_session_status, then update_session_activity) behind the Guard, so that
// the seed and default variants differ only in the store call.
type seedStore struct{ *pgstore.Store }

func (s seedStore) Validate(ctx context.Context, hash string, _ sessionguard.Scope) (sessionguard.Status, error) {
	st, err := s.SeedValidate(ctx, hash)
	if err != nil {
		return sessionguard.Status{}, err
	}
	now := time.Now()
	switch {
	case st.IsValid:
		return sessionguard.Status{
			State:             sessionguard.StateValid,
			UserID:            st.UserID,
			TenantID:          st.TenantID,
			AppType:           sessionguard.ControlPanel,
			LastActivityAt:    now,
			IdleExpiresAt:     now.Add(pgstore.DefaultIdleTimeout), // after the seed's touch
			AbsoluteExpiresAt: now.Add(time.Duration(st.SecondsUntilAbsoluteTimeout) * time.Second),
			IdleTimeout:       pgstore.DefaultIdleTimeout,
			CheckedAt:         now,
		}, nil
	case st.ExpiryReason == "idle":
		return sessionguard.Status{State: sessionguard.StateIdle, CheckedAt: now}, nil
	case st.ExpiryReason == "absolute":
		return sessionguard.Status{State: sessionguard.StateAbsolute, CheckedAt: now}, nil
	}
	return sessionguard.Status{State: sessionguard.StateUnknown, CheckedAt: now}, nil
}
