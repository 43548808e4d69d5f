package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
)

// Record opens the session row for token, a token the application or its
// identity provider issued, so that the Guard accepts it from now on. It is
// SignIn for tokens the library did not mint: the same row (the Guard's
// timeouts, client address and User-Agent rules, app type and tenant), the
// same "created" audit event and OnEvent, the same cookie and fixation rules.
//
// The token is checked first, without a query: it must be of a kind the
// Guard accepts, and a JWT must pass Config.JWT's verification. A JWT's user,
// tenant and session-id claims then fill the fields p leaves zero and must
// equal those p sets; a session-id claim becomes the row's id. Disagreement,
// and a token for a tenant_app session without the claim that
// JWTConfig.TenantIDClaim names (when p sets no TenantID), is an error
// matching ErrInvalidToken, and nothing is recorded. The
// session's authentication time is the token's OIDC "auth_time" (else its
// "iat": the user authenticated no later than the token was issued), or
// p.AuthTime when that is earlier: a token the provider issued without
// asking for credentials (a refresh, a single sign-on session) carries the
// old auth_time and does not pass a step-up (Requirement.MaxAge) as a fresh
// sign-in would. Without auth_time a refreshed token's iat is new: list
// "auth_time" in JWTConfig.RequiredClaims when the provider writes it.
//
// The session's level and methods are the ones the provider attests, its
// OIDC "acr" and "amr" (RFC 8176) claims, where p leaves ACR and AMR empty,
// and p's where the token has none. A token whose claim disagrees with
// p's value (amr in another order agrees) is an error matching
// sessionguard.ErrInvalidAuthentication, and nothing is recorded: the
// application's argument against the issuer's attestation, neither the
// token's fault (ErrInvalidToken) nor an outage (ErrUnavailable). An acr
// that is not a string, an amr that is not an array of strings, or values
// beyond sessionguard.CheckAuthentication's limits make the token invalid
// (ErrInvalidToken), here and wherever it is presented.
//
// When w is not nil, Record sets the token as the session cookie, with a
// Max-Age no longer than Config.AbsoluteTimeout nor than the JWT's "exp",
// and ends the session of the cookie it replaces, as SignIn does. With
// Config.SCS the cookie is scs's: record bearer tokens only (w nil), and sign
// in scs sessions with SignIn.
//
// Record does not call Config.Tenant. A token that already has a session is
// an error matching sessionguard.ErrDuplicateToken (the session stays as it
// was), also when it is an ES* token re-signed with its signature's other s
// (one more store call for those: resigned.go), when its session-id claim
// names a recorded session, and when a re-authentication rotated it out
// (Reauthenticate): a stolen pre-rotation token does not come back as a new
// session. A store failure is an error matching ErrUnavailable (ErrCanceled
// when r's client went away first, as SignIn's).
func (g *Guard) Record(w http.ResponseWriter, r *http.Request, token string, p SignIn) (Session, error) {
	if g.cfg.SCS != nil && w != nil {
		return Session{}, errors.New("middleware: record: the session cookie is scs's: record bearer tokens (w nil), sign in scs sessions with SignIn")
	}
	kind := g.tokenKind(token)
	if !g.cfg.Tokens.has(kind) {
		return Session{}, g.invalidToken("not a token this Guard accepts")
	}
	var sid, alg string
	maxAge := g.cfg.AbsoluteTimeout
	if kind == JWTs {
		claims, err := g.jwt.verifyWith(token, func(t *jwt.Token, _ any) { alg = t.Method.Alg() })
		if err != nil {
			ctx := context.Background()
			if r != nil {
				ctx = r.Context()
			}
			g.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "sessionguard: jwt rejected", slog.String("cause", err.Error()))
			return Session{}, g.invalidToken(err.Error())
		}
		if p, err = p.withClaims(claims); errors.Is(err, sessionguard.ErrInvalidAuthentication) {
			return Session{}, fmt.Errorf("middleware: record: %w", err)
		} else if err != nil {
			return Session{}, g.invalidToken(err.Error())
		}
		if name := g.cfg.JWT.TenantIDClaim; name != "" && p.TenantID == sessionguard.NoTenant && g.tenantAppOf(p) {
			// The token is no use to this app, as one whose tenant claim is
			// malformed: ErrInvalidToken, not an argument error the caller
			// could take for an outage.
			return Session{}, g.invalidToken(fmt.Sprintf("the token has no tenant claim %q and SignIn sets no TenantID", name))
		}
		sid = claims.SessionID
		if !claims.Expires.IsZero() {
			maxAge = min(maxAge, claims.Expires.Sub(g.now()).Truncate(time.Second))
		}
		if maxAge <= 0 {
			return Session{}, g.invalidToken("the token expires within a second")
		}
	}
	app, err := g.signInAppType(p)
	if err != nil {
		return Session{}, err
	}
	if twin := ecdsaTwin(token, alg); twin != "" {
		ctx := context.Background()
		if r != nil {
			ctx = r.Context()
		}
		if err := g.twinRecorded(ctx, twin, app); err != nil {
			return Session{}, err
		}
	}
	if sid == "" {
		if sid, err = newUUID(); err != nil {
			return Session{}, err
		}
	}
	return g.open(w, r, token, p, app, sid, maxAge)
}

// invalidToken is Record's refusal of the token it was given: a fresh
// refusal matching ErrInvalidToken whose text says why once, after the
// package ("middleware: session refused: invalid: record: ..."), where
// wrapping the sentinel with a prefix of its own said the package twice.
// why never holds the token: it comes from the checks above and from
// verifying the JWT, whose errors name claims, not the token.
func (g *Guard) invalidToken(why string) *RefusalError {
	e := refuse(ErrInvalidToken, false)
	e.realm = g.cfg.Realm
	e.causeMsg = "record: " + why
	return e
}

// tenantAppOf reports whether p opens a tenant_app session on this Guard.
func (g *Guard) tenantAppOf(p SignIn) bool {
	return p.AppType == sessionguard.TenantApp || (p.AppType == "" && g.cfg.AppType == sessionguard.TenantApp)
}

// withClaims fills p's zero user and tenant from a verified JWT's claims,
// refuses fields that disagree with them (an error that says which, for
// invalidToken), moves p's authentication time back to the token's, and
// takes the token's acr and amr (attested; its disagreement matches
// sessionguard.ErrInvalidAuthentication, checked last: a token of another
// user is refused as such).
func (p SignIn) withClaims(c jwtClaims) (SignIn, error) {
	authed := providerAuthTime(c)
	if !authed.IsZero() && (p.AuthTime.IsZero() || authed.Before(p.AuthTime)) {
		p.AuthTime = authed
	}
	switch {
	case p.UserID == 0:
		p.UserID = c.UserID
	case p.UserID != c.UserID:
		return p, errors.New("UserID disagrees with the token's user id claim")
	}
	if c.HasTenant {
		switch {
		case p.TenantID == 0:
			p.TenantID = c.TenantID
		case p.TenantID != c.TenantID:
			return p, errors.New("TenantID disagrees with the token's tenant claim")
		}
	}
	var err error
	p.ACR, p.AMR, err = attested(p.ACR, p.AMR, c)
	return p, err
}

// attested is the level and methods to record for an authentication that
// a provider's token (claims c) attests and the application describes as
// acr and amr: the token's where the application gives none, the
// application's where the token says nothing (the claims are optional in
// OIDC). Both, and different (amr in any order is the same), is an error
// matching sessionguard.ErrInvalidAuthentication, the error of an argument
// that cannot be recorded: the token is valid (ErrInvalidToken would have
// the caller end a good sign-in as a bad token) and nothing failed
// (ErrUnavailable would be retried); the application contradicts the
// issuer that authenticated the user, and neither value is the one to
// record: the issuer's would drop what the application checked, the
// application's would raise what the issuer saw.
func attested(acr string, amr []string, c jwtClaims) (string, []string, error) {
	if c.ACR != "" {
		if acr != "" && acr != c.ACR {
			return "", nil, fmt.Errorf("%w: ACR disagrees with the token's acr claim", sessionguard.ErrInvalidAuthentication)
		}
		acr = c.ACR
	}
	if len(c.AMR) > 0 {
		if len(amr) > 0 && !sameMethods(amr, c.AMR) {
			return "", nil, fmt.Errorf("%w: AMR disagrees with the token's amr claim", sessionguard.ErrInvalidAuthentication)
		}
		amr = slices.Clone(c.AMR)
	}
	return acr, amr, nil
}

// sameMethods reports whether a and b name the same authentication methods,
// in any order: RFC 8176 gives amr's order no meaning.
func sameMethods(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
