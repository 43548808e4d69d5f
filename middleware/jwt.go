package middleware

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
)

// JWTConfig selects JWT mode: the session token is a signed JWT, verified
// before any database work; the store remains the authority on whether its
// session is alive. The JWTs may come from your own identity provider: the
// library needs only the public keys (Keys with VerifyKey, or JWKS) and the
// names of the claims that carry the user, the tenant and the session.
type JWTConfig struct {
	// Keys are static keys, chosen by the token's "kid" header. Set Keys or
	// JWKS, not both. Keep old keys here (VerifyKey only) while tokens they
	// signed may still be presented; that is key rotation. A token without
	// a "kid" (an issuer with one HMAC secret often writes none) is verified
	// with the key when Keys holds exactly one and the Guard does not sign
	// with it, and only if its "alg" is that key's Algorithm. With several
	// keys, or a JWKS, a token must name its key: which one it means would
	// be a guess, and during a rotation the set holds two. The tokens a
	// Guard signs always name theirs. With a signing key, every key here is taken for
	// the Guard's own (Issuer and Audience are then optional): verify
	// another issuer's tokens in a Guard that signs nothing, which must name
	// that issuer and this app's audience.
	Keys []JWTKey
	// JWKS is a key set fetched from an issuer's JWKS URL ([NewJWKS]).
	JWKS *JWKS
	// SigningKeyID is the ID of the key in Keys that signs the tokens
	// SignIn issues (default: the first key with a SignKey). Without one the
	// Guard only verifies. It must have a SignKey.
	SigningKeyID string

	// Issuer, when set, must equal the "iss" claim; SignIn writes it.
	// Required when the Guard verifies tokens it does not sign (JWKS, or
	// Keys without a SignKey).
	Issuer string
	// Audience, when set, must be in the "aud" claim; SignIn writes it.
	// Required, like Issuer, for tokens the Guard does not sign: an issuer
	// that signs tokens for several applications would otherwise have its
	// token for another one (held by that application, or by whoever runs
	// it) open a session here (RFC 8725, section 3.9), unless AnyAudience.
	Audience string
	// AnyAudience accepts an issuer's tokens whatever their "aud", for an
	// issuer that writes none because every token it signs is for this
	// application. Not with Audience.
	AnyAudience bool
	// Leeway is the clock skew allowed for exp, nbf and iat (default 30s).
	Leeway time.Duration

	// RequiredClaims are claims a token must carry besides "exp" and the
	// user id claim, which are always required ([StrictJWTClaims] is the
	// set the library's own tokens carry). "nbf" and "iat" are checked
	// whenever present, "iss" and "aud" whenever Issuer and Audience are set.
	RequiredClaims []string
	// AllowNoExpiry accepts tokens without "exp". The session row still
	// times out; only set it for an issuer that cannot write exp.
	AllowNoExpiry bool

	// UserIDClaim names the claim that carries the user id, a positive
	// integer as a JSON number or a decimal string (default "sub").
	UserIDClaim string
	// TenantIDClaim, when set, names the claim that carries the tenant id
	// (e.g. "tid"), a positive integer as a JSON number or a decimal string.
	// A token without it has no tenant unless RequiredClaims lists it.
	TenantIDClaim string
	// SessionIDClaim, when set, names the claim that carries the session
	// row's id (a UUID), which must then equal the row found by the token's
	// hash. Required in every token when set. Default: "sid" when the
	// Guard signs tokens, none otherwise (the row is found by the hash).
	SessionIDClaim string
}

// JWTKey is one key. A token is verified only by the key whose ID equals its
// "kid" (or, without a "kid", by the only key of JWTConfig.Keys of a Guard
// that does not sign), and only if its "alg" is that key's Algorithm.
type JWTKey struct {
	// ID is the "kid"; required and unique, even for a Guard's only key
	// whose issuer writes no kid: the tokens the Guard signs carry it, and
	// so does a rotation's second key.
	ID string
	// Algorithm is one of HS256, HS384, HS512, RS256, RS384, RS512, PS256,
	// PS384, PS512, ES256, ES384, ES512, EdDSA.
	Algorithm string
	// SignKey signs new tokens: []byte for HS* (at least as long as the hash
	// output: 32, 48, 64 bytes), *rsa.PrivateKey (2048 bits or more) for
	// RS*/PS*, *ecdsa.PrivateKey on the matching curve for ES*,
	// ed25519.PrivateKey for EdDSA. Leave it nil for a verify-only key.
	SignKey any
	// VerifyKey verifies: []byte for HS* (default: SignKey, and must equal it
	// if set), *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey (default:
	// the public half of SignKey, and must match it if set).
	VerifyKey any
}

// StrictJWTClaims returns the claims every token SignIn issues carries, for
// RequiredClaims when all tokens are the library's own.
func StrictJWTClaims() []string {
	return []string{"iss", "aud", "sub", "sid", "exp", "iat", "nbf", "jti"}
}

var (
	kidPattern   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	claimPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	uuidPattern  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

func (c JWTConfig) withDefaults() (JWTConfig, error) {
	switch {
	case len(c.Keys) == 0 && c.JWKS == nil:
		return c, errConfig("JWT.Keys is empty and JWT.JWKS is nil: set one")
	case len(c.Keys) > 0 && c.JWKS != nil:
		return c, errConfig("set JWT.Keys or JWT.JWKS, not both")
	case c.JWKS != nil && c.SigningKeyID != "":
		return c, errConfig("JWT.SigningKeyID names a key of JWT.Keys; a JWKS holds no signing key")
	case c.JWKS != nil && c.JWKS.cached == nil:
		return c, errConfig("JWT.JWKS was not built by NewJWKS")
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultJWTLeeway
	case c.Leeway < 0:
		return c, errConfig("JWT.Leeway %v is negative", c.Leeway)
	}
	keys := make([]JWTKey, len(c.Keys))
	seen := make(map[string]bool, len(c.Keys))
	for i, k := range c.Keys {
		if !kidPattern.MatchString(k.ID) {
			return c, errConfig("JWT.Keys[%d].ID %q must be 1-64 characters of [A-Za-z0-9._-]", i, k.ID)
		}
		if seen[k.ID] {
			return c, errConfig("JWT.Keys[%d].ID %q is a duplicate", i, k.ID)
		}
		seen[k.ID] = true
		nk, err := checkKey(k)
		if err != nil {
			return c, errConfig("JWT.Keys[%d] (%s): %v", i, k.ID, err)
		}
		keys[i] = nk
		if c.SigningKeyID == "" && nk.SignKey != nil {
			c.SigningKeyID = nk.ID
		}
	}
	c.Keys = keys
	if c.SigningKeyID != "" {
		i := slices.IndexFunc(keys, func(k JWTKey) bool { return k.ID == c.SigningKeyID })
		switch {
		case i < 0:
			return c, errConfig("JWT.SigningKeyID %q names no key", c.SigningKeyID)
		case keys[i].SignKey == nil:
			return c, errConfig("JWT signing key %q has no SignKey", c.SigningKeyID)
		}
		if c.SessionIDClaim == "" {
			c.SessionIDClaim = "sid"
		}
	}
	if c.UserIDClaim == "" {
		c.UserIDClaim = "sub"
	}
	names := map[string]string{"UserIDClaim": c.UserIDClaim, "TenantIDClaim": c.TenantIDClaim, "SessionIDClaim": c.SessionIDClaim}
	for field, name := range names {
		if name != "" && !claimPattern.MatchString(name) {
			return c, errConfig("JWT.%s %q is not a claim name", field, name)
		}
	}
	if c.TenantIDClaim != "" && (c.TenantIDClaim == c.UserIDClaim || c.TenantIDClaim == c.SessionIDClaim) ||
		c.SessionIDClaim != "" && c.SessionIDClaim == c.UserIDClaim {
		return c, errConfig("JWT user, tenant and session id claims must differ")
	}
	required := slices.Clone(c.RequiredClaims)
	for i, name := range required {
		if !claimPattern.MatchString(name) {
			return c, errConfig("JWT.RequiredClaims[%d] %q is not a claim name", i, name)
		}
		if name == "exp" && c.AllowNoExpiry {
			return c, errConfig("JWT.RequiredClaims lists exp and AllowNoExpiry is set")
		}
	}
	c.RequiredClaims = required
	if c.SigningKeyID == "" {
		// Every token is someone else's: say whose, and for whom.
		switch {
		case c.Issuer == "":
			return c, errConfig("JWT.Issuer is required when the Guard verifies tokens it does not sign: the issuer's \"iss\"")
		case c.Audience == "" && !c.AnyAudience:
			return c, errConfig("JWT.Audience is required when the Guard verifies tokens it does not sign: the \"aud\" the issuer gives this application's tokens (AnyAudience only if it signs tokens for no other)")
		}
	}
	if c.Audience != "" && c.AnyAudience {
		return c, errConfig("JWT.Audience and JWT.AnyAudience are both set")
	}
	return c, nil
}

// checkKey validates one key and returns it with VerifyKey filled in and
// HMAC secrets copied (so later changes by the caller do not reach us).
func checkKey(k JWTKey) (JWTKey, error) {
	if isHMAC(k.Algorithm) {
		return checkHMACKey(k)
	}
	if !isAsymmetric(k.Algorithm) {
		return k, fmt.Errorf("unsupported Algorithm %q", k.Algorithm)
	}
	var pub crypto.PublicKey
	if k.SignKey != nil {
		signer, ok := k.SignKey.(crypto.Signer)
		if ed, isEd := k.SignKey.(ed25519.PrivateKey); !ok || isEd && len(ed) != ed25519.PrivateKeySize {
			return k, fmt.Errorf("SignKey is %T, want %s", k.SignKey, privateKeyType(k.Algorithm))
		}
		pub = signer.Public()
		if err := fitsAlgorithm(k.Algorithm, pub); err != nil {
			return k, fmt.Errorf("SignKey is %T, want %s: %w", k.SignKey, privateKeyType(k.Algorithm), err)
		}
	}
	if k.VerifyKey != nil {
		if eq, _ := k.VerifyKey.(interface{ Equal(crypto.PublicKey) bool }); pub != nil && (eq == nil || !eq.Equal(pub)) {
			return k, errors.New("VerifyKey is not the public half of SignKey")
		}
		if err := fitsAlgorithm(k.Algorithm, k.VerifyKey); err != nil {
			return k, err
		}
		pub = k.VerifyKey
	}
	if pub == nil {
		return k, errors.New("no key")
	}
	k.VerifyKey = pub
	return k, nil
}

func checkHMACKey(k JWTKey) (JWTKey, error) {
	sign, _ := k.SignKey.([]byte)
	verify, _ := k.VerifyKey.([]byte)
	if k.SignKey != nil && sign == nil || k.VerifyKey != nil && verify == nil {
		return k, errors.New("HMAC keys must be []byte")
	}
	switch {
	case sign == nil && verify == nil:
		return k, errors.New("no key")
	case verify == nil:
		verify = sign
	case sign != nil && !bytes.Equal(sign, verify):
		return k, errors.New("HMAC SignKey and VerifyKey differ")
	}
	if min := hmacKeyBytes[k.Algorithm]; len(verify) < min {
		return k, fmt.Errorf("HMAC key of %d bytes is shorter than the %d bytes %s needs", len(verify), min, k.Algorithm)
	}
	secret := bytes.Clone(verify)
	k.VerifyKey = secret
	if sign != nil {
		k.SignKey = secret
	}
	return k, nil
}

var hmacKeyBytes = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

func isHMAC(alg string) bool { return hmacKeyBytes[alg] != 0 }

// isAsymmetric reports whether alg is a public-key algorithm we accept.
func isAsymmetric(alg string) bool { return ecCurves[alg] != nil || rsaAlgs[alg] || alg == "EdDSA" }

var (
	rsaAlgs  = map[string]bool{"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true}
	ecCurves = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}
)

func privateKeyType(alg string) string {
	switch {
	case rsaAlgs[alg]:
		return "*rsa.PrivateKey"
	case ecCurves[alg] != nil:
		return "*ecdsa.PrivateKey"
	}
	return "ed25519.PrivateKey"
}

// fitsAlgorithm reports whether pub is a public key that alg can use: the
// check that keeps a token's "alg" from choosing how a key is read
// (HS/RS confusion) and refuses weak keys. Static keys and JWKS keys both
// go through it.
func fitsAlgorithm(alg string, pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if !rsaAlgs[alg] {
			break
		}
		if k.N == nil || k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits is below 2048", k.Size()*8)
		}
		return nil
	case *ecdsa.PublicKey:
		curve := ecCurves[alg]
		if curve == nil {
			break
		}
		if want := curve.Params().Name; k.Curve == nil || k.Curve.Params().Name != want {
			return fmt.Errorf("ECDSA key is not on %s, %s needs %s", want, alg, want)
		}
		return nil
	case ed25519.PublicKey:
		if alg != "EdDSA" {
			break
		}
		if len(k) != ed25519.PublicKeySize {
			return errors.New("malformed ed25519 key")
		}
		return nil
	}
	return fmt.Errorf("a %T does not fit %s", pub, alg)
}

// jwtClaims is what a verified token says about its session.
type jwtClaims struct {
	UserID    int64
	TenantID  int64
	HasTenant bool
	SessionID string    // "" when no session-id claim is configured
	Expires   time.Time // the "exp" claim; zero when the token has none (AllowNoExpiry)
	IssuedAt  time.Time // the "iat" claim; zero when the token has none
	// AuthTime is OIDC's "auth_time", when the user last authenticated at
	// the issuer; zero when the token has none.
	AuthTime time.Time
	// ACR and AMR are OIDC's "acr" and "amr" (RFC 8176): the level and
	// methods of that authentication, as the issuer attests them; empty
	// when the token has none (or an empty one, which attests nothing).
	// They are read here, with every claim, so that a token whose
	// attestation no session could record (sessionguard.CheckAuthentication)
	// is refused as invalid before any query, wherever it is presented.
	ACR string
	AMR []string
}

type jwtVerifier struct {
	cfg     JWTConfig
	keys    map[string]JWTKey
	signer  JWTKey // zero when the Guard only verifies
	method  jwt.SigningMethod
	parser  *jwt.Parser
	methods []string // the token algorithms any key may verify
	nowFunc func() time.Time
	memo    verifiedTokens // tokens verified before (jwt_memo.go)
}

// newJWTVerifier builds the verifier of a JWTConfig already through withDefaults.
func newJWTVerifier(c *JWTConfig) (*jwtVerifier, error) {
	if c.Leeway <= 0 || c.UserIDClaim == "" {
		return nil, errors.New("middleware: JWT config was not checked (withDefaults)")
	}
	v := &jwtVerifier{cfg: *c, keys: make(map[string]JWTKey, len(c.Keys)), nowFunc: time.Now}
	var methods []string
	for _, k := range c.Keys {
		v.keys[k.ID] = k
		if k.ID == c.SigningKeyID {
			v.signer = k
			v.method = jwt.GetSigningMethod(k.Algorithm)
		}
		methods = append(methods, k.Algorithm)
	}
	if c.JWKS != nil {
		methods = append(methods, c.JWKS.algorithms()...)
	}
	slices.Sort(methods)
	v.methods = slices.Compact(methods)
	// Claims are checked by verify, by name, after the signature; the
	// parser checks the algorithm, the signature and the encoding only.
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(v.methods),
		jwt.WithoutClaimsValidation(),
		jwt.WithStrictDecoding(),
		jwt.WithJSONNumber(),
	)
	return v, nil
}

// errJWT is the internal reason a JWT was refused; it is logged at Debug
// level, never returned (the caller sees ErrInvalidToken). Every message
// after it is a fixed text or a configured claim name: never token data.
var errJWT = errors.New("jwt rejected")

func jwtError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errJWT}, args...)...)
}

// verify checks the token's algorithm, key, signature and claims, and
// returns what it says about the session.
func (v *jwtVerifier) verify(token string) (jwtClaims, error) {
	return v.verifyWith(token, nil)
}

// verifyWith is verify that, on success, also hands the parsed token and
// the key that verified it to verified (when not nil).
func (v *jwtVerifier) verifyWith(token string, verified func(t *jwt.Token, key any)) (jwtClaims, error) {
	m, t, key, err := v.parse(token)
	if err != nil {
		return jwtClaims{}, err
	}
	if err := v.checkRegistered(m); err != nil {
		return jwtClaims{}, err
	}
	c, err := v.mapClaims(m)
	if err == nil && verified != nil {
		verified(t, key)
	}
	return c, err
}

// signed reports whether token is signed by one of the keys, with its
// algorithm, whatever its claims say: a token that may end its session
// (SignOut), expired or not, but never a forged one.
func (v *jwtVerifier) signed(token string) bool {
	_, _, _, err := v.parse(token)
	return err == nil
}

// parse checks the token's algorithm, key and signature, not its claims.
func (v *jwtVerifier) parse(token string) (jwt.MapClaims, *jwt.Token, any, error) {
	var m jwt.MapClaims
	var keyErr error
	var key any
	t, err := v.parser.ParseWithClaims(token, &m, func(t *jwt.Token) (any, error) {
		k, err := v.keyFor(t)
		key, keyErr = k, err
		return k, err
	})
	switch {
	case keyErr != nil:
		return nil, nil, nil, keyErr
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, nil, nil, jwtError("malformed token")
	case err != nil && (t == nil || t.Method == nil || !slices.Contains(v.methods, t.Method.Alg())):
		return nil, nil, nil, jwtError("alg not allowed") // "none" among them
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, nil, nil, jwtError("signature invalid")
	case err != nil:
		return nil, nil, nil, jwtError("token unverifiable")
	}
	return m, t, key, nil
}

// keyFor picks the key for t by its "kid" (none: see keyOf) and refuses an
// "alg" that is not that key's, and a token with a "crit" header: it names
// extensions the token must not be accepted without understanding (RFC 7515
// 4.1.11), and we understand none. A "kid" that is there must be a key id,
// a non-empty string: an empty one would match a key a JWKS publishes
// without a kid, verifying a token that names no key.
func (v *jwtVerifier) keyFor(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, jwtError("crit header")
	}
	kid := ""
	if raw, named := t.Header["kid"]; named {
		if kid, _ = raw.(string); kid == "" {
			return nil, jwtError("kid is not a key id")
		}
	}
	if t.Method == nil {
		return nil, jwtError("alg not allowed")
	}
	return v.keyOf(kid, t.Method.Alg())
}

// keyOf is the key named kid, if it verifies alg. A kid of "" is a token
// that names no key: the one static key of a Guard that only verifies
// checks it, never a key of several, of a JWKS, or one the Guard signs
// with (see JWTConfig.Keys).
func (v *jwtVerifier) keyOf(kid, alg string) (any, error) {
	if v.cfg.JWKS != nil {
		if kid == "" {
			return nil, jwtError("missing kid: a key set's token must name its key")
		}
		return v.cfg.JWKS.key(kid, alg)
	}
	if kid == "" {
		switch {
		case v.canSign():
			// Its own tokens name their key: a kid-less one is no token it
			// issued, and a Guard that issues is no other issuer's.
			return nil, jwtError("missing kid: the tokens of a Guard that signs name their key")
		case len(v.keys) != 1:
			return nil, jwtError("missing kid: the Guard has several keys and a token must name its own")
		}
		for id := range v.keys {
			kid = id
		}
	}
	k, ok := v.keys[kid]
	if !ok {
		return nil, jwtError("unknown kid")
	}
	if alg != k.Algorithm {
		return nil, jwtError("alg does not match the key")
	}
	return k.VerifyKey, nil
}

// checkRegistered checks presence and the registered time, issuer and
// audience claims.
func (v *jwtVerifier) checkRegistered(m jwt.MapClaims) error {
	if _, ok := m["exp"]; !ok && !v.cfg.AllowNoExpiry {
		return jwtError("missing claim exp")
	}
	for _, name := range v.cfg.RequiredClaims {
		if _, ok := m[name]; !ok {
			return jwtError("missing claim %s", name)
		}
	}
	now := v.nowFunc()
	leeway := v.cfg.Leeway
	times := []struct {
		name string
		get  func() (*jwt.NumericDate, error)
		bad  func(time.Time) bool
		text string
	}{
		{"exp", m.GetExpirationTime, func(t time.Time) bool { return !now.Before(t.Add(leeway)) }, "expired"},
		{"nbf", m.GetNotBefore, func(t time.Time) bool { return now.Add(leeway).Before(t) }, "not valid yet"},
		{"iat", m.GetIssuedAt, func(t time.Time) bool { return now.Add(leeway).Before(t) }, "issued in the future"},
	}
	for _, c := range times {
		d, err := c.get()
		switch {
		case err != nil || !numericDateFits(m[c.name]):
			return jwtError("claim %s is not a time", c.name)
		case d != nil && c.bad(d.Time):
			return jwtError("claim %s: %s", c.name, c.text)
		}
	}
	if v.cfg.Issuer != "" {
		iss, err := m.GetIssuer()
		switch {
		case err != nil || iss == "":
			return jwtError("missing claim iss")
		case iss != v.cfg.Issuer:
			return jwtError("claim iss is not the configured issuer")
		}
	}
	if v.cfg.Audience != "" {
		aud, err := m.GetAudience()
		switch {
		case err != nil || len(aud) == 0:
			return jwtError("missing claim aud")
		case !slices.Contains(aud, v.cfg.Audience):
			return jwtError("claim aud does not name the configured audience")
		}
	}
	return nil
}

// A time claim outside year 1 to year 9999 is no time. Past int64 seconds
// time.Time wraps around, so an nbf or iat far in the future would read as
// a date in the past; and PostgreSQL holds no date before 4713 BC, so an
// iat or auth_time that far back, stored as the session's authentication
// time, would fail the sign-in as an outage (503) instead of as a bad
// token.
const (
	minNumericDate = -62135596800 // 0001-01-01T00:00:00Z
	maxNumericDate = 253402300799 // 9999-12-31T23:59:59Z
)

// numericDateFits reports whether a time claim's value (json.Number; absent
// is nil) is a finite number of seconds from year 1 to year 9999.
func numericDateFits(raw any) bool {
	n, ok := raw.(json.Number)
	if !ok {
		return true // absent, or refused by the claim's getter
	}
	f, err := n.Float64()
	return err == nil && f >= minNumericDate && f <= maxNumericDate // false for NaN
}

// mapClaims reads the user, tenant and session claims.
func (v *jwtVerifier) mapClaims(m jwt.MapClaims) (jwtClaims, error) {
	var c jwtClaims
	var ok bool
	var err error
	raw, present := m[v.cfg.UserIDClaim]
	if !present {
		return jwtClaims{}, jwtError("missing claim %s", v.cfg.UserIDClaim)
	}
	if c.UserID, ok = positiveID(raw); !ok {
		return jwtClaims{}, jwtError("claim %s is not a user id", v.cfg.UserIDClaim)
	}
	if exp, err := m.GetExpirationTime(); err == nil && exp != nil {
		c.Expires = exp.Time // checkRegistered has already held it to the clock
	}
	if iat, err := m.GetIssuedAt(); err == nil && iat != nil {
		c.IssuedAt = iat.Time
	}
	if raw, present := m["auth_time"]; present {
		n, ok := raw.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || !numericDateFits(raw) {
			return jwtClaims{}, jwtError("claim auth_time is not a time")
		}
		// Whole seconds, as exp, nbf and iat are read: a fraction would
		// make a refresh that repeats auth_time read as later than the
		// session's stored copy of it (microseconds), a new authentication.
		c.AuthTime = time.Unix(int64(math.Floor(f)), 0)
	}
	if c.ACR, c.AMR, err = attestation(m); err != nil {
		return jwtClaims{}, err
	}
	if name := v.cfg.TenantIDClaim; name != "" {
		if raw, present := m[name]; present {
			if c.TenantID, ok = positiveID(raw); !ok {
				return jwtClaims{}, jwtError("claim %s is not a tenant id", name)
			}
			c.HasTenant = true
		}
	}
	if name := v.cfg.SessionIDClaim; name != "" {
		raw, present := m[name]
		if !present {
			return jwtClaims{}, jwtError("missing claim %s", name)
		}
		if c.SessionID, _ = raw.(string); !uuidPattern.MatchString(c.SessionID) {
			return jwtClaims{}, jwtError("claim %s is not a session id", name)
		}
	}
	return c, nil
}

// attestation reads a token's "acr" (a string) and "amr" (an array of
// strings), each absent or empty when the token attests none, and refuses
// values a session cannot record (sessionguard.CheckAuthentication's
// limits): recording less than the issuer attested would be a guess.
func attestation(m jwt.MapClaims) (acr string, amr []string, err error) {
	if raw, present := m["acr"]; present {
		var ok bool
		if acr, ok = raw.(string); !ok {
			return "", nil, jwtError("claim acr is not a string")
		}
	}
	if raw, present := m["amr"]; present {
		list, ok := raw.([]any)
		if !ok {
			return "", nil, jwtError("claim amr is not an array of strings")
		}
		for _, v := range list {
			method, ok := v.(string)
			if !ok {
				return "", nil, jwtError("claim amr is not an array of strings")
			}
			amr = append(amr, method)
		}
	}
	if sessionguard.CheckAuthentication(acr, amr) != nil {
		return "", nil, jwtError("claim acr or amr is not one a session can record")
	}
	return acr, amr, nil
}

// positiveID reads a positive int64 from a JSON number or a canonical
// decimal string ("42", not "042", "+42" or "4.2e1").
func positiveID(raw any) (int64, bool) {
	var s string
	switch x := raw.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return n, true
}

// canSign reports whether the Guard has a key to issue tokens with.
func (v *jwtVerifier) canSign() bool { return v.method != nil }

// sign issues a token for a session: sub (in UserIDClaim), the session id,
// the tenant when TenantIDClaim is set and tenantID > 0, iss and aud when
// configured, exp, iat, nbf and a random jti.
func (v *jwtVerifier) sign(sessionID string, userID, tenantID int64, now time.Time, lifetime time.Duration) (string, error) {
	if !v.canSign() {
		return "", errors.New("middleware: sign token: JWT config has no signing key")
	}
	jti, err := randomToken(16)
	if err != nil {
		return "", err
	}
	now = now.Truncate(time.Second)
	c := jwt.MapClaims{
		v.cfg.UserIDClaim:    strconv.FormatInt(userID, 10),
		v.cfg.SessionIDClaim: sessionID,
		"exp":                now.Add(lifetime).Unix(),
		"nbf":                now.Unix(),
		"iat":                now.Unix(),
		"jti":                jti,
	}
	if v.cfg.TenantIDClaim != "" && tenantID > 0 {
		c[v.cfg.TenantIDClaim] = tenantID
	}
	if v.cfg.Issuer != "" {
		c["iss"] = v.cfg.Issuer
	}
	if v.cfg.Audience != "" {
		c["aud"] = []string{v.cfg.Audience}
	}
	t := jwt.NewWithClaims(v.method, c)
	t.Header["kid"] = v.signer.ID
	s, err := t.SignedString(v.signer.SignKey)
	if err != nil {
		return "", fmt.Errorf("middleware: sign token: %w", err)
	}
	return s, nil
}
