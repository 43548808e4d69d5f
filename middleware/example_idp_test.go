package middleware_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/golang-jwt/jwt/v5"
)

// exampleIdP is the identity provider the examples sign users in at, in
// process: an Ed25519 key published as a JWKS on a local server. Its tokens
// carry "sub" and "tid" but no "sid" and no "aud", like many providers'.
type exampleIdP struct {
	// URL is the JWKS URL, https://…/.well-known/jwks.json in an app.
	URL string
	key ed25519.PrivateKey
	srv *httptest.Server
}

const exampleIdPKeyID = "idp-1"

func startExampleIdP() *exampleIdP {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	jwks := map[string]any{"keys": []any{edJWK(exampleIdPKeyID, key.Public().(ed25519.PublicKey))}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jwks)
	}))
	return &exampleIdP{URL: srv.URL, key: key, srv: srv}
}

func (p *exampleIdP) Close() { p.srv.Close() }

// signIn is the token the provider hands the app when userID signs in to
// tenantID.
func (p *exampleIdP) signIn(userID, tenantID int64) string {
	return p.signWith(p.key, userID, tenantID)
}

// forge is the same token signed by a key the provider never published.
func (p *exampleIdP) forge(userID, tenantID int64) string {
	_, other, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return p.signWith(other, userID, tenantID)
}

func (p *exampleIdP) signWith(key ed25519.PrivateKey, userID, tenantID int64) string {
	c := idpClaims()
	c["sub"], c["tid"] = fmt.Sprint(userID), tenantID
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = exampleIdPKeyID
	s, err := t.SignedString(key)
	if err != nil {
		panic(err)
	}
	return s
}
