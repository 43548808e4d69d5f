package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// What an operator's dashboard reads, end to end on a real database: a
// Guard, a Cache in front of the store and a Cleaner share one
// MeterProvider. The test signs in, drives refusals of every kind a store
// answer or an outage gives, a cache eviction, a touch and a cleanup, and
// reads the values the SDK exports. README.md's list of instruments must be
// exactly what was exported.
func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrictest.New(t)
	db := newRealDB(t, pgstore.Config{MeterProvider: m.Provider})
	cache, err := pgstore.NewCache(db.store, pgstore.CacheConfig{MaxEntries: 1, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	listen(t, cache)
	g := metricsGuard(t, cache, m)

	a, b, c := signInUser(t, g, db.user), signInUser(t, g, db.user), signInUser(t, g, db.user)
	db.age(t, c, 61*time.Second) // due for a touch
	wantStatus(t, "a, a miss", g, bearer(a), http.StatusOK)
	wantStatus(t, "a, a hit", g, bearer(a), http.StatusOK)
	wantStatus(t, "b, which evicts a (bound 1)", g, bearer(b), http.StatusOK)
	wantStatus(t, "no token", g, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusUnauthorized)
	wantStatus(t, "a malformed token", g, bearer("not-a-token"), http.StatusUnauthorized)
	// b is signed out elsewhere: its notification evicts it. Notifications
	// arrive in commit order, so c's aging has been handled too, and c's
	// answer below is kept.
	if ended, err := db.store.Revoke(ctx, sha256Hex(b), sessionguard.ReasonLogout); err != nil || !ended {
		t.Fatalf("Revoke = %v, %v", ended, err)
	}
	for deadline := time.Now().Add(10 * time.Second); cache.Stats().Entries != 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the revocation's notification did not evict b")
		}
	}
	wantStatus(t, "c, a touch interval after sign-in", g, bearer(c), http.StatusOK)
	wantStatus(t, "b after sign-out", g, bearer(b), http.StatusUnauthorized)
	db.age(t, a, 5*time.Hour)
	wantStatus(t, "a after 5 h idle", g, bearer(a), http.StatusUnauthorized)

	// An outage: a Guard over a store whose pool is gone.
	closed, err := pgxpool.NewWithConfig(ctx, db.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	down, err := pgstore.New(closed, pgstore.Config{MeterProvider: m.Provider, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "the database down", metricsGuard(t, down, m), bearer(c), http.StatusServiceUnavailable)

	// A ReadPool that is no replica (a second pool on the primary, which
	// is not in recovery): the check falls back to the primary.
	read, err := pgxpool.NewWithConfig(ctx, db.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(read.Close)
	// ReplicaTimeout a minute: the read pool's first read dials, which
	// under -race on a loaded machine can take longer than the default
	// 500 ms and would count as a replica error.
	replicated, err := pgstore.New(db.pool, pgstore.Config{ReadPool: read, ReplicaTimeout: time.Minute, MeterProvider: m.Provider, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "c through a ReadPool that is no replica", metricsGuard(t, replicated, m), bearer(c), http.StatusOK)

	// Cleanup: d idle for 5 h is ended; b, ended 91 days ago, is purged.
	d := signInUser(t, g, db.user)
	db.age(t, d, 5*time.Hour)
	if _, err := db.pool.Exec(ctx, "UPDATE sessions SET ended_at = ended_at - interval '91 days' WHERE revoke_reason = 'logout'"); err != nil {
		t.Fatal(err)
	}
	cleaner, err := pgstore.NewCleaner(db.pool, pgstore.CleanerConfig{MeterProvider: m.Provider, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := cleaner.RunOnce(ctx); err != nil || res.Idle != 1 || res.Purged != 1 {
		t.Fatalf("cleanup = %v, %v; want 1 idle, 1 purged", res, err)
	}

	s := m.Collect(t)
	kv := attribute.String
	for _, tt := range []struct {
		metric string
		attrs  []attribute.KeyValue
		want   int64
	}{
		{"sessionguard.validations", []attribute.KeyValue{kv("result", "valid"), kv("app_type", "control_panel")}, 5},
		{"sessionguard.validations", []attribute.KeyValue{kv("result", "refused"), kv("reason", "missing"), kv("app_type", "control_panel")}, 1},
		{"sessionguard.validations", []attribute.KeyValue{kv("result", "refused"), kv("reason", "invalid"), kv("app_type", "control_panel")}, 1},
		{"sessionguard.validations", []attribute.KeyValue{kv("result", "refused"), kv("reason", "revoked"), kv("app_type", "control_panel")}, 1},
		{"sessionguard.validations", []attribute.KeyValue{kv("result", "refused"), kv("reason", "idle_timeout"), kv("app_type", "control_panel")}, 1},
		{"sessionguard.validations", []attribute.KeyValue{kv("result", "refused"), kv("reason", "unavailable"), kv("app_type", "control_panel")}, 1},
		{"sessionguard.sign_ins", []attribute.KeyValue{kv("app_type", "control_panel")}, 4},
		{"sessionguard.revocations", []attribute.KeyValue{kv("reason", "logout")}, 1},
		{"sessionguard.touches", nil, 1},
		{"sessionguard.store.duration", []attribute.KeyValue{kv("operation", "create"), kv("result", "ok")}, 4},
		{"sessionguard.store.duration", []attribute.KeyValue{kv("operation", "validate"), kv("result", "ok")}, 6}, // the cache's misses, the replicated store's
		{"sessionguard.store.duration", []attribute.KeyValue{kv("operation", "validate"), kv("result", "error")}, 1},
		{"sessionguard.store.duration", []attribute.KeyValue{kv("operation", "revoke"), kv("result", "ok")}, 1},
		{"sessionguard.cache.hits", nil, 1},
		{"sessionguard.cache.misses", nil, 5},
		{"sessionguard.cache.evictions", nil, 2}, // a by the bound, b by the notification
		{"sessionguard.cache.entries", nil, 1},   // c
		{"sessionguard.cache.listening", nil, 1},
		{"sessionguard.replica.served", nil, 0},
		{"sessionguard.replica.fallbacks", nil, 1},
		{"sessionguard.replica.errors", nil, 0},
		{"sessionguard.cleanup.runs", []attribute.KeyValue{kv("result", "done")}, 1},
		{"sessionguard.cleanup.duration", nil, 1},
		{"sessionguard.cleanup.ended", []attribute.KeyValue{kv("reason", "idle_timeout")}, 1},
		{"sessionguard.cleanup.purged", nil, 1},
	} {
		if got := s.Value(tt.metric, tt.attrs...); got != tt.want {
			t.Errorf("%s%v = %d, want %d", tt.metric, tt.attrs, got, tt.want)
		}
	}

	if st := cache.Stats(); st.Evictions != 2 || st.Entries != 1 {
		t.Errorf("cache Stats = %+v; the metrics must be its numbers", st)
	}

	t.Run("README lists every instrument", func(t *testing.T) {
		docs := metrictest.READMEInstruments(t, "../README.md")
		for name, got := range s {
			d, ok := docs[name]
			if !ok {
				t.Errorf("%s is exported but README.md does not list it", name)
				continue
			}
			if kind := metrictest.Kind(got); d.Kind != kind || d.Unit != got.Unit {
				t.Errorf("README.md says %s is a %s in %q; it is a %s in %q", name, d.Kind, d.Unit, kind, got.Unit)
			}
			for _, k := range metrictest.AttributeKeys(got) {
				if !slices.Contains(d.Attributes, k) {
					t.Errorf("%s has attribute %q, which README.md does not list (%v)", name, k, d.Attributes)
				}
			}
		}
		for name := range docs {
			if _, ok := s[name]; !ok {
				t.Errorf("README.md lists %s, which was not exported", name)
			}
		}
		// The Prometheus names of the table and the alert rules are
		// series a scrape shows.
		scrape := m.Exposition(t)
		families := metrictest.Families(scrape)
		for _, d := range docs {
			if _, ok := families[d.Prometheus]; !ok {
				t.Errorf("README.md says %s is exported to Prometheus as %q; the scrape has no such family", d.Name, d.Prometheus)
			}
		}
		for _, name := range metrictest.READMEPrometheusNames(t, "../README.md") {
			_, family := families[name] // a histogram's family; its series are name_bucket, …
			if !family && !strings.Contains(scrape, "\n"+name+"{") && !strings.Contains(scrape, "\n"+name+" ") {
				t.Errorf("README.md uses the series %s, which a scrape does not show", name)
			}
		}
	})

	// README.md's alert rules, run by Prometheus's promtool on series of
	// the names and labels this scrape shows: each fires on the failure it
	// names and stays quiet on the ones it must not page for.
	t.Run("README's alert rules", func(t *testing.T) {
		tests, err := os.ReadFile("testdata/alert_rules_test.yml")
		if err != nil {
			t.Fatal(err)
		}
		for _, series := range metrictest.UnknownInputSeries(string(tests), m.Exposition(t)) {
			t.Errorf("testdata/alert_rules_test.yml uses %s, which the code does not export", series)
		}
		metrictest.PromtoolTestRules(t, metrictest.READMEAlertRules(t, "../README.md"), string(tests))
	})
}

func metricsGuard(t *testing.T, store sessionguard.Store, m *metrictest.Reader) *middleware.Guard {
	t.Helper()
	g, err := middleware.New(middleware.Config{Store: store, AppType: sessionguard.ControlPanel, MeterProvider: m.Provider, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func wantStatus(t *testing.T, what string, g *middleware.Guard, r *http.Request, want int) {
	t.Helper()
	if got := serve(g, r); got != want {
		t.Fatalf("%s: status %d, want %d", what, got, want)
	}
}

// listen runs c's listener until the test ends and waits until it serves.
func listen(t *testing.T, c *pgstore.Cache) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Cache.Run returned %v, want context.Canceled", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !c.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("the cache's listener did not connect")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// age moves the last activity of token's session back by d.
func (db realDB) age(t *testing.T, token string, d time.Duration) {
	t.Helper()
	if _, err := db.pool.Exec(context.Background(),
		"UPDATE sessions SET last_activity_at = last_activity_at - make_interval(secs => $2) WHERE session_token_hash = $1",
		sha256Hex(token), d.Seconds()); err != nil {
		t.Fatal(err)
	}
}

// A Guard exports every refusal reason, and the valid count, at 0 before the
// first request. A counter's series that first appears mid-incident (the
// first outage this instance sees, 300 requests refused before the next
// scrape) has that first value as its baseline: rate() and increase() never
// count it, so a short outage was invisible on the dashboards and to
// README.md's SessionguardStoreUnavailable rule.
func TestGuardExportsEveryReasonFromTheStart(t *testing.T) {
	m := metrictest.New(t)
	newGuard(t, newFakeStore(), func(c *middleware.Config) { c.MeterProvider = m.Provider })
	scrape := m.Exposition(t)
	want := [][]string{{"result", "valid"}}
	for _, reason := range []string{"missing", "invalid", "malformed_request", "idle_timeout", "absolute_timeout", "revoked", "wrong_app",
		"wrong_tenant", "bad_tenant", "unavailable", "canceled", "reauthentication_required", "session_limit",
		"reauthentication_refused", "refresh_refused"} {
		want = append(want, []string{"result", "refused", "reason", reason})
	}
	for _, labels := range want {
		if v, ok := metrictest.Sample(scrape, "sessionguard_validations_total", labels...); !ok || v != 0 {
			t.Errorf("sessionguard_validations_total%v = %v (exported: %v), want 0", labels, v, ok)
		}
	}
}

// Two Guards on one provider (the control panel's and a Guard of every app
// type) count their validations apart, by the Guard's app type: on-call can
// tell which app refuses.
func TestValidationsByTheGuardsAppType(t *testing.T) {
	m := metrictest.New(t)
	st := newFakeStore()
	cp := newGuard(t, st, func(c *middleware.Config) {
		c.MeterProvider, c.AppType = m.Provider, sessionguard.ControlPanel
	})
	anyApp := newGuard(t, st, func(c *middleware.Config) { c.MeterProvider = m.Provider })
	for range 2 {
		serve(cp, request(nil))
	}
	serve(anyApp, request(nil))
	scrape := m.Exposition(t)
	for app, want := range map[string]float64{"control_panel": 2, "any": 1} {
		if v, ok := metrictest.Sample(scrape, "sessionguard_validations_total", "result", "refused", "reason", "missing", "app_type", app); !ok || v != want {
			t.Errorf("missing refusals of the %s Guard = %v (exported: %v), want %v", app, v, ok, want)
		}
	}
}
