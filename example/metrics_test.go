package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/internal/metrictest"
)

// GET /metrics is the Prometheus exposition of the store's and the guards'
// metrics: after a sign-in, a request let in and a refusal, each shows.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	admin := s.login("admin@example.com", "control_panel", 0)
	if res := s.do("GET", "/api/me", bearer(admin.token), nil); res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/me signed in: %d, want 200", res.StatusCode)
	}
	if res := s.do("GET", "/api/me", bearer(strings.Repeat("x", 43)), nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /api/me with a forged token: %d, want 401", res.StatusCode)
	}
	res := s.do("GET", "/metrics", cred{}, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", res.StatusCode)
	}
	scrape := string(res.body)
	tests := []struct {
		name   string
		series string
		labels []string
		want   float64
	}{
		{"the sign-in", "sessionguard_sign_ins_total", []string{"app_type", "control_panel"}, 1},
		{"the request let in", "sessionguard_validations_total", []string{"result", "valid"}, 1},
		{"the refusal", "sessionguard_validations_total", []string{"result", "refused", "reason", "invalid"}, 1},
		{"the session's creation, timed", "sessionguard_store_duration_seconds_count", []string{"operation", "create", "result", "ok"}, 1},
		{"the scs store's write of the session's data, timed", "sessionguard_store_duration_seconds_count", []string{"operation", "scs_commit", "result", "ok"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := metrictest.Sample(scrape, tt.series, tt.labels...); !ok || got != tt.want {
				t.Errorf("%s%v = %v (present: %v), want %v\n%s", tt.series, tt.labels, got, ok, tt.want, scrape)
			}
		})
	}
}
