package middleware

import "net/http"

// credential is the one session token a request presents, from wherever the
// Guard reads them (cookie, bearer header, scs session), once they agree.
type credential struct {
	token string
	kind  TokenKinds
	// bearer: the token came from the Authorization header, not the
	// cookie; refusals carry WWW-Authenticate.
	bearer bool
	// scs: the token is the one of the request's scs session (Config.SCS).
	scs bool
	// ended: scs no longer knows the cookie's token (its data is gone). It
	// is never signed in; the Guard only peeks at its session, without
	// touching it, to tell why it ended.
	ended bool
}

// credential finds r's session token and its kind, refusing without a query
// a request whose credentials are missing, malformed or disagree, or whose
// token is of a kind the Guard does not accept.
func (g *Guard) credential(r *http.Request) (credential, *RefusalError) {
	ex, rerr := extractToken(r, g.cfg.CookieName, g.cfg.MaxTokenBytes)
	if rerr != nil {
		return credential{}, rerr
	}
	c := credential{token: ex.token, bearer: ex.bearer, kind: kindOf(ex.token)}
	if g.cfg.SCS != nil && !ex.bearer {
		if c, rerr = g.scsCredential(r, c); rerr != nil {
			return credential{}, rerr
		}
	}
	if !g.cfg.Tokens.has(c.kind) || c.scs && c.kind != OpaqueTokens {
		return credential{}, refuse(ErrInvalidToken, c.bearer)
	}
	return c, nil
}
