package middleware

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/sessionguard/sessionguard"
)

// Refresh makes token, the identity provider's refreshed JWT for the
// session of r, the session's token, without counting as an
// authentication. Providers hand out short-lived tokens (minutes) and
// renew them with a refresh-token grant; the session, recorded for the
// first token (Record), lives on under each renewal instead of ending at
// the first token's "exp", and a renewal is no re-authentication: the
// session keeps its authentication time, level and methods (a step-up route
// refuses it as before) when token's "acr" and "amr" claims repeat them or
// are absent; a token whose acr or amr says otherwise cannot raise the
// session (acr values have no order that would tell a higher one): the
// session then keeps no level and no methods until a re-authentication
// records them (refreshedAttestation). A malformed acr or amr refuses the
// token, as below. Its audit event is "refreshed", not
// "reauthenticated": the session has a new token, but the user proved
// nothing.
//
// token is checked as Reauthenticate checks Reauthentication.Token, except
// that it needs no new auth_time: a JWT verified with Config.JWT, its user
// (and tenant) claims the session's, its session-id claim absent or the
// session's id, neither the session's token (re-signed or not) nor issued
// before it, and not about to expire. A token refused so ends nothing, as
// Reauthenticate's: the error matches ErrReauthenticationRequired (a new
// authentication is the way to a token the Guard takes; DenyJSON never
// answers it as an ended session), and is audited as Reauthenticate's
// refusal is, with reason sessionguard.ReasonRefreshRefused (a token that
// another session holds or a rotation retired too). The rotation is
// Reauthenticate's: the same session id, history and absolute expiry; the
// old token refused from now on and retired (Record refuses it); a cookie
// client gets the new cookie, whose Max-Age is no longer than the token's
// exp; a token that another session holds matches ErrReauthenticationRequired
// and sessionguard.ErrDuplicateToken;
// a store failure matches ErrUnavailable (ErrCanceled when r's client went
// away first). r's context keeps the Session it had; the returned Session is
// the session now.
//
// A session whose store reports no authentication time has none to keep:
// ErrReauthenticationRequired. r must carry a live session of this Guard;
// not with Config.SCS, whose tokens scs issues.
func (g *Guard) Refresh(w http.ResponseWriter, r *http.Request, token string) (Session, error) {
	const op = "refresh"
	c, cur, err := g.rotating(r)
	if err != nil {
		return Session{}, err
	}
	switch {
	case c.scs:
		return Session{}, errors.New("middleware: refresh: an scs session's tokens are scs's")
	case !g.cfg.Tokens.has(JWTs) || g.tokenKind(token) != JWTs:
		return Session{}, g.notReauthenticated(r, sessionguard.ReasonRefreshRefused, c, cur, errors.New("refresh: not a JWT this Guard accepts"), token)
	case cur.AuthTime.IsZero():
		// Nothing to keep (the store records the authentication as now
		// when given none): a new authentication records one.
		return Session{}, g.notReauthenticated(r, sessionguard.ReasonRefreshRefused, c, cur, errors.New("refresh: the session has no authentication time to keep"), token)
	}
	claims, _, _, err := g.successor(r, op, token, c.token, cur)
	if err != nil {
		return Session{}, g.notReauthenticated(r, sessionguard.ReasonRefreshRefused, c, cur, err, token)
	}
	acr, amr := refreshedAttestation(cur, claims)
	s, err := g.rotate(w, r, op, c, cur, token, claims.Expires,
		sessionguard.Reauthentication{ACR: acr, AMR: amr, AuthTime: cur.AuthTime})
	if err != nil {
		if errors.Is(err, sessionguard.ErrDuplicateToken) {
			return Session{}, g.notReauthenticated(r, sessionguard.ReasonRefreshRefused, c, cur, err, token)
		}
		return Session{}, err
	}
	g.emit(r.Context(), slog.LevelInfo, sessionguard.Event{Kind: sessionguard.EventRefreshed, Count: 1,
		SessionID: s.ID, UserID: s.UserID, TenantID: s.TenantID, AppType: s.AppType, IP: g.cfg.ClientIP(r)})
	return s, nil
}

// refreshedAttestation is the level and methods cur keeps under a refreshed
// token whose claims are c. A refresh proves nothing: the session's own,
// when the token repeats them or says nothing of them. A token that says
// otherwise is the issuer's word that this is not the authentication the
// session recorded, and acr values have no order the Guard could know (any
// other value may be a higher one): taking it could raise a session
// without an authentication, keeping the session's would ignore a lower
// one. The session then keeps neither level nor methods, below every
// Requirement.ACR, until a re-authentication records them.
func refreshedAttestation(cur Session, c jwtClaims) (string, []string) {
	if c.ACR != "" && c.ACR != cur.ACR || len(c.AMR) > 0 && !sameMethods(c.AMR, cur.AMR) {
		return "", nil
	}
	return cur.ACR, cur.AMR
}
