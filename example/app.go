package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/sessionguard/sessionguard/example/idp"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// Cookie names: one per app, so that a browser can be signed in to both.
// The control panel's is scs's cookie (cpsession.go).
const (
	cpCookie     = "__Host-cp-session"
	tenantCookie = "__Host-tenant-session"
)

// idpIssuer is the "iss" of the identity provider's tokens, and idpAudience
// their "aud": the client id the provider knows the tenant app by.
const (
	idpIssuer   = "https://idp.example.test"
	idpAudience = "tenant-app"
)

// app is the example: both apps and the API on one store. It is an
// http.Handler.
type app struct {
	cfg     config
	log     *slog.Logger
	store   *pgstore.Store
	users   users
	handler http.Handler
	metrics *metrics // the MeterProvider; GET /metrics on its own listener (metrics.go)

	// The control panel's scs sessions: its data lives in scsStore, next to
	// the sessions table. run runs scsStore.Run.
	cpSCS    *scs.SessionManager
	scsStore *pgstore.SCSStore

	// The two Guards (guards.go), one per app; the API's refusals are JSON,
	// and cpPages and tenantPages are the same Guards with the pages'
	// refusals (a redirect to the sign-in page).
	cp, cpPages         *middleware.Guard
	tenant, tenantPages *middleware.Guard

	// tenants is read once at start: the example's tenants are seed data.
	// An application whose tenants change at run time looks them up (or
	// caches them with invalidation) instead.
	tenants map[string]tenant

	pages     pages
	dummyHash []byte // bcrypt of a random password: compared when the e-mail is unknown

	// Sign-in throttling (throttle.go).
	addressThrottle, accountThrottle *throttle

	// clientIP is the client's address, for the guards (recorded with each
	// session, logged with refusals), the address throttle and the audit
	// log alike: the peer's, or behind cfg.TrustedProxies the client they
	// report.
	clientIP func(*http.Request) string

	// idp stands in for the tenant app's identity provider (package idp):
	// it issues the tenant app's JWTs and publishes their public key.
	idp     *idp.Provider
	jwksURL string
}

// newApp builds the example over a migrated and seeded database. The tenant
// app's tokens come from provider, whose public keys are at jwksURL; ctx
// bounds the app's background work.
func newApp(ctx context.Context, pool *pgxpool.Pool, cfg config, provider *idp.Provider, jwksURL string) (*app, error) {
	log := cfg.logger
	if log == nil {
		log = slog.Default()
	}
	meters, err := newMetrics()
	if err != nil {
		return nil, err
	}
	store, err := pgstore.New(pool, pgstore.Config{TouchInterval: touchInterval(cfg.IdleTimeout), Logger: log, MeterProvider: meters.provider})
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, store: store, users: users{pool}, idp: provider, jwksURL: jwksURL,
		addressThrottle: newThrottle(cfg.addressLimit), accountThrottle: newThrottle(cfg.accountLimit), metrics: meters,
		clientIP: middleware.RemoteAddrIP}
	if len(cfg.TrustedProxies) > 0 {
		a.clientIP = middleware.ClientIPBehindProxies(cfg.TrustedProxies)
	}
	if a.tenants, err = a.users.tenants(ctx); err != nil {
		return nil, err
	}
	if err := a.newGuards(ctx); err != nil {
		return nil, err
	}
	if a.pages, err = loadPages(); err != nil {
		return nil, err
	}
	random := make([]byte, 24)
	_, _ = rand.Read(random)
	if a.dummyHash, err = bcrypt.GenerateFromPassword(random, cfg.bcryptCost); err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	a.handler = a.routes()
	return a, nil
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// touchInterval debounces last_activity_at writes by at most 1/60 of the
// idle timeout (60 s for the default 4 h), so the idle clock is never more
// than that early; with timeouts of seconds, as in the tests and demos, every
// request writes.
func touchInterval(idle time.Duration) time.Duration {
	d := min(pgstore.DefaultTouchInterval, (idle / 60).Truncate(time.Second))
	if d < time.Second {
		return -1 // write on every request
	}
	return d
}

// tenantFromPath is the tenant guards' Config.Tenant: the tenant that
// inTenant resolved from the {tenant} path segment. Every tenant route is
// inside inTenant, so the error is a routing mistake, which the guards refuse.
func (a *app) tenantFromPath(r *http.Request) (int64, error) {
	t, ok := tenantOf(r)
	if !ok {
		return 0, errUnknownTenant
	}
	return t.ID, nil
}

var errUnknownTenant = errors.New("unknown tenant")
