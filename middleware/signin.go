package middleware

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard"
)

// SignIn describes a session to open, once the application has checked the
// user's credentials.
type SignIn struct {
	UserID   int64 // required, > 0
	TenantID int64 // required (> 0) for sessionguard.TenantApp; sessionguard.NoTenant for none
	// AppType defaults to the Guard's AppType; required when the Guard has
	// none. It must equal the Guard's AppType when that is set.
	AppType sessionguard.AppType
	// ACR and AMR record how the user authenticated, for routes that
	// Require a level (see sessionguard.CheckAuthentication): e.g. ACR
	// "aal2", AMR ["pwd", "otp"]. Default: not recorded. Record takes an
	// identity provider's token's own "acr" and "amr" claims where these
	// are empty, and refuses values that disagree with them (see Record).
	ACR string
	AMR []string
	// AuthTime is when the user authenticated, when that was before the
	// sign-in (at a single sign-on service, say): Requirement.MaxAge (of
	// Guard.Require) counts from it. Zero: now. Record takes the earlier of
	// it and the token's time (see Record).
	AuthTime time.Time
}

// SignIn opens a new session for p and returns its token (for bearer
// clients) and the Session.
//
// The token is always brand new: a token the client sent is never reused, so
// a token planted in a browser before sign-in (session fixation) is never
// signed in. It is minted by the library: a JWT when the Guard accepts JWTs
// and Config.JWT has a signing key, else an opaque token; with Config.SCS it
// is scs's renewed token (see below). A Guard that only verifies JWTs (from
// an identity provider) mints nothing: record the provider's token with
// [Guard.Record]. The session row records the client address
// (Config.ClientIP) and the User-Agent (made valid UTF-8, truncated to 512
// bytes).
//
// When w is not nil, SignIn sets the session cookie and Cache-Control:
// no-store, and takes off the time-left headers Middleware set for the
// session the sign-in replaces (the next request carries the new one's).
// Because that cookie replaces whatever session cookie the browser
// had, a well-formed session cookie on r (a JWT only if signed by a key of
// the Guard) is then revoked with reason "logout" (best effort: a failure is
// logged, not returned): its owner could no longer reach it, and nobody else
// should. Other sessions of the user are left alone. r may be nil (no
// address, no User-Agent, nothing revoked).
//
// With Config.SCS, r's context must hold the scs session (LoadAndSave).
// SignIn renews the scs token (SessionManager.RenewToken), ends the sessions
// of the old token and cookie with reason "logout", and records the new
// token; LoadAndSave writes the scs data under it with the new cookie when
// the handler returns. A store failure then leaves the scs session with a
// new token and no sessions row: not signed in.
//
// SignIn does not call Config.Tenant: the caller, who checked the
// credentials, says which tenant the session is for. A store failure is an
// error matching ErrUnavailable (ErrCanceled when it failed because r's
// client went away: logged at Debug level, not as an outage).
func (g *Guard) SignIn(w http.ResponseWriter, r *http.Request, p SignIn) (token string, s Session, err error) {
	app, err := g.signInAppType(p)
	if err != nil {
		return "", Session{}, err
	}
	if g.cfg.SCS != nil {
		return g.scsSignIn(w, r, p, app)
	}
	sid, err := newUUID()
	if err != nil {
		return "", Session{}, err
	}
	switch {
	case g.cfg.Tokens.has(JWTs) && g.jwt.canSign():
		token, err = g.jwt.sign(sid, p.UserID, p.TenantID, g.now(), g.cfg.AbsoluteTimeout)
		if err != nil {
			return "", Session{}, err
		}
		if len(token) > g.cfg.MaxTokenBytes {
			return "", Session{}, fmt.Errorf("middleware: sign in: signed token of %d bytes exceeds MaxTokenBytes", len(token))
		}
	case g.cfg.Tokens.has(OpaqueTokens):
		if token, err = newOpaqueToken(); err != nil {
			return "", Session{}, err
		}
	default:
		return "", Session{}, errors.New("middleware: sign in: this Guard verifies JWTs it cannot sign (no signing key); record the issuer's token with Guard.Record")
	}
	s, err = g.open(w, r, token, p, app, sid, g.cfg.AbsoluteTimeout)
	if err != nil {
		return "", Session{}, err
	}
	return token, s, nil
}

// open records the session row of token (id sid) for p: the one path of
// SignIn and Record. With w it sets the session cookie (Max-Age maxAge)
// after ending the session of the cookie it replaces.
func (g *Guard) open(w http.ResponseWriter, r *http.Request, token string, p SignIn, app sessionguard.AppType, sid string, maxAge time.Duration) (Session, error) {
	s, err := g.openSession(r, p, app, sid, token)
	if err != nil {
		return Session{}, err
	}
	if w != nil {
		if r != nil {
			g.revokeReplacedCookie(r.Context(), r, s.tokenHash)
		}
		w.Header().Set("Cache-Control", "no-store")
		clearTimeLeft(w.Header())
		http.SetCookie(w, g.cookie(token, int(maxAge/time.Second)))
	}
	s.Bearer = w == nil
	return s, nil
}

// signInAppType checks p against the Guard and returns the app type of the
// session to open.
func (g *Guard) signInAppType(p SignIn) (sessionguard.AppType, error) {
	app := p.AppType
	if app == "" {
		app = g.cfg.AppType
	}
	switch {
	case p.UserID <= 0:
		return "", errors.New("middleware: sign in: UserID must be positive")
	case app == "":
		return "", errors.New("middleware: sign in: AppType is required")
	case !app.Valid():
		return "", fmt.Errorf("middleware: sign in: unknown AppType %q", app)
	case g.cfg.AppType != "" && app != g.cfg.AppType:
		return "", fmt.Errorf("middleware: sign in: AppType %q on a Guard for %q", app, g.cfg.AppType)
	case p.TenantID < 0:
		return "", errors.New("middleware: sign in: TenantID is negative")
	case app == sessionguard.TenantApp && p.TenantID == sessionguard.NoTenant:
		return "", errors.New("middleware: sign in: a tenant_app session needs a TenantID")
	}
	return app, nil
}

// openSession creates the session row of token (id sid) for p and returns it
// as a cookie Session. r may be nil.
func (g *Guard) openSession(r *http.Request, p SignIn, app sessionguard.AppType, sid, token string) (Session, error) {
	hash := hashToken(token)
	n := sessionguard.NewSession{
		ID:              sid,
		TokenHash:       hash,
		UserID:          p.UserID,
		TenantID:        p.TenantID,
		AppType:         app,
		IdleTimeout:     g.cfg.IdleTimeout,
		AbsoluteTimeout: g.cfg.AbsoluteTimeout,
		ACR:             p.ACR,
		AMR:             p.AMR,
		AuthTime:        p.AuthTime,
		Limit:           g.cfg.SessionLimit,
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
		// The store keeps only a parseable address and makes the
		// User-Agent storable (valid UTF-8, no NUL, at most 512 bytes).
		n.IP = g.cfg.ClientIP(r)
		n.UserAgent = r.UserAgent()
	}
	cctx := withStoreTimeout(ctx, g.cfg.StoreTimeout)
	info, err := g.cfg.Store.Create(cctx, n)
	cctx.stop()
	if g.doneBehind(ctx, "sign in", err, token, hash) {
		err = nil // the session is there; sessions a limit ended are ended
	}
	if errors.Is(err, sessionguard.ErrDuplicateToken) {
		// Recording a token twice is the caller's mistake, not an outage:
		// the token keeps the session it has.
		return Session{}, fmt.Errorf("middleware: sign in: %w", sessionguard.ErrDuplicateToken)
	}
	if errors.Is(err, sessionguard.ErrSessionLimit) {
		return Session{}, g.sessionLimitRefused(ctx, n)
	}
	if err != nil {
		e := callFailed(ctx, err, false, token, hash)
		g.logFailed(ctx, "sessionguard: sign in failed", e)
		return Session{}, e
	}
	if !strings.EqualFold(info.ID, sid) || info.UserID != p.UserID || info.TenantID != p.TenantID || info.AppType != app {
		// The store did not create what was asked; do not hand out a token
		// for it.
		g.revoke(ctx, hash, sessionguard.ReasonAdminRevoke)
		return Session{}, errors.New("middleware: sign in: the store created a different session than asked")
	}
	g.emit(ctx, slog.LevelInfo, sessionguard.Event{Kind: sessionguard.EventCreated, Count: 1, SessionID: info.ID,
		UserID: info.UserID, TenantID: info.TenantID, AppType: info.AppType, IP: info.IP})
	return sessionOf(statusOf(info), hash, false), nil
}

// revokeReplacedCookie revokes the session of the cookie r carried, which a
// new cookie is about to replace. newHash is never revoked.
func (g *Guard) revokeReplacedCookie(ctx context.Context, r *http.Request, newHash string) {
	old, n := findCookie(r.Header[cookieKey], g.cfg.CookieName)
	if n != 1 || !g.accepts(old) {
		return
	}
	if h := hashToken(old); h != newHash && g.genuine(old) {
		g.revoke(ctx, h, sessionguard.ReasonLogout)
	}
}

// genuine reports whether token, of a kind the Guard accepts, could have a
// session: a JWT must be signed by one of the Guard's keys (expired or not:
// its session may still be ended). A revocation by a token the request
// carries asks it first, so that a forged token costs no store call there
// either.
func (g *Guard) genuine(token string) bool {
	return g.tokenKind(token) != JWTs || g.jwt.signed(token)
}

// accepts reports whether token has the shape of a kind the Guard accepts
// (without verifying a JWT).
func (g *Guard) accepts(token string) bool {
	return g.cfg.Tokens.has(g.tokenKind(token))
}

// tokenKind is the kind of a token given to the Guard by the application
// (Record, Reauthenticate): kindOf once its characters and size are checked,
// 0 when they are not a token's.
func (g *Guard) tokenKind(token string) TokenKinds {
	if !validTokenChars(token, g.cfg.MaxTokenBytes) {
		return 0
	}
	return kindOf(token)
}

// end makes call, a store call that ends a session, for op ("sign out",
// "revoke"). It is not abandoned when the client goes away (a tab closed
// right after "Sign out" cancels ctx): the session would live on behind a
// cookie the browser never saw cleared. StoreTimeout alone bounds it. An
// end the read replica has not replayed yet is done (doneBehind); secrets
// are kept out of its warning.
func (g *Guard) end(ctx context.Context, op string, call func(context.Context) (bool, error), secrets ...string) error {
	cctx := withStoreTimeout(context.WithoutCancel(ctx), g.cfg.StoreTimeout)
	defer cctx.stop()
	if _, err := call(cctx); err != nil && !g.doneBehind(ctx, op, err, secrets...) {
		return err
	}
	return nil
}

// revoke ends the session of hash with reason (Store.Revoke), best effort:
// a failure is logged.
func (g *Guard) revoke(ctx context.Context, hash, reason string) {
	revoke := func(ctx context.Context) (bool, error) { return g.cfg.Store.Revoke(ctx, hash, reason) }
	if err := g.end(ctx, "revoke", revoke, hash); err != nil {
		g.cfg.Logger.LogAttrs(ctx, slog.LevelError, "sessionguard: revoke failed",
			slog.String("error", redact(err.Error(), hash)))
	}
}

// ClearCookie tells the browser to delete the session cookie: same name and
// attributes, empty value, Max-Age 0 (sent as "Max-Age=0").
func (g *Guard) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, g.cookie("", -1))
}

// cookie returns the session cookie with the fixed attributes. maxAge < 0
// deletes it.
func (g *Guard) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     g.cfg.CookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   !g.cfg.InsecureCookie,
		SameSite: http.SameSiteLaxMode,
	}
}

// newUUID returns a random (version 4) UUID in canonical lowercase form.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("middleware: random session id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexdig = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdig[c>>4], hexdig[c&0x0f])
	}
	return string(out), nil
}
