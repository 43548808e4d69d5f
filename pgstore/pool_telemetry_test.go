package pgstore_test

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// Two Stores on different pools of one role (two databases, say, or a
// tenant's role beside the app's) report each pool as a series of its own.
// Summed under one pool="primary", a pool with every connection taken read
// as 1 acquired of 1+4, never at its max, and README's
// SessionguardPoolExhausted divided its waits by the other pool's acquires
// too: it never fired for it.
func TestPoolMetricsTellPoolsOfOneRoleApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	newPool := func(maxConns int32) *pgxpool.Pool {
		cfg := f.pool.Config()
		cfg.MaxConns, cfg.MinConns = maxConns, 0
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if _, err := pgstore.New(pool, pgstore.Config{MeterProvider: m.Provider, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		return pool
	}
	exhausted, _ := newPool(1), newPool(4)
	conn, err := exhausted.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	series := primaryPoolSeries(t, m.Collect(t))
	acquiredByMax := map[int64]int64{}
	for _, s := range series {
		acquiredByMax[s.max] = s.acquired
	}
	if want := map[int64]int64{1: 1, 4: 0}; fmt.Sprint(acquiredByMax) != fmt.Sprint(want) {
		t.Fatalf("pool=\"primary\" series, acquired connections by max_connections: %v; want %v (a series per pool, the exhausted one at its max)", acquiredByMax, want)
	}
	// Both on f's database: the pool made second is told apart by "#2".
	name := poolAttrs(exhausted, "primary")[1].Value.AsString()
	names := map[int64]string{}
	for _, s := range series {
		n, _ := s.attrs.Value("db.client.connection.pool.name")
		names[s.max] = n.AsString()
	}
	if want := map[int64]string{1: name, 4: name + "#2"}; !maps.Equal(names, want) {
		t.Errorf("pool names by max_connections %q, want %q", names, want)
	}
	var exhaustedSeries, healthySeries attribute.Set
	for _, s := range series {
		if s.max == 1 {
			exhaustedSeries = s.attrs
		} else {
			healthySeries = s.attrs
		}
	}
	promtoolPoolExhausted(t, m.Exposition(t), exhaustedSeries, healthySeries)
}

// poolAttrs are the attributes of the series of p under role, when no other
// live pool of the role is on its database.
func poolAttrs(p *pgxpool.Pool, role string) []attribute.KeyValue {
	cfg := p.Config().ConnConfig
	return []attribute.KeyValue{attribute.String("pool", role), attribute.String("db.client.connection.pool.name", fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database))}
}

// poolSeries is one series of the pool instruments: its attributes but
// state, and its connections.
type poolSeries struct {
	attrs         attribute.Set
	max, acquired int64
}

// primaryPoolSeries are the pool="primary" series of s.
func primaryPoolSeries(t *testing.T, s metrictest.Snapshot) []poolSeries {
	t.Helper()
	maxConns, ok := s["sessionguard.pool.max_connections"].Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatal("sessionguard.pool.max_connections not exported")
	}
	var series []poolSeries
	for _, p := range maxConns.DataPoints {
		if role, _ := p.Attributes.Value("pool"); role.AsString() != "primary" {
			continue
		}
		acquired := append(p.Attributes.ToSlice(), attribute.String("state", "acquired"))
		series = append(series, poolSeries{attrs: p.Attributes, max: p.Value, acquired: s.Value("sessionguard.pool.connections", acquired...)})
	}
	return series
}

// promtoolPoolExhausted runs README's alert rules with promtool on the
// series of two pools as a scrape names them: from 10m every connection of
// exhausted is taken (600 checks a minute wait 50 ms each for one) while
// healthy serves 6000 a minute without waiting. SessionguardPoolExhausted
// must fire for exhausted alone.
func promtoolPoolExhausted(t *testing.T, scrape string, exhausted, healthy attribute.Set) {
	t.Helper()
	labels := func(set attribute.Set) string {
		var l []string
		for _, kv := range set.ToSlice() {
			l = append(l, fmt.Sprintf("%s=%q", strings.ReplaceAll(string(kv.Key), ".", "_"), kv.Value.AsString()))
		}
		return strings.Join(append(l, `instance="a"`), ", ")
	}
	input := func(set attribute.Set, acquires, wait string) string {
		return fmt.Sprintf(`      - series: 'sessionguard_pool_acquires_total{%[1]s}'
        values: '%[2]s'
      - series: 'sessionguard_pool_acquire_wait_seconds_total{%[1]s}'
        values: '%[3]s'
      - series: 'sessionguard_pool_canceled_acquires_total{%[1]s}'
        values: '0x30'
`, labels(set), acquires, wait)
	}
	var expLabels []string
	for _, kv := range exhausted.ToSlice() {
		expLabels = append(expLabels, fmt.Sprintf("%s: %q", strings.ReplaceAll(string(kv.Key), ".", "_"), kv.Value.AsString()))
	}
	name, _ := exhausted.Value("db.client.connection.pool.name")
	tests := `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - name: one of two primary pools exhausted
    interval: 1m
    input_series:
` + input(exhausted, "0+600x30", "0x10 0+30x20") + input(healthy, "0+6000x30", "0x30") + `    alert_rule_test:
      - eval_time: 25m
        alertname: SessionguardPoolExhausted
        exp_alerts:
          - exp_labels: {severity: ticket, instance: a, ` + strings.Join(expLabels, ", ") + `}
            exp_annotations:
              summary: The primary connection pool ` + name.AsString() + ` of a is exhausted; checks wait for a connection.
`
	for _, series := range metrictest.UnknownInputSeries(tests, scrape) {
		t.Errorf("the rule test uses %s, which the code does not export", series)
	}
	metrictest.PromtoolTestRules(t, metrictest.READMEAlertRules(t, "../README.md"), tests)
}

// A pool that took "#2" because another pool of its role held its name
// keeps "#2" when a Store is made on it again after that other pool was
// collected: joined under the freed name as well, it was reported twice,
// its connections and max_connections counted in two series (and twice
// in any sum by role), its acquires counted twice from then on.
func TestPoolKeepsItsSeriesWhenItsNameIsFreed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	newPool := func(maxConns int32) *pgxpool.Pool {
		cfg := f.pool.Config()
		cfg.MaxConns, cfg.MinConns = maxConns, 0
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pgstore.New(pool, pgstore.Config{MeterProvider: m.Provider, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		return pool
	}
	collected := make(chan struct{})
	func() {
		first := newPool(3)
		defer first.Close()
		runtime.AddCleanup(first, func(collected chan struct{}) { close(collected) }, collected)
	}()
	second := newPool(4) // "#2" while first lives
	t.Cleanup(second.Close)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		runtime.GC()
		select {
		case <-collected:
		default:
			if time.Now().After(deadline) {
				t.Fatal("a closed pool that nothing references was not collected in 10 s")
			}
			continue
		}
		break
	}
	// A Store made anew on second: one per app type, say, or per request.
	if _, err := pgstore.New(second, pgstore.Config{MeterProvider: m.Provider, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	var maxes []int64
	for _, s := range primaryPoolSeries(t, m.Collect(t)) {
		maxes = append(maxes, s.max)
	}
	if fmt.Sprint(maxes) != "[4]" {
		t.Errorf("pool=\"primary\" max_connections series %v, want [4]: the second pool, once", maxes)
	}
}
