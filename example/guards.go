package main

import (
	"context"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/example/idp"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// tenantSessionLimit is how many tenant-app sessions one user may hold at
// once (ASVS 7.1.2): a phone, a laptop and one more.
const tenantSessionLimit = 3

// newGuards builds the example's two Guards, one per app, over a.store: each
// reads every credential its app uses (cookie or bearer token), decided by
// the token's shape without a query, so no route picks a guard by hand. The
// pages use the same Guard with another refusal style (WithDeny: a redirect
// to the sign-in page instead of JSON). ctx bounds the tenant Guard's JWKS
// refresh.
func (a *app) newGuards(ctx context.Context) error {
	base := middleware.Config{
		Store:            a.store,
		IdleTimeout:      a.cfg.IdleTimeout,
		AbsoluteTimeout:  a.cfg.AbsoluteTimeout,
		WarningThreshold: a.cfg.WarningThreshold,
		Logger:           a.log,
		MeterProvider:    a.metrics.provider,
		ClientIP:         a.clientIP,
	}
	var err error

	// The control panel: scs's session cookie (its token is scs's opaque
	// token), or the same token as a bearer token on /api/*. Its session data
	// lives in scsStore, next to the sessions table; it works through the
	// store, whose metrics time its calls too (operations scs_find,
	// scs_commit, ...).
	scsCfg := pgstore.SCSConfig{Logger: a.log, CleanupInterval: scsCleanupInterval}
	if a.scsStore, err = pgstore.NewSCSStore(a.store, scsCfg); err != nil {
		return err
	}
	a.cpSCS = a.newCPSessions(a.scsStore)
	cp := base
	cp.AppType, cp.SCS = sessionguard.ControlPanel, a.cpSCS
	if a.cp, err = middleware.New(cp); err != nil {
		return err
	}
	// A page that asks for a recent authentication (recentCPPage) sends
	// the browser to the re-enter-password page, which returns it there.
	a.cpPages = a.cp.WithDeny(middleware.RedirectToReauthenticate(cpReauthPath, a.denyCPPage))

	// The tenant app: the identity provider's JWTs, in the tenant cookie or
	// as bearer tokens, verified through the provider's JWKS URL with its
	// issuer and claim names. The Guard holds no private key: it mints
	// nothing, and the sign-in records the provider's token (startSession).
	jwks, err := middleware.NewJWKS(ctx, a.jwksURL, middleware.JWKSConfig{Algorithms: []string{"EdDSA"}, Logger: a.log})
	if err != nil {
		return err
	}
	tenant := base
	tenant.AppType, tenant.Tenant, tenant.CookieName = sessionguard.TenantApp, a.tenantFromPath, tenantCookie
	// At most tenantSessionLimit sessions per user: a fourth sign-in ends
	// the least recently active one (reason session_limit), whose next page
	// says why (signinReasons).
	tenant.SessionLimit = sessionguard.SessionLimit{Max: tenantSessionLimit, AtLimit: sessionguard.EndLeastRecentlyActive}
	tenant.JWT = &middleware.JWTConfig{
		JWKS:          jwks,
		Issuer:        a.idp.Issuer(),
		Audience:      a.idp.Audience(),
		UserIDClaim:   idp.ClaimUserID,
		TenantIDClaim: idp.ClaimTenantID,
	}
	if a.tenant, err = middleware.New(tenant); err != nil {
		return err
	}
	a.tenantPages = a.tenant.WithDeny(a.denyTenantPage)
	return nil
}
