package middleware

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTConfig selects JWT mode: the session token is a signed JWT carrying the
// session id ("sid"); the store remains the authority on whether it is alive.
type JWTConfig struct {
	// Keys are the keys that verify tokens, chosen by the token's "kid"
	// header. Required. Keep old keys here (VerifyKey only) while tokens
	// they signed may still be presented; that is key rotation.
	Keys []JWTKey
	// SigningKeyID is the ID of the key that signs new tokens (default: the
	// first key). It must have a SignKey.
	SigningKeyID string
	// Issuer is written to and required in the "iss" claim. Required.
	Issuer string
	// Audience is written to and required in the "aud" claim. Required.
	Audience string
	// Leeway is the clock skew allowed for exp, nbf and iat (default 30s).
	Leeway time.Duration
}

// JWTKey is one key. A token is verified only by the key whose ID equals its
// "kid", and only if its "alg" is that key's Algorithm.
type JWTKey struct {
	ID string // the "kid"; required, unique
	// Algorithm is one of HS256, HS384, HS512, RS256, RS384, RS512, PS256,
	// PS384, PS512, ES256, ES384, ES512, EdDSA.
	Algorithm string
	// SignKey signs new tokens: []byte for HS* (at least as long as the hash
	// output: 32, 48, 64 bytes), *rsa.PrivateKey (2048 bits or more) for
	// RS*/PS*, *ecdsa.PrivateKey on the matching curve for ES*,
	// ed25519.PrivateKey for EdDSA. May be nil for a verify-only key.
	SignKey any
	// VerifyKey verifies: []byte for HS* (default: SignKey, and must equal it
	// if set), *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey (default:
	// the public half of SignKey, and must match it if set).
	VerifyKey any
}

type jwtVerifier struct {
	keys    map[string]JWTKey
	signer  JWTKey
	method  jwt.SigningMethod
	parser  *jwt.Parser
	issuer  string
	aud     string
	methods []string
}

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (c JWTConfig) withDefaults() (JWTConfig, error) {
	if len(c.Keys) == 0 {
		return c, errConfig("JWT.Keys is empty")
	}
	if c.Issuer == "" {
		return c, errConfig("JWT.Issuer is required")
	}
	if c.Audience == "" {
		return c, errConfig("JWT.Audience is required")
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
	}
	c.Keys = keys
	if c.SigningKeyID == "" {
		c.SigningKeyID = keys[0].ID
	}
	if !seen[c.SigningKeyID] {
		return c, errConfig("JWT.SigningKeyID %q names no key", c.SigningKeyID)
	}
	for _, k := range keys {
		if k.ID == c.SigningKeyID && k.SignKey == nil {
			return c, errConfig("JWT signing key %q has no SignKey", k.ID)
		}
	}
	return c, nil
}

// checkKey validates one key and returns it with VerifyKey filled in and
// HMAC secrets copied (so later changes by the caller do not reach us).
func checkKey(k JWTKey) (JWTKey, error) {
	switch k.Algorithm {
	case "HS256", "HS384", "HS512":
		min := map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}[k.Algorithm]
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
		if len(verify) < min {
			return k, fmt.Errorf("HMAC key of %d bytes is shorter than the %d bytes %s needs", len(verify), min, k.Algorithm)
		}
		secret := bytes.Clone(verify)
		k.VerifyKey = secret
		if sign != nil {
			k.SignKey = secret
		}
		return k, nil
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		var pub *rsa.PublicKey
		switch sk := k.SignKey.(type) {
		case nil:
		case *rsa.PrivateKey:
			pub = &sk.PublicKey
		default:
			return k, fmt.Errorf("SignKey is %T, want *rsa.PrivateKey", k.SignKey)
		}
		switch vk := k.VerifyKey.(type) {
		case nil:
		case *rsa.PublicKey:
			if pub != nil && !pub.Equal(vk) {
				return k, errors.New("VerifyKey is not the public half of SignKey")
			}
			pub = vk
		default:
			return k, fmt.Errorf("VerifyKey is %T, want *rsa.PublicKey", k.VerifyKey)
		}
		if pub == nil {
			return k, errors.New("no key")
		}
		if pub.N.BitLen() < 2048 {
			return k, fmt.Errorf("RSA key of %d bits is below 2048", pub.N.BitLen())
		}
		k.VerifyKey = pub
		return k, nil
	case "ES256", "ES384", "ES512":
		curve := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[k.Algorithm]
		var pub *ecdsa.PublicKey
		switch sk := k.SignKey.(type) {
		case nil:
		case *ecdsa.PrivateKey:
			pub = &sk.PublicKey
		default:
			return k, fmt.Errorf("SignKey is %T, want *ecdsa.PrivateKey", k.SignKey)
		}
		switch vk := k.VerifyKey.(type) {
		case nil:
		case *ecdsa.PublicKey:
			if pub != nil && !pub.Equal(vk) {
				return k, errors.New("VerifyKey is not the public half of SignKey")
			}
			pub = vk
		default:
			return k, fmt.Errorf("VerifyKey is %T, want *ecdsa.PublicKey", k.VerifyKey)
		}
		if pub == nil {
			return k, errors.New("no key")
		}
		if pub.Curve != curve {
			return k, fmt.Errorf("ECDSA key is on %s, %s needs %s", pub.Curve.Params().Name, k.Algorithm, curve.Params().Name)
		}
		k.VerifyKey = pub
		return k, nil
	case "EdDSA":
		var pub ed25519.PublicKey
		switch sk := k.SignKey.(type) {
		case nil:
		case ed25519.PrivateKey:
			if len(sk) != ed25519.PrivateKeySize {
				return k, errors.New("malformed ed25519 SignKey")
			}
			pub = sk.Public().(ed25519.PublicKey)
		default:
			return k, fmt.Errorf("SignKey is %T, want ed25519.PrivateKey", k.SignKey)
		}
		switch vk := k.VerifyKey.(type) {
		case nil:
		case ed25519.PublicKey:
			if len(vk) != ed25519.PublicKeySize {
				return k, errors.New("malformed ed25519 VerifyKey")
			}
			if pub != nil && !pub.Equal(vk) {
				return k, errors.New("VerifyKey is not the public half of SignKey")
			}
			pub = vk
		default:
			return k, fmt.Errorf("VerifyKey is %T, want ed25519.PublicKey", k.VerifyKey)
		}
		if pub == nil {
			return k, errors.New("no key")
		}
		k.VerifyKey = pub
		return k, nil
	}
	return k, fmt.Errorf("unsupported Algorithm %q", k.Algorithm)
}

// jwtClaims is what a verified token says about its session.
type jwtClaims struct {
	UserID    int64
	TenantID  int64
	HasTenant bool
	SessionID string // "" when no session-id claim is configured
}

// newJWTVerifier builds the verifier of a JWTConfig already through withDefaults.
func newJWTVerifier(c *JWTConfig) (*jwtVerifier, error) {
	v := &jwtVerifier{keys: make(map[string]JWTKey, len(c.Keys)), issuer: c.Issuer, aud: c.Audience}
	seen := map[string]bool{}
	for _, k := range c.Keys {
		v.keys[k.ID] = k
		if k.ID == c.SigningKeyID {
			v.signer = k
		}
		if !seen[k.Algorithm] {
			seen[k.Algorithm] = true
			v.methods = append(v.methods, k.Algorithm)
		}
	}
	v.method = jwt.GetSigningMethod(v.signer.Algorithm)
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(v.methods),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(c.Issuer),
		jwt.WithAudience(c.Audience),
		jwt.WithLeeway(c.Leeway),
		jwt.WithStrictDecoding(),
	)
	return v, nil
}

// sessionClaims are the claims of a session JWT.
type sessionClaims struct {
	jwt.RegisteredClaims
	SID string `json:"sid"`
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// errJWT is the internal reason a JWT was refused; it is logged at Debug
// level, never returned (the caller sees ErrInvalidToken).
var errJWT = errors.New("jwt rejected")

// verify checks the token and returns its claims. The returned error
// never contains the token.
func (v *jwtVerifier) verify(token string) (jwtClaims, error) {
	var c sessionClaims
	_, err := v.parser.ParseWithClaims(token, &c, v.keyFor)
	if err != nil {
		return jwtClaims{}, fmt.Errorf("%w: %w", errJWT, stripJWTError(err))
	}
	if c.IssuedAt == nil || c.ID == "" {
		return jwtClaims{}, fmt.Errorf("%w: missing iat or jti", errJWT)
	}
	if !uuidPattern.MatchString(c.SID) {
		return jwtClaims{}, fmt.Errorf("%w: sid is not a UUID", errJWT)
	}
	uid, perr := strconv.ParseInt(c.Subject, 10, 64)
	if perr != nil || uid <= 0 || strconv.FormatInt(uid, 10) != c.Subject {
		return jwtClaims{}, fmt.Errorf("%w: sub is not a user id", errJWT)
	}
	return jwtClaims{UserID: uid, SessionID: c.SID}, nil
}

// canSign reports whether the verifier holds a signing key.
func (v *jwtVerifier) canSign() bool { return v.signer.SignKey != nil }

// stripJWTError keeps only golang-jwt's sentinel errors, whose texts are
// fixed, so that no part of a token can reach a log through an error.
func stripJWTError(err error) error {
	for _, s := range []error{
		jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidAudience, jwt.ErrTokenExpired,
		jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenInvalidIssuer, jwt.ErrTokenNotValidYet,
		jwt.ErrTokenInvalidClaims,
	} {
		if errors.Is(err, s) {
			return s
		}
	}
	return errors.New("invalid token")
}

func (v *jwtVerifier) keyFor(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok {
		return nil, errors.New("no kid")
	}
	k, ok := v.keys[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	if t.Method == nil || t.Method.Alg() != k.Algorithm {
		return nil, errors.New("alg does not match the key")
	}
	return k.VerifyKey, nil
}

// sign issues a token for a session.
func (v *jwtVerifier) sign(sid string, userID, _ int64, now time.Time, lifetime time.Duration) (string, error) {
	jti, err := randomToken(16)
	if err != nil {
		return "", err
	}
	now = now.Truncate(time.Second)
	c := sessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    v.issuer,
			Subject:   strconv.FormatInt(userID, 10),
			Audience:  jwt.ClaimStrings{v.aud},
			ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti,
		},
		SID: sid,
	}
	t := jwt.NewWithClaims(v.method, c)
	t.Header["kid"] = v.signer.ID
	s, err := t.SignedString(v.signer.SignKey)
	if err != nil {
		return "", fmt.Errorf("middleware: sign token: %w", err)
	}
	return s, nil
}
