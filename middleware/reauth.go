package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard"
)

// Reauthentication describes how the user of a signed-in session proved who
// they are again.
type Reauthentication struct {
	// ACR and AMR replace the session's recorded level and methods (see
	// SignIn.ACR); empty means not recorded. With Token, the token's own
	// "acr" and "amr" claims fill them when empty and must agree with them
	// when set, as in Record: a disagreement is an error matching
	// sessionguard.ErrInvalidAuthentication (the application's argument,
	// not a refused token: nothing is audited), and nothing is recorded.
	ACR string
	AMR []string
	// Token, when set, is the session's new token, issued elsewhere for
	// this re-authentication (an identity provider's JWT, after the user
	// signed in there again), recorded instead of a token the Guard mints.
	// It is checked as Record checks a token: of a kind the Guard accepts, a
	// JWT verified with Config.JWT, its user (and tenant) claims the
	// session's, its session-id claim absent or the session's id; and new:
	// neither the session's token (re-signed or not) nor issued ("iat")
	// before it; and a JWT must carry OIDC's "auth_time" (a provider writes
	// it when asked for max_age) of an authentication later than the
	// session's: a refresh-token grant's token, which has a new iat too, is
	// no re-authentication. Later by the provider's clock, against the
	// auth_time (else iat) of the provider's token the session holds; a
	// session the application signed in has the database's time, and a
	// provider's clock may be behind it by JWTConfig.Leeway. Not with an scs session, whose tokens scs
	// issues. The authentication's time is then the token's "auth_time" (or
	// AuthTime, if earlier).
	Token string
	// AuthTime is when the user authenticated, when that was before this
	// call (at a single sign-on service, say): Requirement.MaxAge counts
	// from it. Zero: now.
	AuthTime time.Time
}

// Reauthenticate records that the user of r's session has just proved who
// they are again, once the application has checked the credential (the
// password re-entered, a second factor): the session's authentication time
// becomes now (or the earlier time a.AuthTime or a.Token attests, see
// [Reauthentication]) and its level a.ACR (or the acr a.Token attests), so
// routes behind [Guard.Require] let it in again.
//
// The session gets a new token (ASVS 7.2.4), of the kind it had: a new
// opaque token, a new JWT minted by the Guard (same session id, a new jti),
// or, with Config.SCS, scs's renewed token (SessionManager.RenewToken; the
// scs data moves with it); or a.Token, a token issued elsewhere. The session keeps its id, its history and its
// absolute expiry; the old token is refused from the moment the new one is
// recorded, by every instance (caches drop it on the database's
// notification) once a read replica the instances read has replayed the
// rotation: pgstore waits for that up to its ReplayWait, and past it the
// rotation stands all the same (sessionguard.ErrReplicaBehind, logged as a
// warning), while other instances may still accept the old token until the
// replica catches up. A cookie client gets the new cookie (with scs, LoadAndSave
// writes it); a bearer client gets the returned token and must use it from
// now on. r's context keeps the Session it had (a context never changes),
// which names the retired token: the returned Session is the session now,
// and r.WithContext(WithSession(r.Context(), s)) is the request for the
// calls that follow (a SignOut in the same request, say). The old
// token (and an ES* token's re-signed twin) is retired with the rotation:
// Record refuses it from then on (sessionguard.ErrDuplicateToken).
//
// r must carry a live session of this Guard (r need not have passed through
// Middleware). A refused session is a *RefusalError; a JWT this Guard cannot
// sign (an identity provider's) needs a.Token, the provider's new token.
// An a.Token the Guard does not take (see Reauthentication.Token; a
// malformed "acr" or "amr" claim too, see Record) ends
// nothing: the error matches ErrReauthenticationRequired (the session still
// needs one; DenyJSON answers it as a Require route's refusal, never as an
// ended session), and not ErrInvalidToken, which is the refusal of r's own
// token (no live session). One that another session holds or a
// rotation retired matches sessionguard.ErrDuplicateToken too. Either is a
// failed authentication of the session, audited (Config.Logger at Warn, with
// why, and Config.OnEvent) as a sessionguard.EventRefused of reason
// sessionguard.ReasonReauthenticationRefused naming the session (id, user,
// tenant, app type) and the client address, never the token. A store
// failure matches ErrUnavailable (ErrCanceled when r's client went away
// first, as SignIn's); with scs, the scs session then has a new token that
// is not signed in.
func (g *Guard) Reauthenticate(w http.ResponseWriter, r *http.Request, a Reauthentication) (token string, s Session, err error) {
	const op = "reauthenticate"
	if err := sessionguard.CheckAuthentication(a.ACR, a.AMR); err != nil {
		return "", Session{}, fmt.Errorf("middleware: %s: %w", op, err)
	}
	c, cur, err := g.rotating(r)
	if err != nil {
		return "", Session{}, err
	}
	var given jwtClaims // of a given JWT
	authTime, acr, amr := a.AuthTime, a.ACR, a.AMR
	if a.Token != "" {
		if c.scs {
			return "", Session{}, errors.New("middleware: reauthenticate: an scs session's tokens are scs's: leave Reauthentication.Token empty")
		}
		token = a.Token
		if given, err = g.given(r, token, c.token, cur); err != nil {
			return "", Session{}, g.notReauthenticated(r, sessionguard.ReasonReauthenticationRefused, c, cur, err, token)
		}
		if authed := given.AuthTime; !authed.IsZero() && (authTime.IsZero() || authed.Before(authTime)) {
			authTime = authed
		}
		if acr, amr, err = attested(acr, amr, given); err != nil {
			return "", Session{}, fmt.Errorf("middleware: %s: %w", op, err)
		}
	} else if token, err = g.mint(r, c, cur); err != nil {
		return "", Session{}, err
	}
	s, err = g.rotate(w, r, op, c, cur, token, given.Expires, sessionguard.Reauthentication{ACR: acr, AMR: amr, AuthTime: authTime})
	if err != nil {
		if a.Token != "" && errors.Is(err, sessionguard.ErrDuplicateToken) {
			// Another session's token, or one a rotation retired (a
			// replayed old token): refused as the checks above refuse.
			return "", Session{}, g.notReauthenticated(r, sessionguard.ReasonReauthenticationRefused, c, cur, err, token)
		}
		return "", Session{}, err
	}
	g.emit(r.Context(), slog.LevelInfo, sessionguard.Event{Kind: sessionguard.EventReauthenticated, Count: 1,
		SessionID: s.ID, UserID: s.UserID, TenantID: s.TenantID, AppType: s.AppType, IP: g.cfg.ClientIP(r)})
	return token, s, nil
}

// notReauthenticated is the error of a re-authentication (or a Refresh) whose
// token (Reauthentication.Token) the Guard does not take, cause (why), and
// records it as an audit event of reason (refusedToken): the session's
// holder failed an authentication. Nothing ended: the session lives on and
// still needs a re-authentication, so the error matches
// ErrReauthenticationRequired, which DenyJSON answers as a Require route's
// refusal, without X-Session-End-Reason, and never ErrInvalidToken, the
// refusal of r's own token: a caller that signs the user out on it would end
// a live session. Its text says why the token was refused, cause's text
// ("reauthenticate: ...", without the package, which the RefusalError's
// text names); secrets (the refused token) are kept out of the text and the
// log, as c's token is.
func (g *Guard) notReauthenticated(r *http.Request, reason string, c credential, cur Session, cause error, secrets ...string) *RefusalError {
	e := refuse(ErrReauthenticationRequired, c.bearer)
	e.realm = g.cfg.Realm
	if errors.Is(cause, sessionguard.ErrDuplicateToken) {
		// The token is taken (another session's, or retired by a
		// rotation): the caller may tell it apart, and DenyJSON still
		// answers it as a step-up, not as an outage.
		e.cause = cause
	}
	e.causeMsg = redact(cause.Error(), append(secrets, c.token)...)
	g.refusedToken(r, reason, cur, e.causeMsg)
	return e
}

// rotating is r's credential and its live session, whose token a
// re-authentication or a refresh replaces.
func (g *Guard) rotating(r *http.Request) (credential, Session, error) {
	c, rerr := g.credential(r)
	if rerr != nil {
		return credential{}, Session{}, g.refused(r, rerr)
	}
	cur, ok := SessionFrom(r.Context())
	if !ok || cur.tokenHash != hashToken(c.token) {
		var err error
		if cur, err = g.Authenticate(r); err != nil {
			return credential{}, Session{}, err
		}
	}
	return c, cur, nil
}

// rotate makes token (expiring at expires, when a JWT says so) the token of
// cur, the session of c, recording the authentication rec describes (its
// ACR, AMR and AuthTime; the hashes and session id are filled here), and
// hands the token to a cookie client.
func (g *Guard) rotate(w http.ResponseWriter, r *http.Request, op string, c credential, cur Session, token string, expires time.Time, rec sessionguard.Reauthentication) (Session, error) {
	newHash := hashToken(token)
	rec.SessionID, rec.OldTokenHash, rec.NewTokenHash, rec.OldTwinHash = cur.ID, cur.tokenHash, newHash, g.twinHash(c)
	ctx := withStoreTimeout(r.Context(), g.cfg.StoreTimeout)
	info, rotated, err := g.cfg.Store.Reauthenticate(ctx, rec)
	ctx.stop()
	if rotated && g.doneBehind(r.Context(), op, err, c.token, token, cur.tokenHash, newHash) {
		err = nil // rotated: the old token is dead, the new one must reach the client
	}
	if err != nil || !rotated {
		if c.scs {
			// scs has let go of the old token: end its session rather
			// than leave it live and unreachable.
			g.revoke(r.Context(), cur.tokenHash, sessionguard.ReasonLogout)
		}
	}
	if errors.Is(err, sessionguard.ErrDuplicateToken) {
		// The new token is another session's, or one a rotation retired:
		// the caller's mistake, as in Record, not an outage.
		return Session{}, fmt.Errorf("middleware: %s: %w", op, sessionguard.ErrDuplicateToken)
	}
	if err != nil {
		e := callFailed(r.Context(), err, c.bearer, c.token, token, cur.tokenHash, newHash)
		g.logFailed(r.Context(), "sessionguard: "+op+" failed", e)
		return Session{}, e
	}
	if !rotated || info.ID != cur.ID {
		// Ended (or rotated by a concurrent request) since it was checked.
		return Session{}, g.refusedStatus(r, refuse(ErrInvalidToken, c.bearer),
			sessionguard.Status{SessionID: cur.ID, UserID: cur.UserID, TenantID: cur.TenantID})
	}
	s := sessionOf(statusOf(info), newHash, c.bearer)
	if w != nil {
		w.Header().Set("Cache-Control", "no-store")
		if !c.bearer && !c.scs {
			maxAge := s.AbsoluteRemaining
			if !expires.IsZero() {
				maxAge = min(maxAge, expires.Sub(g.now()).Truncate(time.Second))
			}
			http.SetCookie(w, g.cookie(token, int(maxAge/time.Second)))
		}
	}
	return s, nil
}

// mint issues the new token of cur, of the kind c is.
func (g *Guard) mint(r *http.Request, c credential, cur Session) (string, error) {
	switch {
	case c.scs:
		// RenewToken retires the old token through the scs store; told
		// that this is a rotation, SCSStore keeps the session for it.
		if err := g.cfg.SCS.RenewToken(sessionguard.WithRotation(r.Context(), cur.tokenHash)); err != nil {
			return "", callFailed(r.Context(), err, false, c.token)
		}
		token := g.cfg.SCS.Token(r.Context())
		if !validOpaqueToken(token) {
			return "", errors.New("middleware: reauthenticate: scs issued a token that is not 32 random bytes in base64url")
		}
		return token, nil
	case c.kind == JWTs:
		if !g.jwt.canSign() {
			return "", errors.New("middleware: reauthenticate: this Guard verifies JWTs it cannot sign; pass the issuer's new token in Reauthentication.Token")
		}
		token, err := g.jwt.sign(cur.ID, cur.UserID, cur.TenantID, g.now(), cur.AbsoluteRemaining)
		if err != nil {
			return "", err
		}
		if len(token) > g.cfg.MaxTokenBytes {
			return "", fmt.Errorf("middleware: reauthenticate: signed token of %d bytes exceeds MaxTokenBytes", len(token))
		}
		return token, nil
	}
	return newOpaqueToken()
}

// given checks a token issued elsewhere for cur's re-authentication, as
// Record checks a token, and returns a JWT's claims: its expiry, the time
// of the authentication it attests ("auth_time", required), and that
// authentication's acr and amr; none for an opaque token. It must be cur's
// successor (successor), and of an authentication (auth_time) later than
// the session's: a refresh repeats the old one. Its error says why, after
// op and without the package (notReauthenticated's text has it).
func (g *Guard) given(r *http.Request, token, current string, cur Session) (jwtClaims, error) {
	const op = "reauthenticate"
	kind := g.tokenKind(token)
	if !g.cfg.Tokens.has(kind) {
		return jwtClaims{}, fmt.Errorf("%s: not a token this Guard accepts", op)
	}
	if kind != JWTs {
		if hashToken(token) == cur.tokenHash {
			return jwtClaims{}, fmt.Errorf("%s: the session holds this token already", op)
		}
		return jwtClaims{}, nil
	}
	claims, last, leeway, err := g.successor(r, op, token, current, cur)
	if err != nil {
		return jwtClaims{}, err
	}
	if claims.AuthTime.IsZero() {
		// Without auth_time nothing tells a re-authentication from a
		// refresh-token grant, whose token has a new iat too.
		return jwtClaims{}, fmt.Errorf("%s: the token has no auth_time (ask the provider for it: OIDC max_age)", op)
	}
	if !claims.AuthTime.Add(leeway).After(last) {
		// The issuer says the user last authenticated no later than the
		// session did: a token issued without a new authentication (a
		// refresh, a single sign-on session reused).
		return jwtClaims{}, fmt.Errorf("%s: the token's auth_time is not after the session's authentication", op)
	}
	return claims, nil
}

// successor checks token, a JWT issued elsewhere to follow current as the
// token of cur, as Record checks a token, and returns its claims and the
// session's last authentication with the leeway a provider's time needs
// against it. The token must be new: not current, even re-signed (an
// ECDSA signature's s and n-s both verify, so anyone holding a token can
// make a second string of it), nor issued before it (a replayed older
// token of the session); its user (and tenant, and session id when it
// names one) cur's; and not about to expire. Its error says why, after op,
// as given's.
//
// The session's last authentication and current's iat are read off the
// provider's clock when current is the provider's token (its auth_time,
// else its iat): there a refresh repeats them exactly, and a new
// authentication is later whatever the skew between the provider and the
// database. The database's time (a session the application signed in, or
// a token of the Guard's own) is compared with JWTConfig.Leeway, as exp,
// nbf and iat are: without it a provider behind the database refused a
// re-authentication within that skew of the sign-in. The session's stored
// time is no measure for the provider's token: a provider ahead of the
// database had it clamped to the database's now, and a refresh repeating
// the sign-in's auth_time read as later.
func (g *Guard) successor(r *http.Request, op, token, current string, cur Session) (claims jwtClaims, last time.Time, leeway time.Duration, err error) {
	if hashToken(token) == cur.tokenHash || signedPart(token) == signedPart(current) {
		return jwtClaims{}, time.Time{}, 0, fmt.Errorf("%s: the session holds this token already", op)
	}
	if claims, err = g.jwt.verify(token); err != nil {
		g.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "sessionguard: jwt rejected", slog.String("cause", err.Error()))
		return jwtClaims{}, time.Time{}, 0, fmt.Errorf("%s: %v", op, err)
	}
	if claims.UserID != cur.UserID || claims.HasTenant && claims.TenantID != cur.TenantID ||
		claims.SessionID != "" && !strings.EqualFold(claims.SessionID, cur.ID) {
		return jwtClaims{}, time.Time{}, 0, fmt.Errorf("%s: the token's claims are not the session's", op)
	}
	if !claims.Expires.IsZero() && claims.Expires.Sub(g.now()) < time.Second {
		return jwtClaims{}, time.Time{}, 0, fmt.Errorf("%s: the token expires within a second", op)
	}
	last, leeway = cur.AuthTime, g.jwt.cfg.Leeway
	var issued time.Time
	if kindOf(current) == JWTs {
		// current is the session's token, verified for this request.
		old, err := g.jwt.verifyHashed(current, cur.tokenHash)
		if err != nil {
			return jwtClaims{}, time.Time{}, 0, fmt.Errorf("%s: the session's token: %v", op, err)
		}
		issued = old.IssuedAt
		if at := providerAuthTime(old); !at.IsZero() && !g.jwt.canSign() {
			last, leeway = at, 0
		}
	}
	if claims.IssuedAt.Add(leeway).Before(issued) {
		return jwtClaims{}, time.Time{}, 0, fmt.Errorf("%s: the token was issued before the session's", op)
	}
	return claims, last, leeway, nil
}

// providerAuthTime is when a provider's token says the user last
// authenticated: its auth_time, else its iat (no later than that).
func providerAuthTime(c jwtClaims) time.Time {
	if !c.AuthTime.IsZero() {
		return c.AuthTime
	}
	return c.IssuedAt
}

// signedPart is a JWT's header and payload, what its signature signs.
func signedPart(jwt string) string {
	return jwt[:max(strings.LastIndexByte(jwt, '.'), 0)]
}

// statusOf is the valid Status of a session the store has just written.
func statusOf(info sessionguard.SessionInfo) sessionguard.Status {
	return sessionguard.Status{
		State:             sessionguard.StateValid,
		SessionID:         info.ID,
		UserID:            info.UserID,
		TenantID:          info.TenantID,
		AppType:           info.AppType,
		CreatedAt:         info.CreatedAt,
		LastActivityAt:    info.LastActivityAt,
		IdleExpiresAt:     info.LastActivityAt.Add(info.IdleTimeout),
		AbsoluteExpiresAt: info.AbsoluteExpiresAt,
		IdleTimeout:       info.IdleTimeout,
		CheckedAt:         info.LastActivityAt,
		AuthTime:          info.AuthTime,
		ACR:               info.ACR,
		AMR:               info.AMR,
	}
}
