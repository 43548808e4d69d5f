package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/time/rate"
)

// Defaults of JWKSConfig.
const (
	DefaultJWKSRefreshInterval    = 15 * time.Minute
	DefaultJWKSUnknownKIDInterval = time.Minute
	DefaultJWKSFetchTimeout       = 10 * time.Second
	// MaxJWKSBytes bounds a JWKS response: a key set is a few KiB.
	MaxJWKSBytes = 1 << 20
)

// JWKSConfig configures [NewJWKS]. The zero value is usable.
type JWKSConfig struct {
	// Algorithms is the allow-list of token algorithms (RS256, RS384,
	// RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA). A key whose
	// JWK has no "alg" verifies only with these; with Algorithms empty such
	// a key verifies nothing. A key whose JWK names its "alg" verifies only
	// with that one, and only if it is in Algorithms when Algorithms is set.
	// Symmetric (HS*) keys are never taken from a JWKS: it is public.
	// NewJWKS refuses, with Algorithms empty, a set none of whose keys names
	// its "alg": none of them would verify a token.
	Algorithms []string
	// RefreshInterval is how often the set is fetched in the background
	// (default 15 minutes). A key the issuer removes stops verifying after
	// the next refresh; a failed fetch keeps the last good set.
	RefreshInterval time.Duration
	// UnknownKIDInterval is the least time between two fetches caused by a
	// token whose "kid" is not in the set (default 1 minute): a new key is
	// picked up at once, and forged kids cannot make us hammer the issuer.
	UnknownKIDInterval time.Duration
	// FetchTimeout bounds one fetch (default 10s).
	FetchTimeout time.Duration
	// Client fetches the set (default: a client of its own). Responses
	// over MaxJWKSBytes are refused.
	Client *http.Client
	// Logger receives failed background fetches (default slog.Default()).
	Logger *slog.Logger
}

// JWKS is a JSON Web Key Set fetched from an issuer, cached, and refreshed
// in the background until the context given to [NewJWKS] ends. Put it in
// JWTConfig.JWKS. It is safe for concurrent use.
//
// It is built on github.com/MicahParks/jwkset: each fetch replaces the
// whole cached set, so a removed key is gone after the next refresh, and a
// failed fetch leaves the cached set as it was.
type JWKS struct {
	ctx        context.Context
	cached     jwkset.Storage // the last good set; reading never fetches
	refetching jwkset.Storage // reading an unknown kid fetches once
	limiter    *rate.Limiter  // paces the fetches of refetching
	timeout    time.Duration
	algs       []string
}

// NewJWKS fetches the key set at rawURL and keeps it fresh in a background
// goroutine that ends with ctx. After ctx ends the JWKS verifies nothing
// (fail closed: keys that are never refreshed could be ones the issuer has
// withdrawn). The URL must be https, or http on a loopback address; a
// redirect is followed only on the URL's scheme and host.
//
// The first fetch happens here and its failure is an error, so a wrong URL
// is found when the app starts, not on the first request.
func NewJWKS(ctx context.Context, rawURL string, c JWKSConfig) (*JWKS, error) {
	if err := checkJWKSURL(rawURL); err != nil {
		return nil, err
	}
	var err error
	if c, err = c.withDefaults(); err != nil {
		return nil, err
	}
	logger := c.Logger
	cached, err := jwkset.NewStorageFromHTTP(rawURL, jwkset.HTTPClientStorageOptions{
		Client:          c.Client,
		Ctx:             ctx,
		HTTPTimeout:     c.FetchTimeout,
		RefreshInterval: c.RefreshInterval,
		RefreshErrorHandler: func(ctx context.Context, err error) {
			logger.LogAttrs(ctx, slog.LevelError, "sessionguard: JWKS refresh failed; keeping the last good set",
				slog.String("error", err.Error()))
		},
	})
	if err != nil {
		return nil, fmt.Errorf("middleware: JWKS: %w", err)
	}
	if len(c.Algorithms) == 0 {
		if err := keysNameAlgorithms(ctx, cached); err != nil {
			return nil, err
		}
	}
	// The pacing is ours (limiter, which never waits); jwkset's own
	// limiter would make a request wait for its turn.
	refetching, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{rawURL: cached},
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("middleware: JWKS: %w", err)
	}
	return &JWKS{
		ctx:        ctx,
		cached:     cached,
		refetching: refetching,
		limiter:    rate.NewLimiter(rate.Every(c.UnknownKIDInterval), 1),
		timeout:    c.FetchTimeout,
		algs:       c.Algorithms,
	}, nil
}

// keysNameAlgorithms refuses, without an allow-list, a set none of whose keys
// names its "alg" (some issuers write none):
// every token would be refused, found only in Debug logs on the first
// requests rather than when the app starts.
func keysNameAlgorithms(ctx context.Context, set jwkset.Storage) error {
	keys, err := set.KeyReadAll(ctx)
	if err != nil {
		return fmt.Errorf("middleware: JWKS: %w", err)
	}
	for _, k := range keys {
		if k.Marshal().ALG != "" {
			return nil
		}
	}
	if len(keys) == 0 {
		return nil // the issuer may publish keys later: an unknown kid fetches again
	}
	return errors.New(`middleware: JWKS: no key of the set names its "alg", so none verifies a token: ` +
		`list the algorithms the issuer signs with in JWKSConfig.Algorithms (e.g. RS256)`)
}

func (c JWKSConfig) withDefaults() (JWKSConfig, error) {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"RefreshInterval", &c.RefreshInterval, DefaultJWKSRefreshInterval},
		{"UnknownKIDInterval", &c.UnknownKIDInterval, DefaultJWKSUnknownKIDInterval},
		{"FetchTimeout", &c.FetchTimeout, DefaultJWKSFetchTimeout},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			return c, fmt.Errorf("middleware: JWKS: %s %v is negative", d.name, *d.v)
		}
	}
	c.Algorithms = slices.Clone(c.Algorithms)
	for _, a := range c.Algorithms {
		if !isAsymmetric(a) {
			return c, fmt.Errorf("middleware: JWKS: Algorithms: %q is not a public-key algorithm", a)
		}
	}
	client := http.Client{Timeout: c.FetchTimeout}
	if c.Client != nil {
		client = *c.Client
	}
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client.Transport = limitBody{httpsOnly{base}}
	c.Client = &client
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func checkJWKSURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return errors.New("middleware: JWKS: the URL is not an absolute URL")
	}
	if !secureJWKSURL(u) {
		return errors.New("middleware: JWKS: the URL must be https (http only on a loopback address): keys fetched in the clear can be replaced")
	}
	return nil
}

// secureJWKSURL reports whether keys fetched from u cannot be replaced on
// the way: https, or http on a loopback address.
func secureJWKSURL(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return true
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		return host == "localhost" || ip != nil && ip.IsLoopback()
	}
	return false
}

// httpsOnly holds every request of a fetch, each redirect's included, to
// the rule NewJWKS holds the URL to: an https key set that redirected to
// plain http would otherwise be fetched in the clear. A redirect stays on
// the URL's scheme and host: the key set is that host's, and a redirect
// elsewhere (an open redirect on the issuer's host) would let another host
// choose the keys.
type httpsOnly struct{ base http.RoundTripper }

func (h httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if !secureJWKSURL(r.URL) {
		return nil, errors.New("redirected to a URL that is not https: the URL must be https (http only on a loopback address)")
	}
	first := r
	for first.Response != nil && first.Response.Request != nil { // a redirect: Response is the one that caused it
		first = first.Response.Request
	}
	if !sameOrigin(first.URL, r.URL) {
		return nil, errors.New("redirected to another host: the key set must come from the URL's own scheme and host")
	}
	return h.base.RoundTrip(r)
}

// sameOrigin reports whether a and b have the same scheme, host and port,
// a port left out being the scheme's default (idp.example and
// idp.example:443 are one https origin).
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80" // http: secureJWKSURL allows no other scheme
	}
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// limitBody refuses JWKS responses over MaxJWKSBytes.
type limitBody struct{ base http.RoundTripper }

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err == nil {
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: MaxJWKSBytes}
	}
	return resp, err
}

type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errors.New("JWKS response exceeds MaxJWKSBytes")
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// algorithms are the token algorithms this set may verify.
func (j *JWKS) algorithms() []string {
	if len(j.algs) > 0 {
		return j.algs
	}
	var all []string
	for a := range rsaAlgs {
		all = append(all, a)
	}
	for a := range ecCurves {
		all = append(all, a)
	}
	return append(all, "EdDSA")
}

// key returns the public key for kid that may verify a token of alg. An
// unknown kid fetches the set once, if the last such fetch is at least
// UnknownKIDInterval ago.
func (j *JWKS) key(kid, alg string) (any, error) {
	if j.ctx.Err() != nil {
		return nil, jwtError("key set stopped")
	}
	jwk, err := j.cached.KeyRead(j.ctx, kid)
	if errors.Is(err, jwkset.ErrKeyNotFound) && j.limiter.Allow() {
		ctx, cancel := context.WithTimeout(j.ctx, j.timeout)
		jwk, err = j.refetching.KeyRead(ctx, kid)
		cancel()
	}
	if err != nil {
		return nil, jwtError("unknown kid")
	}
	m := jwk.Marshal()
	switch {
	case m.USE != "" && m.USE != jwkset.UseSig,
		len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify):
		// Its "use" or its "key_ops" (RFC 7517 4.2, 4.3) says it is not
		// for verifying signatures.
		return nil, jwtError("key is not for signatures")
	case m.ALG != "" && m.ALG.String() != alg:
		return nil, jwtError("alg does not match the key")
	case (m.ALG == "" || len(j.algs) > 0) && !slices.Contains(j.algs, alg):
		return nil, jwtError("alg not allowed")
	}
	if fitsAlgorithm(alg, jwk.Key()) != nil {
		return nil, jwtError("alg does not match the key")
	}
	return jwk.Key(), nil
}
