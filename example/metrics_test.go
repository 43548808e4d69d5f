package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/internal/metrictest"
)

// GET /metrics is the Prometheus exposition of the store's and the guards'
// metrics, served on METRICS_ADDR only, never next to the pages: after a
// sign-in, a request let in and a refusal, each shows.
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
	if res := s.do("GET", "/metrics", cred{}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the public listener: %d, want 404", res.StatusCode)
	}
	res, err := s.client.Get(s.metricsBase + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics on METRICS_ADDR: %d %v", res.StatusCode, err)
	}
	scrape := string(body)
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

// The metrics listener serves GET /metrics and nothing else: not the pages,
// the API or the identity provider's keys.
func TestMetricsListenerServesOnlyMetrics(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/metrics", http.StatusOK},
		{"POST", "/metrics", http.StatusMethodNotAllowed},
		{"GET", "/", http.StatusNotFound},
		{"GET", "/cp/signin", http.StatusNotFound},
		{"POST", "/api/login", http.StatusNotFound},
		{"GET", "/idp/.well-known/jwks.json", http.StatusNotFound},
	} {
		req, err := http.NewRequest(tt.method, s.metricsBase+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.status {
			t.Errorf("%s %s on METRICS_ADDR: %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
		}
	}
}
