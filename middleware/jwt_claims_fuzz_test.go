package middleware

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzJWTClaims signs arbitrary claim JSON with the right key, so every input
// reaches the claim rules: none panics, a refusal's text is fixed, and
// whatever is accepted has a positive user id, a positive tenant id when it
// has one, a session id that is a UUID, an exp in the future, the
// configured issuer and audience, as an independent decode of the JSON says.
func FuzzJWTClaims(f *testing.F) {
	now := time.Now()
	for _, s := range []string{
		`{"sub":"42","tid":7,"sid":"6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e","iss":"i","aud":"a","exp":%d}`,
		`{"sub":42,"tid":"7","sid":"6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e","iss":"i","aud":["x","a"],"exp":%d}`,
		`{"sub":"042","sid":"6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e","iss":"i","aud":"a","exp":%d}`,
		`{"sub":"42","tid":-1,"sid":"x","iss":"i","aud":"a","exp":%d,"nbf":"soon"}`,
		`{"sub":"42","sub":"43","sid":"6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e","iss":"i","aud":"a","exp":%d}`,
		`{"sub":1e3,"sid":"6f1c2a57-0b8e-4c1a-9d1e-2f3a4b5c6d7e","iss":"i","aud":"a","exp":%d}`,
	} {
		f.Add([]byte(strings.Replace(s, "%d", "9999999999", 1)))
	}
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	v := claimVerifier(f, func(c *JWTConfig) {
		c.TenantIDClaim, c.SessionIDClaim, c.Issuer, c.Audience = "tid", "sid", "i", "a"
	})
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"k","typ":"JWT"}`))

	f.Fuzz(func(t *testing.T, payload []byte) {
		signing := header + "." + base64.RawURLEncoding.EncodeToString(payload)
		sig, err := jwt.SigningMethodHS256.Sign(signing, claimTestSecret)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.verify(signing + "." + base64.RawURLEncoding.EncodeToString(sig))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "jwt rejected: ") || len(payload) > 8 && strings.Contains(err.Error(), string(payload)) {
				t.Fatalf("refusal text %q", err)
			}
			return
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(payload))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatalf("accepted claims that do not decode: %v", err)
		}
		exp, ok := m["exp"].(json.Number)
		expAt, ferr := exp.Float64()
		aud := m["aud"]
		audOK := aud == "a" || func() bool {
			l, _ := aud.([]any)
			return slices.Contains(l, any("a"))
		}()
		switch {
		case got.UserID <= 0, got.HasTenant != (got.TenantID > 0), !uuidPattern.MatchString(got.SessionID):
			t.Fatalf("accepted %+v", got)
		case !ok || ferr != nil || expAt < float64(now.Add(-time.Minute).Unix()):
			t.Fatalf("accepted exp %v", m["exp"])
		case m["iss"] != "i" || !audOK:
			t.Fatalf("accepted iss %v aud %v", m["iss"], aud)
		}
	})
}
