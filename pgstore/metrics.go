package pgstore

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sessionguard/sessionguard"
)

// instrumentationName names the meter and tracer of this package, as
// OpenTelemetry expects: the import path.
const instrumentationName = "github.com/sessionguard/sessionguard/pgstore"

// The instruments of this package. README.md ("Metrics and traces") lists
// them, and a test holds the list to these names.
const (
	metricStoreDuration  = "sessionguard.store.duration"
	metricTouches        = "sessionguard.touches"
	metricRevocations    = "sessionguard.revocations"
	metricCacheHits      = "sessionguard.cache.hits"
	metricCacheMisses    = "sessionguard.cache.misses"
	metricCacheEvictions = "sessionguard.cache.evictions"
	metricCacheEntries   = "sessionguard.cache.entries"
	metricCacheListening = "sessionguard.cache.listening"

	metricReplicaServed    = "sessionguard.replica.served"
	metricReplicaFallbacks = "sessionguard.replica.fallbacks"
	metricReplicaErrors    = "sessionguard.replica.errors"
)

// Attribute keys. A token or a token hash is never an attribute value.
const (
	attrOperation = attribute.Key("operation") // store.duration: validate, peek, revoke, ...
	attrResult    = attribute.Key("result")    // store.duration: ok|error|replica_behind; cleanup.runs: done|skipped|canceled|error
	attrReason    = attribute.Key("reason")    // revocations, cleanup.ended: the revoke_reason
)

// A call's outcome, the "result" of store.duration. A revocation that
// committed but whose read replica had not replayed it within ReplayWait
// (sessionguard.ErrReplicaBehind) is not an error: the session ended, and
// a lagging replica must not read as sign-outs that fail.
const (
	outcomeOK = iota
	outcomeError
	outcomeReplicaBehind
	numOutcomes
)

var outcomes = [numOutcomes]string{outcomeOK: "ok", outcomeError: "error", outcomeReplicaBehind: "replica_behind"}

// latencyBuckets are the bounds of sessionguard.store.duration, in seconds:
// 1, 2.5, 5 per decade, from 100 µs to 5 s. A check is one round trip: on
// one host or a fast network it takes a tenth to a few tenths of a
// millisecond, so the bounds start there, and every p50 or p99 between 100
// µs and 5 s reads within a factor of 2.5 of its true value (linear
// interpolation inside one bucket, as histogram_quantile does): a hot path
// at 150 µs and one at 400 µs read apart (TestLatencyBucketsResolveTheHotPath).
// A first bound of 0.5 ms put both in one bucket, whose quantiles were
// interpolation alone. They end past the 2 s a Guard waits by default
// (StoreTimeout) and keep 0.1 s, the threshold of README's SessionguardStoreSlow
// rule, a bound, so that rule reads an exact count there. Fifteen bounds:
// every operation and result recorded costs as many series.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// storeMetrics are a Store's instruments; nil fields when it has no
// MeterProvider. ops holds, per operation, the prebuilt attribute options of
// its two outcomes, so that recording a call builds nothing.
type storeMetrics struct {
	meter       metric.Meter
	duration    metric.Float64Histogram
	touches     metric.Int64Counter
	revocations metric.Int64Counter
	ops         [numOps][numOutcomes][]metric.RecordOption
}

func newStoreMetrics(mp metric.MeterProvider) (*storeMetrics, error) {
	m := &storeMetrics{meter: mp.Meter(instrumentationName)}
	var err error
	if m.duration, err = m.meter.Float64Histogram(metricStoreDuration, metric.WithUnit("s"),
		metric.WithDescription("Time a store call took, database round trips included."),
		metric.WithExplicitBucketBoundaries(latencyBuckets...)); err != nil {
		return nil, err
	}
	if m.touches, err = m.meter.Int64Counter(metricTouches, metric.WithUnit("{touch}"),
		metric.WithDescription("Writes of a session's last_activity_at by Validate (at most one per session per touch interval).")); err != nil {
		return nil, err
	}
	if m.revocations, err = m.meter.Int64Counter(metricRevocations, metric.WithUnit("{session}"),
		metric.WithDescription("Sessions ended on purpose through the store, by revoke_reason.")); err != nil {
		return nil, err
	}
	for op := range storeOp(numOps) {
		for o, result := range outcomes {
			m.ops[op][o] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrOperation.String(op.String()), attrResult.String(result)))}
		}
	}
	return m, nil
}

// revoked counts the sessions an EventRevoked ended. The reason is the
// caller's (the seed's six, or an application's own): keep such reasons a
// fixed set, as each one is a series.
func (m *storeMetrics) revoked(ctx context.Context, e sessionguard.Event) {
	if e.Kind != sessionguard.EventRevoked || e.Count <= 0 {
		return
	}
	m.revocations.Add(ctx, int64(e.Count), metric.WithAttributes(attrReason.String(e.Reason)))
}

// observeCache reports c's counters (Cache.Stats) and whether it answers from
// memory (Cache.Listening) at every collection, with the other Caches of its
// Meter. Nothing is added to the cache's hot path: the numbers are the ones
// it keeps anyway. Its counts are read from c.counts, which outlive c, so
// that what c counted after the last collection is not lost with it.
func (m *storeMetrics) observeCache(c *Cache) error {
	n := c.counts
	counts := func(*Cache) cacheTotals {
		return cacheTotals{hits: n.hits.Load(), misses: n.misses.Load(), evictions: n.evictions.Load()}
	}
	if err := cacheGroups.join(m.meter, c, oneSeries[Cache], counts); err != nil {
		return fmt.Errorf("pgstore: cache metrics: %w", err)
	}
	return nil
}

var cacheGroups = newWeakGroups(registerCacheMetrics)

type cacheTotals struct{ hits, misses, evictions uint64 }

func (t cacheTotals) plus(o cacheTotals) cacheTotals {
	return cacheTotals{hits: t.hits + o.hits, misses: t.misses + o.misses, evictions: t.evictions + o.evictions}
}

// registerCacheMetrics reports the Caches of one Meter with one callback:
// the counters add up every Cache's, and the sessionguard.cache.listening
// series is 1 only while every one of them that runs listens.
func registerCacheMetrics(meter metric.Meter, g *weakGroup[Cache, struct{}, cacheTotals]) error {
	hits, err := meter.Int64ObservableCounter(metricCacheHits, metric.WithUnit("{check}"),
		metric.WithDescription("Checks the cache answered from memory."))
	if err != nil {
		return err
	}
	misses, err := meter.Int64ObservableCounter(metricCacheMisses, metric.WithUnit("{check}"),
		metric.WithDescription("Checks that went to the database."))
	if err != nil {
		return err
	}
	evictions, err := meter.Int64ObservableCounter(metricCacheEvictions, metric.WithUnit("{session}"),
		metric.WithDescription("Sessions dropped from the cache: ended (notification or Revoke), expired, too old, least recently used, or forgotten when the listener lost its connection."))
	if err != nil {
		return err
	}
	entries, err := meter.Int64ObservableUpDownCounter(metricCacheEntries, metric.WithUnit("{session}"),
		metric.WithDescription("Sessions the cache holds."))
	if err != nil {
		return err
	}
	listening, err := meter.Int64ObservableGauge(metricCacheListening,
		metric.WithDescription("1 while the listener of every running cache reporting here is connected and proven alive (they answer from memory), else 0."))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		var live cacheLiveness
		t := g.observe(live.add)[struct{}{}]
		o.ObserveInt64(hits, int64(t.hits))
		o.ObserveInt64(misses, int64(t.misses))
		o.ObserveInt64(evictions, int64(t.evictions))
		o.ObserveInt64(entries, live.entries)
		o.ObserveInt64(listening, live.listening())
		return nil
	}, hits, misses, evictions, entries, listening)
	return err
}

// cacheLiveness is what the live Caches of a group hold and whether they
// listen, at one collection.
type cacheLiveness struct {
	entries           int64
	running, deafened bool
}

func (l *cacheLiveness) add(_ struct{}, c *Cache) {
	l.entries += int64(c.Stats().Entries)
	if c.running.Load() {
		l.running = true
		l.deafened = l.deafened || !c.Listening()
	}
}

// listening is 1 when at least one Cache runs and every one that runs
// listens, else 0. A Cache whose Run is not running (not started yet, or
// stopped: replaced, its part of the app shut down) has no listener to be
// down; counted, one stopped for good held the series at 0 for the rest of
// the process over Caches that all listen.
func (l *cacheLiveness) listening() int64 {
	return int64(boolCount(l.running && !l.deafened))
}

// observeReplica reports s's ReplicaStats at every collection, for a Store
// with a ReadPool, with the other Stores of its Meter, added up: a replica
// that lags, fails or was promoted sends the read path back to the primary,
// and nothing else the library emits says so. Its counts are read from
// s.replica, which outlives s, so that what s counted after the last
// collection is not lost with it.
func (m *storeMetrics) observeReplica(s *Store) error {
	n := s.replica
	return replicaGroups.join(m.meter, s, oneSeries[Store], func(*Store) ReplicaStats { return n.stats() })
}

var replicaGroups = newWeakGroups(registerReplicaMetrics)

func registerReplicaMetrics(meter metric.Meter, g *weakGroup[Store, struct{}, ReplicaStats]) error {
	served, err := meter.Int64ObservableCounter(metricReplicaServed, metric.WithUnit("{check}"),
		metric.WithDescription("Checks the read replica answered alone."))
	if err != nil {
		return err
	}
	fallbacks, err := meter.Int64ObservableCounter(metricReplicaFallbacks, metric.WithUnit("{check}"),
		metric.WithDescription("Checks the read replica could not answer alone (behind a revocation, a session it lacks, a touch due, an error, not in recovery), which went to the primary."))
	if err != nil {
		return err
	}
	errs, err := meter.Int64ObservableCounter(metricReplicaErrors, metric.WithUnit("{query}"),
		metric.WithDescription("Read replica queries that failed (their checks went to the primary)."))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := g.observe(nil)[struct{}{}]
		o.ObserveInt64(served, int64(st.Served))
		o.ObserveInt64(fallbacks, int64(st.Fallbacks))
		o.ObserveInt64(errs, int64(st.Errors))
		return nil
	}, served, fallbacks, errs)
	return err
}

func (r ReplicaStats) plus(o ReplicaStats) ReplicaStats {
	return ReplicaStats{Served: r.Served + o.Served, Fallbacks: r.Fallbacks + o.Fallbacks, Errors: r.Errors + o.Errors}
}
