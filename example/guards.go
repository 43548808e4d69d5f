package main

import (
	"crypto/rand"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// newGuards builds the guards of the package doc over a.store, and the
// control panel's scs sessions over pool.
func (a *app) newGuards(pool *pgxpool.Pool) error {
	// One random signing key per process: the tenant app's JWTs do not
	// outlive a restart, which is fine for a demo. A real deployment loads
	// its keys from a secret store so that every instance shares them.
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	jwt := &middleware.JWTConfig{
		Keys:     []middleware.JWTKey{{ID: "example-1", Algorithm: "HS256", SignKey: key}},
		Issuer:   jwtIssuer,
		Audience: jwtAudience,
	}
	base := middleware.Config{
		Store:            a.store,
		IdleTimeout:      a.cfg.IdleTimeout,
		AbsoluteTimeout:  a.cfg.AbsoluteTimeout,
		WarningThreshold: a.cfg.WarningThreshold,
		Logger:           a.log,
	}
	var err error

	// The control panel: scs's opaque tokens in scs's cookie, pages that
	// send refusals to the sign-in page with a flash message.
	if a.scsStore, err = pgstore.NewSCSStore(pool, pgstore.SCSConfig{Logger: a.log, CleanupInterval: scsCleanupInterval}); err != nil {
		return err
	}
	a.cpSCS = a.newCPSessions(a.scsStore)
	cp := base
	cp.AppType = sessionguard.ControlPanel
	cpPages := cp
	cpPages.Deny = a.denyCPPage
	if a.cpPages, err = newSCSGuard(a.cpSCS, cpPages); err != nil {
		return err
	}

	// The tenant app: JWTs in its cookie or as bearer tokens, pages that
	// send refusals to the sign-in page with ?reason=.
	tenant := base
	tenant.AppType, tenant.Tenant, tenant.CookieName, tenant.JWT = sessionguard.TenantApp, a.tenantFromPath, tenantCookie, jwt
	tenantPages := tenant
	tenantPages.Deny = a.denyTenantPage
	if a.tenantPages, err = middleware.New(tenantPages); err != nil {
		return err
	}

	// The JSON API (apiauth.go). /api: bearer tokens of either app, or the
	// control panel's cookie. Its bearer guards name the control panel's
	// cookie so that they refuse a request that also carries it (and clear
	// it on sign-out, as the scs route does).
	a.api = &apiGuard{cookie: cpCookie, load: a.loadCP}
	if a.api.scs, err = newSCSGuard(a.cpSCS, cp); err != nil {
		return err
	}
	anyApp := base
	anyApp.CookieName = cpCookie
	if a.api.opaque, err = middleware.New(anyApp); err != nil {
		return err
	}
	anyApp.JWT = jwt
	if a.api.jwt, err = middleware.New(anyApp); err != nil {
		return err
	}
	// /t/{tenant}/api: the tenant app's JWTs, bearer or its cookie. An
	// opaque token there is a control-panel token, which the opaque guard
	// refuses as wrong_app.
	a.tenantAPI = &apiGuard{cookie: tenantCookie}
	if a.tenantAPI.jwt, err = middleware.New(tenant); err != nil {
		return err
	}
	tenant.JWT = nil
	if a.tenantAPI.opaque, err = middleware.New(tenant); err != nil {
		return err
	}
	return nil
}

// newSCSGuard is a Guard whose cookie is sm's (Config.SCS).
func newSCSGuard(sm *scs.SessionManager, cfg middleware.Config) (*middleware.Guard, error) {
	cfg.SCS = sm
	return middleware.New(cfg)
}
