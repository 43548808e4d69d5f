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
// refuses it as before), and its audit event is "refreshed", not
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
	s, err := g.rotate(w, r, op, c, cur, token, claims.Expires,
		sessionguard.Reauthentication{ACR: cur.ACR, AMR: cur.AMR, AuthTime: cur.AuthTime})
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
