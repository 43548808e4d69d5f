package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"go.opentelemetry.io/otel/metric"

	"github.com/sessionguard/sessionguard"
)

// Defaults for the zero values of Config.
const (
	DefaultIdleTimeout      = 4 * time.Hour // the seed migration's 240 minutes
	DefaultAbsoluteTimeout  = 8 * time.Hour
	DefaultWarningThreshold = 5 * time.Minute
	DefaultCookieName       = "__Host-session"
	DefaultMaxTokenBytes    = 4096
	DefaultStoreTimeout     = 2 * time.Second
	DefaultRealm            = "sessionguard"
	DefaultJWTLeeway        = 30 * time.Second
)

// Config configures a [Guard]. The zero value of every field but Store means
// its default. It is checked once, by [New].
type Config struct {
	// Store is the session store: a *pgstore.Store or *pgstore.Cache, or any
	// other sessionguard.Store. Required.
	Store sessionguard.Store

	// AppType is the app type of the routes this Guard protects. "" (default)
	// accepts sessions of any app type; otherwise a session of another app
	// type is refused with 403 wrong_app. It is also the default app type of
	// SignIn.
	AppType sessionguard.AppType

	// Tenant resolves the tenant a request is for, for instance from a path
	// such as /t/{tenant}/. Required when AppType is sessionguard.TenantApp;
	// default nil (no tenant check). It runs only after a well-formed token
	// was found. An error or a tenant id <= 0 is refused with 400
	// bad_tenant; a session of another tenant with 403 wrong_tenant. A
	// resolver that looks tenants up somewhere that can fail wraps
	// ErrUnavailable in its error (fmt.Errorf("tenants: %w: %w",
	// middleware.ErrUnavailable, err)): the request is then refused with 503,
	// never mistaken for a bad request.
	Tenant func(r *http.Request) (tenantID int64, err error)

	// IdleTimeout is stored with each new session (default 4h, whole
	// seconds). The database row is the source of truth afterwards.
	IdleTimeout time.Duration
	// AbsoluteTimeout is the maximum lifetime of a new session (default 8h,
	// or SCS.Lifetime with SCS; whole seconds). It is also the longest
	// Max-Age of the cookie and the lifetime of a JWT SignIn mints.
	AbsoluteTimeout time.Duration
	// WarningThreshold is sent as X-Session-Warning-Threshold, in seconds
	// (default 5m): how long before the idle timeout a page should warn.
	WarningThreshold time.Duration

	// CookieName is the session cookie's name (default "__Host-session";
	// with SCS, SCS.Cookie.Name, which it must equal when set). The
	// Guard's own cookie is always HttpOnly, SameSite=Lax, Path=/, without
	// Domain, and Secure unless InsecureCookie.
	CookieName string
	// InsecureCookie drops the Secure attribute, for plain-http local
	// development only (default false). A CookieName with the __Host- or
	// __Secure- prefix is then an error, since browsers reject such cookies
	// without Secure.
	InsecureCookie bool

	// MaxTokenBytes is the longest token accepted (default 4096). Longer
	// tokens are refused before any parsing.
	MaxTokenBytes int

	// Tokens are the kinds of token the Guard accepts, told apart by their
	// shape without a query; a token of another kind is refused before the
	// store is asked. Default: JWTs when JWT is set, else OpaqueTokens; with
	// SCS, OpaqueTokens as well (scs's tokens are opaque).
	Tokens TokenKinds
	// JWT verifies JWTs (see JWTConfig), the Guard's own or an identity
	// provider's. Required when Tokens includes JWTs. Default nil: no JWTs.
	JWT *JWTConfig
	// SCS, when set, makes the session cookie scs's: the Guard reads the
	// token of the scs session that Guard.LoadAndSave loaded (the Guard runs
	// inside it), SignIn renews the scs token, and SignOut destroys
	// the scs session. Bearer tokens are still read from the Authorization
	// header. Default nil. New requires HashTokenInStore (the store sees
	// the token's SHA-256, as the sessions table does), IdleTimeout 0 (the
	// sessions table keeps idleness without a write per request), a
	// Lifetime no shorter than AbsoluteTimeout (which takes it when zero),
	// and a cookie that is HttpOnly, SameSite Lax or Strict, and Secure
	// unless InsecureCookie.
	SCS *scs.SessionManager

	// SessionLimit caps the live sessions one user may hold in this Guard's
	// app type (ASVS 7.1.2), applied by SignIn and Record atomically with
	// the new session's row: at the limit, the user's least recently active
	// session ends with reason "session_limit" (its next request is refused
	// saying so), or, with AtLimit sessionguard.RefuseNewSession, the
	// sign-in fails with an error matching sessionguard.ErrSessionLimit.
	// The zero value sets no limit. Every Guard that signs in sessions of the
	// app type must have the same limit.
	SessionLimit sessionguard.SessionLimit

	// StoreTimeout bounds every store call (default 2s). A store error or
	// timeout refuses the request with 503.
	StoreTimeout time.Duration

	// Deny writes a refusal; err is a *RefusalError. Default: [DenyJSON].
	// Routes that answer refusals another way (a redirect to the sign-in
	// page) use [Guard.WithDeny]. Before Deny runs, the Guard has set
	// Cache-Control: no-store, Vary and, on a cross-origin request,
	// Access-Control-Expose-Headers.
	Deny func(w http.ResponseWriter, r *http.Request, err error)

	// Realm is the realm of WWW-Authenticate challenges (default
	// "sessionguard"). It may not contain quotes, backslashes or control
	// characters.
	Realm string

	// Logger receives the audit events of the requests (see sessionguard.Event):
	// sessions created by SignIn and requests refused ("missing" at Debug
	// level, others at Info; a refusal because a session timed out is an
	// "expired" event), and store errors: the first store failure of each
	// second at Error, the others of that second at Info (with their audit
	// line), so that a flood during an outage does not fill the log at
	// Error. Revocations
	// are logged by the store that makes them (pgstore.Config.Logger), so
	// that an admin's revocation is logged as well as a sign-out. It never
	// receives a token, a token hash or a cookie value. Default
	// slog.Default(); use slog.New(slog.DiscardHandler) to silence it.
	Logger *slog.Logger
	// OnEvent, when set, is called with every event the Guard logs (whatever
	// the Logger's level), on the request's goroutine: count them for
	// metrics. It must be quick. Default nil.
	OnEvent func(sessionguard.Event)
	// MeterProvider, when set, receives the Guard's metrics: requests by
	// result and refusal reason, and sign-ins (README.md, "Metrics and
	// traces"). Default nil: no metrics, and nothing spent on them.
	MeterProvider metric.MeterProvider

	// ClientIP returns the client address recorded at sign-in and logged with
	// refusals. Default: ClientIPBehindProxies(TrustedProxies) when
	// TrustedProxies is set, else RemoteAddrIP (the host part of
	// r.RemoteAddr; X-Forwarded-For is not trusted).
	ClientIP func(r *http.Request) string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (see ClientIPBehindProxies). Default none. Setting both
	// TrustedProxies and ClientIP is an error.
	TrustedProxies []netip.Prefix
}

// errConfig prefixes configuration errors.
func errConfig(format string, args ...any) error {
	return fmt.Errorf("middleware: config: "+format, args...)
}

// withDefaults returns a copy of c with defaults filled in, or an error
// describing the first problem found.
func (c Config) withDefaults() (Config, error) {
	if c.Store == nil {
		return c, errConfig("Store is required")
	}
	if err := c.SessionLimit.Check(); err != nil {
		return c, errConfig("SessionLimit: %v", err)
	}
	if c.SCS != nil {
		var err error
		if c, err = c.withSCS(); err != nil {
			return c, err
		}
	}
	if c.AppType != "" && !c.AppType.Valid() {
		return c, errConfig("unknown AppType %q", c.AppType)
	}
	if c.AppType == sessionguard.TenantApp && c.Tenant == nil {
		return c, errConfig("Tenant is required when AppType is %q", sessionguard.TenantApp)
	}
	var err error
	if c.IdleTimeout, err = wholeSeconds("IdleTimeout", c.IdleTimeout, DefaultIdleTimeout); err != nil {
		return c, err
	}
	if c.AbsoluteTimeout, err = wholeSeconds("AbsoluteTimeout", c.AbsoluteTimeout, DefaultAbsoluteTimeout); err != nil {
		return c, err
	}
	if c.IdleTimeout > c.AbsoluteTimeout {
		return c, errConfig("IdleTimeout (%v) exceeds AbsoluteTimeout (%v)", c.IdleTimeout, c.AbsoluteTimeout)
	}
	if c.WarningThreshold, err = wholeSeconds("WarningThreshold", c.WarningThreshold, DefaultWarningThreshold); err != nil {
		return c, err
	}
	if c.WarningThreshold >= c.IdleTimeout {
		return c, errConfig("WarningThreshold (%v) must be shorter than IdleTimeout (%v)", c.WarningThreshold, c.IdleTimeout)
	}
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
	}
	if !validCookieName(c.CookieName) {
		return c, errConfig("CookieName %q is not a valid cookie name", c.CookieName)
	}
	if c.InsecureCookie && (strings.HasPrefix(c.CookieName, "__Host-") || strings.HasPrefix(c.CookieName, "__Secure-")) {
		return c, errConfig("CookieName %q needs a Secure cookie; choose another name with InsecureCookie", c.CookieName)
	}
	switch {
	case c.MaxTokenBytes == 0:
		c.MaxTokenBytes = DefaultMaxTokenBytes
	case c.MaxTokenBytes < opaqueTokenLen:
		return c, errConfig("MaxTokenBytes %d is below the %d bytes of an opaque token", c.MaxTokenBytes, opaqueTokenLen)
	}
	switch {
	case c.StoreTimeout == 0:
		c.StoreTimeout = DefaultStoreTimeout
	case c.StoreTimeout < 0:
		return c, errConfig("StoreTimeout %v is negative", c.StoreTimeout)
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	for i := 0; i < len(c.Realm); i++ {
		if ch := c.Realm[i]; ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' {
			return c, errConfig("Realm contains a quote, backslash or control character")
		}
	}
	if c.Deny == nil {
		c.Deny = DenyJSON
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			return c, errConfig("TrustedProxies has an invalid prefix")
		}
	}
	switch {
	case c.ClientIP != nil && len(c.TrustedProxies) > 0:
		return c, errConfig("set ClientIP or TrustedProxies, not both")
	case len(c.TrustedProxies) > 0:
		c.ClientIP = ClientIPBehindProxies(c.TrustedProxies)
	case c.ClientIP == nil:
		c.ClientIP = RemoteAddrIP
	}
	if c.JWT != nil {
		j, err := c.JWT.withDefaults()
		if err != nil {
			return c, err
		}
		c.JWT = &j
	}
	return c.withTokenKinds()
}

// withTokenKinds fills in and checks Tokens against JWT and SCS.
func (c Config) withTokenKinds() (Config, error) {
	if c.Tokens == 0 {
		c.Tokens = OpaqueTokens
		if c.JWT != nil {
			c.Tokens = JWTs
		}
		if c.SCS != nil {
			c.Tokens |= OpaqueTokens
		}
	}
	switch {
	case c.Tokens&^(OpaqueTokens|JWTs) != 0:
		return c, errConfig("Tokens %d names an unknown kind", c.Tokens)
	case c.Tokens.has(JWTs) && c.JWT == nil:
		return c, errConfig("Tokens includes JWTs: set JWT to verify them")
	case c.JWT != nil && !c.Tokens.has(JWTs):
		return c, errConfig("JWT is set but Tokens does not include JWTs")
	case c.SCS != nil && !c.Tokens.has(OpaqueTokens):
		return c, errConfig("SCS is set but Tokens does not include OpaqueTokens: scs tokens are opaque")
	}
	return c, nil
}

func wholeSeconds(name string, d, def time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return def, nil
	case d < 0:
		return 0, errConfig("%s %v is negative", name, d)
	case d%time.Second != 0:
		return 0, errConfig("%s %v is not a whole number of seconds", name, d)
	}
	return d, nil
}

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
