package middleware

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"
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
// equal those p sets; a session-id claim becomes the row's id. Disagreement
// is an error matching ErrInvalidToken, and nothing is recorded.
//
// When w is not nil, Record sets the token as the session cookie, with a
// Max-Age no longer than Config.AbsoluteTimeout nor than the JWT's "exp",
// and ends the session of the cookie it replaces, as SignIn does. With
// Config.SCS the cookie is scs's: record bearer tokens only (w nil), and sign
// in scs sessions with SignIn.
//
// Record does not call Config.Tenant. A token that already has a session is
// an error (pgstore.ErrDuplicateToken, matching ErrUnavailable); a store
// failure is an error matching ErrUnavailable.
func (g *Guard) Record(w http.ResponseWriter, r *http.Request, token string, p SignIn) (Session, error) {
	if g.cfg.SCS != nil && w != nil {
		return Session{}, errors.New("middleware: record: the session cookie is scs's: record bearer tokens (w nil), sign in scs sessions with SignIn")
	}
	kind := kindOf(token)
	if !validTokenChars(token, g.cfg.MaxTokenBytes) || !g.cfg.Tokens.has(kind) {
		return Session{}, fmt.Errorf("middleware: record: %w: not a token this Guard accepts", ErrInvalidToken)
	}
	var sid string
	maxAge := g.cfg.AbsoluteTimeout
	if kind == JWTs {
		claims, err := g.jwt.verify(token)
		if err != nil {
			ctx := context.Background()
			if r != nil {
				ctx = r.Context()
			}
			g.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "sessionguard: jwt rejected", slog.String("cause", err.Error()))
			return Session{}, fmt.Errorf("middleware: record: %w: %v", ErrInvalidToken, err)
		}
		if p, err = p.withClaims(claims); err != nil {
			return Session{}, err
		}
		sid = claims.SessionID
		if exp, ok := jwtExpiry(token); ok {
			maxAge = min(maxAge, exp.Sub(g.now()).Truncate(time.Second))
		}
		if maxAge <= 0 {
			return Session{}, fmt.Errorf("middleware: record: %w: the token expires within a second", ErrInvalidToken)
		}
	}
	app, err := g.signInAppType(p)
	if err != nil {
		return Session{}, err
	}
	if sid == "" {
		if sid, err = newUUID(); err != nil {
			return Session{}, err
		}
	}
	return g.open(w, r, token, p, app, sid, maxAge)
}

// withClaims fills p's zero user and tenant from a verified JWT's claims
// and refuses fields that disagree with them.
func (p SignIn) withClaims(c jwtClaims) (SignIn, error) {
	switch {
	case p.UserID == 0:
		p.UserID = c.UserID
	case p.UserID != c.UserID:
		return p, fmt.Errorf("middleware: record: %w: UserID disagrees with the token's user id claim", ErrInvalidToken)
	}
	if c.HasTenant {
		switch {
		case p.TenantID == 0:
			p.TenantID = c.TenantID
		case p.TenantID != c.TenantID:
			return p, fmt.Errorf("middleware: record: %w: TenantID disagrees with the token's tenant claim", ErrInvalidToken)
		}
	}
	return p, nil
}

// jwtExpiry reads the "exp" claim of a JWT that verify has accepted, for the
// cookie's Max-Age; ok is false when it has none.
func jwtExpiry(token string) (exp time.Time, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Exp == nil {
		return time.Time{}, false
	}
	f, err := c.Exp.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
