package pgstore

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"weak"

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
	attrResult    = attribute.Key("result")    // store.duration: ok|error; cleanup.runs: done|skipped|error
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
// memory (Cache.Listening) at every collection, in its Meter's cacheGroup.
// Nothing is added to the cache's hot path: the numbers are the ones it keeps
// anyway.
func (m *storeMetrics) observeCache(c *Cache) error {
	cacheGroups.Lock()
	defer cacheGroups.Unlock()
	// A Meter that cannot be a map key (a type of one's own that is not
	// comparable) gets a group per Cache.
	key, shared := m.meter, reflect.ValueOf(m.meter).Comparable()
	var g *cacheGroup
	if shared {
		g = cacheGroups.byMeter[key]
	}
	if g == nil {
		g = &cacheGroup{caches: map[weak.Pointer[Cache]]*cacheCounts{}}
		if err := g.register(m.meter); err != nil {
			return fmt.Errorf("pgstore: cache metrics: %w", err)
		}
		if shared {
			cacheGroups.byMeter[key] = g
		}
	}
	g.add(c)
	return nil
}

// cacheGroups are, per Meter, the Caches that report there.
var cacheGroups = struct {
	sync.Mutex
	byMeter map[metric.Meter]*cacheGroup
}{byMeter: map[metric.Meter]*cacheGroup{}}

// cacheGroup reports the Caches of one Meter with one callback: the
// counters add up every Cache's, and the sessionguard.cache.listening
// series is 1 only while every one of them that runs listens. A gauge has
// one value per series and collection (the SDK keeps the last
// observation), so a callback per Cache would report the Cache registered
// last and hide another's listener being down.
//
// The group holds its Caches weakly: one the application drops (replaced,
// its part of the app shut down) is collected like any other value, up to
// MaxEntries sessions with it, and its counts stay in retired. Held
// strongly, every Cache ever made stayed in memory for the rest of the
// process (TestDroppedCacheIsCollected).
type cacheGroup struct {
	mu      sync.Mutex
	caches  map[weak.Pointer[Cache]]*cacheCounts
	retired struct{ hits, misses, evictions uint64 }
}

func (g *cacheGroup) register(meter metric.Meter) error {
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
		st := g.observe()
		o.ObserveInt64(hits, int64(st.hits))
		o.ObserveInt64(misses, int64(st.misses))
		o.ObserveInt64(evictions, int64(st.evictions))
		o.ObserveInt64(entries, st.entries)
		o.ObserveInt64(listening, st.listening)
		return nil
	}, hits, misses, evictions, entries, listening)
	return err
}

// add makes g report c until c is collected.
func (g *cacheGroup) add(c *Cache) {
	g.mu.Lock()
	defer g.mu.Unlock()
	wp := weak.Make(c)
	g.caches[wp] = c.counts
	runtime.AddCleanup(c, g.release, wp)
}

// release keeps the counts of a collected Cache and forgets it.
func (g *cacheGroup) release(wp weak.Pointer[Cache]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n, ok := g.caches[wp]; ok {
		g.retired.hits += n.hits.Load()
		g.retired.misses += n.misses.Load()
		g.retired.evictions += n.evictions.Load()
		delete(g.caches, wp)
	}
}

type cacheObservation struct {
	hits, misses, evictions uint64
	entries, listening      int64
}

// observe sums the group's counters. listening is 1 when at least one Cache
// of g runs and every one that runs listens, else 0. A Cache whose Run is
// not running (not started yet, or stopped: replaced, its part of the app
// shut down) has no listener to be down; counted, one stopped for good held
// the series at 0 for the rest of the process over Caches that all listen.
func (g *cacheGroup) observe() cacheObservation {
	g.mu.Lock()
	defer g.mu.Unlock()
	o := cacheObservation{hits: g.retired.hits, misses: g.retired.misses, evictions: g.retired.evictions, listening: 1}
	running := false
	for wp, n := range g.caches {
		// A Cache collected but not released yet still has its counts here.
		o.hits += n.hits.Load()
		o.misses += n.misses.Load()
		o.evictions += n.evictions.Load()
		c := wp.Value()
		if c == nil {
			continue
		}
		o.entries += int64(c.Stats().Entries)
		if c.running.Load() {
			running = true
			if !c.Listening() {
				o.listening = 0
			}
		}
	}
	if !running {
		o.listening = 0
	}
	return o
}

// observeReplica reports s's ReplicaStats at every collection, for a Store
// with a ReadPool, in its Meter's replicaGroup: a replica that lags, fails
// or was promoted sends the read path back to the primary, and nothing else
// the library emits says so.
func (m *storeMetrics) observeReplica(s *Store) error {
	replicaGroups.Lock()
	defer replicaGroups.Unlock()
	// A Meter that cannot be a map key (a type of one's own that is not
	// comparable) gets a group per Store.
	key, shared := m.meter, reflect.ValueOf(m.meter).Comparable()
	var g *replicaGroup
	if shared {
		g = replicaGroups.byMeter[key]
	}
	if g == nil {
		g = &replicaGroup{stores: map[weak.Pointer[Store]]*ReplicaStats{}}
		if err := g.register(m.meter); err != nil {
			return err
		}
		if shared {
			replicaGroups.byMeter[key] = g
		}
	}
	g.add(s)
	return nil
}

// replicaGroups are, per Meter, the Stores with a ReadPool that report there.
var replicaGroups = struct {
	sync.Mutex
	byMeter map[metric.Meter]*replicaGroup
}{byMeter: map[metric.Meter]*replicaGroup{}}

// replicaGroup reports the ReplicaStats of one Meter's Stores with one
// callback: the counters add up every Store's. It holds its Stores weakly:
// held by a callback, a Store the application dropped stayed in memory for
// the rest of the process with both its pools, closed or not
// (TestDroppedPoolIsCollected, a Store with a ReadPool). A collected
// Store's last observed counts stay in retired, so that a counter never
// goes down.
type replicaGroup struct {
	mu                      sync.Mutex
	stores                  map[weak.Pointer[Store]]*ReplicaStats // each Store's as last observed
	retired                 ReplicaStats
	served, fallbacks, errs metric.Int64ObservableCounter
}

func (g *replicaGroup) register(meter metric.Meter) error {
	var err error
	if g.served, err = meter.Int64ObservableCounter(metricReplicaServed, metric.WithUnit("{check}"),
		metric.WithDescription("Checks the read replica answered alone.")); err != nil {
		return err
	}
	if g.fallbacks, err = meter.Int64ObservableCounter(metricReplicaFallbacks, metric.WithUnit("{check}"),
		metric.WithDescription("Checks the read replica could not answer alone (behind a revocation, a session it lacks, a touch due, an error, not in recovery), which went to the primary.")); err != nil {
		return err
	}
	if g.errs, err = meter.Int64ObservableCounter(metricReplicaErrors, metric.WithUnit("{query}"),
		metric.WithDescription("Read replica queries that failed (their checks went to the primary).")); err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := g.observe()
		o.ObserveInt64(g.served, int64(st.Served))
		o.ObserveInt64(g.fallbacks, int64(st.Fallbacks))
		o.ObserveInt64(g.errs, int64(st.Errors))
		return nil
	}, g.served, g.fallbacks, g.errs)
	return err
}

// add makes g report s until s is collected.
func (g *replicaGroup) add(s *Store) {
	g.mu.Lock()
	defer g.mu.Unlock()
	wp := weak.Make(s)
	if _, ok := g.stores[wp]; ok {
		return
	}
	g.stores[wp] = new(ReplicaStats)
	runtime.AddCleanup(s, g.release, wp)
}

// release keeps the last observed counts of a collected Store and forgets it.
func (g *replicaGroup) release(wp weak.Pointer[Store]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if last, ok := g.stores[wp]; ok {
		g.retired.add(*last)
		delete(g.stores, wp)
	}
}

// observe sums the group's counts, reading each live Store's anew.
func (g *replicaGroup) observe() ReplicaStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	sum := g.retired
	for wp, last := range g.stores {
		// A Store collected but not released yet still has its counts here.
		if s := wp.Value(); s != nil {
			*last = s.ReplicaStats()
		}
		sum.add(*last)
	}
	return sum
}

func (r *ReplicaStats) add(o ReplicaStats) {
	r.Served += o.Served
	r.Fallbacks += o.Fallbacks
	r.Errors += o.Errors
}
