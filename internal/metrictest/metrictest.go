package metrictest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Reader is a MeterProvider whose metrics a test collects on demand, as the
// SDK's data (Collect) or as a Prometheus scrape would see them
// (Exposition).
type Reader struct {
	Provider   *sdkmetric.MeterProvider
	reader     *sdkmetric.ManualReader
	prometheus http.Handler
}

// New returns a Reader, shut down when the test ends.
func New(t testing.TB) *Reader {
	t.Helper()
	r := sdkmetric.NewManualReader()
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatalf("metrictest: prometheus exporter: %v", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r), sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return &Reader{Provider: mp, reader: r, prometheus: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
}

// Exposition is what a Prometheus server scraping the provider would read
// now (the text format, through the OpenTelemetry Prometheus exporter).
func (r *Reader) Exposition(t testing.TB) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.prometheus.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrictest: scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// Snapshot is one collection: every instrument that has recorded something,
// by name.
type Snapshot map[string]metricdata.Metrics

// Collect reads the current values (observable instruments run their
// callbacks now).
func (r *Reader) Collect(t testing.TB) Snapshot {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("metrictest: collect: %v", err)
	}
	s := Snapshot{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if _, dup := s[m.Name]; dup {
				t.Fatalf("metrictest: instrument %q reported by two scopes", m.Name)
			}
			s[m.Name] = m
		}
	}
	return s
}

// Value is the value of name's data point whose attributes are exactly
// attrs: a counter's sum, a gauge's value, a histogram's count. It is 0 when
// no such point was recorded.
func (s Snapshot) Value(name string, attrs ...attribute.KeyValue) int64 {
	want := attribute.NewSet(attrs...)
	switch d := s[name].Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return p.Value
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return p.Value
			}
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return int64(p.Count)
			}
		}
	}
	return 0
}

// Kind is how README.md names the instrument's kind: counter,
// updowncounter, gauge or histogram.
func Kind(m metricdata.Metrics) string {
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		if d.IsMonotonic {
			return "counter"
		}
		return "updowncounter"
	case metricdata.Sum[float64]:
		if d.IsMonotonic {
			return "counter"
		}
		return "updowncounter"
	case metricdata.Gauge[int64], metricdata.Gauge[float64]:
		return "gauge"
	case metricdata.Histogram[int64], metricdata.Histogram[float64]:
		return "histogram"
	}
	return "unknown"
}

// AttributeKeys are the attribute keys of every data point of m, sorted.
func AttributeKeys(m metricdata.Metrics) []string {
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	}
	var keys []string
	for _, set := range sets {
		for _, kv := range set.ToSlice() {
			keys = append(keys, string(kv.Key))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
