package idp

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claim names of the provider's tokens: its own, not sessionguard's.
const (
	ClaimUserID   = "uid" // the user id, a JSON number
	ClaimTenantID = "tid" // the tenant id, a JSON number; absent for staff
)

// JWKSPath is where the example serves the provider's JWKS document.
const JWKSPath = "/idp/.well-known/jwks.json"

// DefaultLifetime is how long a token is valid ("exp") unless Config says
// otherwise.
const DefaultLifetime = 8 * time.Hour

// Config configures a Provider.
type Config struct {
	// Issuer is the "iss" of every token. Required.
	Issuer string
	// Audience is the "aud" of every token: the client id the provider
	// gave the app its tokens are for, so that no other app's token opens a
	// session there. Required.
	Audience string
	// Lifetime is how long a token is valid (default DefaultLifetime). The
	// app's session may end sooner; never later.
	Lifetime time.Duration
}

// Provider issues tokens signed with its own Ed25519 key.
type Provider struct {
	issuer   string
	audience string
	lifetime time.Duration
	kid      string
	key      ed25519.PrivateKey
	jwks     []byte
}

// New returns a Provider with a new Ed25519 key.
func New(cfg Config) (*Provider, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("idp: Issuer and Audience are required")
	}
	if cfg.Lifetime < 0 {
		return nil, fmt.Errorf("idp: Lifetime %v is negative", cfg.Lifetime)
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("idp: generate key: %w", err)
	}
	p := &Provider{issuer: cfg.Issuer, audience: cfg.Audience, lifetime: cfg.Lifetime, key: priv}
	p.kid = "idp-" + base64.RawURLEncoding.EncodeToString(pub[:9])
	if p.jwks, err = jwksDocument(p.kid, pub); err != nil {
		return nil, err
	}
	return p, nil
}

// Issuer is the "iss" of the provider's tokens.
func (p *Provider) Issuer() string { return p.issuer }

// Audience is the "aud" of the provider's tokens.
func (p *Provider) Audience() string { return p.audience }

// Issue returns a token for a user the caller has checked (password, second
// factor: whatever the provider's sign-in is). tenantID 0 means none. Every
// token is different (a random "jti"), also for the same user in the same
// second: apps key sessions by the token's hash.
func (p *Provider) Issue(userID, tenantID int64) (string, error) {
	if userID <= 0 || tenantID < 0 {
		return "", fmt.Errorf("idp: user %d, tenant %d: ids must be positive", userID, tenantID)
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti) // crypto/rand.Read never fails
	now := time.Now()
	claims := jwt.MapClaims{
		"iss":       p.issuer,
		"aud":       p.audience,
		ClaimUserID: userID,
		"iat":       now.Unix(),
		"exp":       now.Add(p.lifetime).Unix(),
		"jti":       base64.RawURLEncoding.EncodeToString(jti),
	}
	if tenantID != 0 {
		claims[ClaimTenantID] = tenantID
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = p.kid
	s, err := t.SignedString(p.key)
	if err != nil {
		return "", fmt.Errorf("idp: sign: %w", err)
	}
	return s, nil
}

// JWKS serves the provider's public key as a JWKS document (RFC 7517): the
// key's "kid", "kty" OKP, "crv" Ed25519 and "x", never the private part.
// Clients may cache it for five minutes.
func (p *Provider) JWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Content-Length", strconv.Itoa(len(p.jwks)))
		_, _ = w.Write(p.jwks)
	})
}

// jwk is one public key of a JWKS document.
type jwk struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	Use       string `json:"use"`
}

func jwksDocument(kid string, pub ed25519.PublicKey) ([]byte, error) {
	doc := struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{{KeyType: "OKP", Curve: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
		KeyID: kid, Algorithm: "EdDSA", Use: "sig"}}}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("idp: jwks: %w", err)
	}
	return b, nil
}
