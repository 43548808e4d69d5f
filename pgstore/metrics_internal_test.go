package pgstore

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
)

// The store's latency histogram answers what on-call asks of the hot path:
// its p50 and p99. A check takes a tenth to a few tenths of a millisecond
// on one host or a fast network; whatever a call takes between 100 µs and
// 5 s, the quantiles histogram_quantile reads from the exported buckets are
// within a factor of 2.5 of it, and a hot path at 150 µs reads apart from
// one at 400 µs.
func TestLatencyBucketsResolveTheHotPath(t *testing.T) {
	p50 := map[time.Duration]float64{}
	for _, d := range []time.Duration{
		100 * time.Microsecond, 150 * time.Microsecond, 250 * time.Microsecond, 400 * time.Microsecond,
		time.Millisecond, 3 * time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond,
		300 * time.Millisecond, 1500 * time.Millisecond, 4 * time.Second,
	} {
		h := recordedLatencies(t, d, 100)
		for _, q := range []float64{0.5, 0.99} {
			got := histogramQuantile(q, h)
			if ratio := max(got/d.Seconds(), d.Seconds()/got); ratio > 2.5 {
				t.Errorf("calls of %v: p%v reads %.6f s, %.1f times off", d, q*100, got, ratio)
			}
		}
		p50[d] = histogramQuantile(0.5, h)
	}
	if fast, slow := p50[150*time.Microsecond], p50[400*time.Microsecond]; fast == slow {
		t.Errorf("checks of 150 µs and 400 µs both read p50 %.6f s: the hot path cannot be told apart", fast)
	}
	h := recordedLatencies(t, time.Millisecond, 1)
	if !slices.Contains(h.Bounds, 0.1) {
		t.Errorf("bounds %v lack 0.1 s, the threshold of README's SessionguardStoreSlow", h.Bounds)
	}
	// 2 s: a Guard's default StoreTimeout, which a slow call runs into.
	if last := h.Bounds[len(h.Bounds)-1]; last <= 2 {
		t.Errorf("the last bound %v s is below a Guard's default StoreTimeout", last)
	}
}

// recordedLatencies records n validations of d each through a Store's
// instruments and returns the data point the SDK exports for them.
func recordedLatencies(t *testing.T, d time.Duration, n int) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	r := metrictest.New(t)
	m, err := newStoreMetrics(r.Provider)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		m.duration.Record(context.Background(), d.Seconds(), m.ops[opValidate][outcomeOK]...)
	}
	h, ok := r.Collect(t)[metricStoreDuration].Data.(metricdata.Histogram[float64])
	if !ok || len(h.DataPoints) != 1 {
		t.Fatalf("%s: %+v, want one histogram data point", metricStoreDuration, h)
	}
	return h.DataPoints[0]
}

// histogramQuantile is Prometheus's histogram_quantile on one data point:
// the bucket holding the q-quantile's rank, interpolated linearly between
// its bounds (the first bucket's lower bound 0; a rank in the +Inf bucket
// reads the last bound).
func histogramQuantile(q float64, h metricdata.HistogramDataPoint[float64]) float64 {
	rank := q * float64(h.Count)
	var below uint64
	for i, n := range h.BucketCounts {
		if float64(below+n) < rank || n == 0 {
			below += n
			continue
		}
		if i == len(h.Bounds) {
			return h.Bounds[i-1]
		}
		lo := 0.0
		if i > 0 {
			lo = h.Bounds[i-1]
		}
		return lo + (h.Bounds[i]-lo)*(rank-float64(below))/float64(n)
	}
	return math.NaN()
}

// Recording a check's latency, with the SDK counting, allocates nothing:
// the attribute sets are built in newStoreMetrics, and the bucket bounds do
// not change what a recording costs.
func TestStoreLatencyRecordsWithoutAllocating(t *testing.T) {
	r := metrictest.New(t)
	tel, err := newTelemetry("new", r.Provider, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st := sessionguard.Status{State: sessionguard.StateValid, CheckedAt: time.Now()}
	call := func() {
		cctx, c := tel.start(ctx, opValidate)
		c.endCheck(cctx, st, nil)
	}
	call() // the SDK's first recording of a series allocates it
	if allocs := testing.AllocsPerRun(1000, call); allocs != 0 {
		t.Errorf("a timed Validate allocates %v times for its metrics, want 0", allocs)
	}
}
