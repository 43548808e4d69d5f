package middleware_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/middleware"
)

// A token refused for a re-authentication or a refresh counts in
// sessionguard.validations under its own reason, with the Guard's app type
// (README's metrics table: reauthentication_refused, refresh_refused), so
// that a run of failed step-ups shows on a dashboard, not only in the log.
func TestRefusedStepUpsAreCounted(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	verifyOnly := hmacJWT()
	verifyOnly.Keys = []middleware.JWTKey{{ID: "k2", Algorithm: "HS256", VerifyKey: hmacNew}}
	verifyOnly.SessionIDClaim = "sid"
	g := newGuard(t, newFakeStore(), func(c *middleware.Config) {
		c.AppType, c.Tokens, c.JWT, c.MeterProvider = sessionguard.ControlPanel, middleware.JWTs, verifyOnly, m.Provider
	})
	now := time.Now()
	sid := randomUUID(t)
	current := func() string {
		c := claims(sid, now)
		c["jti"] = randomToken(t)[:22]
		c["auth_time"] = now.Add(-time.Hour).Unix()
		return sign(t, jwt.SigningMethodHS256, "k2", hmacNew, c)
	}()
	if _, err := g.Record(nil, nil, current, middleware.SignIn{}); err != nil {
		t.Fatal(err)
	}
	forged := sign(t, jwt.SigningMethodHS256, "k2", hmacOld, claims(sid, now))
	for range 2 {
		if _, _, err := g.Reauthenticate(nil, request(nil, "Bearer "+current), middleware.Reauthentication{Token: forged}); !errors.Is(err, middleware.ErrReauthenticationRequired) {
			t.Fatalf("Reauthenticate with a forged token: %v, want ErrReauthenticationRequired", err)
		}
	}
	if _, err := g.Refresh(nil, request(nil, "Bearer "+current), forged); !errors.Is(err, middleware.ErrReauthenticationRequired) {
		t.Fatalf("Refresh with a forged token: %v, want ErrReauthenticationRequired", err)
	}
	scrape := m.Exposition(t)
	for reason, want := range map[string]float64{"reauthentication_refused": 2, "refresh_refused": 1} {
		got, ok := metrictest.Sample(scrape, "sessionguard_validations_total", "result", "refused", "reason", reason, "app_type", "control_panel")
		if !ok || got != want {
			t.Errorf("sessionguard_validations_total{reason=%q, app_type=\"control_panel\"} = %v (exported: %v), want %v", reason, got, ok, want)
		}
	}
}
