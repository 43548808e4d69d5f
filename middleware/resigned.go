package middleware

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"

	"github.com/sessionguard/sessionguard"
)

// An ECDSA signature (r, s) has a twin, (r, n-s), that verifies the same
// header and claims with the same key: anyone holding an ES256, ES384 or
// ES512 token can make a second string of it, whose SHA-256 the sessions
// table takes for another token's. A request with the twin finds no row;
// but Record would open a new session for it, bringing back a token whose
// session was signed out or revoked, so Record asks about the twin first.
// A re-authentication has the store retire the twin of the token it
// rotates out along with the token, so that Record refuses both.
// (Reauthenticate compares the signed part of a given token instead.)

// ecdsaTwin returns token, a JWT verified with alg, with its signature's s
// replaced by n-s; "" when alg is not ECDSA.
func ecdsaTwin(token, alg string) string {
	curve := ecCurves[alg]
	if curve == nil {
		return ""
	}
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	size := (curve.Params().BitSize + 7) / 8
	if err != nil || len(sig) != 2*size {
		return ""
	}
	s := new(big.Int).SetBytes(sig[size:])
	s.Sub(curve.Params().N, s).FillBytes(sig[size:])
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// twinRecorded is nil when twin, the ECDSA twin of a token to record, has
// no session row (whatever its state, within app), else an error matching
// sessionguard.ErrDuplicateToken, or ErrUnavailable (ErrCanceled) when the
// store fails.
func (g *Guard) twinRecorded(ctx context.Context, twin string, app sessionguard.AppType) error {
	hash := hashToken(twin)
	sctx := withStoreTimeout(ctx, g.cfg.StoreTimeout)
	st, err := g.cfg.Store.Peek(sctx, hash, sessionguard.Scope{AppType: app})
	sctx.stop()
	switch {
	case err != nil:
		e := callFailed(ctx, err, false, twin, hash)
		g.logFailed(ctx, "sessionguard: record failed", e)
		return e
	case st.State != sessionguard.StateUnknown:
		return fmt.Errorf("middleware: record: %w: the same token, re-signed, has a session", sessionguard.ErrDuplicateToken)
	}
	return nil
}

// twinHash is the hash of the ECDSA twin of c's token, a JWT this Guard
// verifies, or "" when it has none.
func (g *Guard) twinHash(c credential) string {
	if c.kind != JWTs || g.jwt == nil {
		return ""
	}
	_, t, _, err := g.jwt.parse(c.token)
	if err != nil {
		return ""
	}
	if twin := ecdsaTwin(c.token, t.Method.Alg()); twin != "" {
		return hashToken(twin)
	}
	return ""
}
