package pgstore

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The instruments of a Store's pools (README.md, "Metrics and traces"),
// read from pgxpool.Pool.Stat at each collection. A slow database and an
// exhausted pool both make checks slow (sessionguard.store.duration times
// the wait for a connection too); these tell them apart: with a slow
// database connections are there to take and the time goes on the query,
// with an exhausted pool every connection is taken and checks wait for one.
const (
	metricPoolConnections     = "sessionguard.pool.connections"
	metricPoolMaxConnections  = "sessionguard.pool.max_connections"
	metricPoolAcquires        = "sessionguard.pool.acquires"
	metricPoolEmptyAcquires   = "sessionguard.pool.empty_acquires"
	metricPoolAcquireWait     = "sessionguard.pool.acquire_wait"
	metricPoolCanceledAcquire = "sessionguard.pool.canceled_acquires"
)

// Attribute keys of the pool instruments.
const (
	attrPool      = attribute.Key("pool")  // primary (the Store's pool) or replica (Config.ReadPool)
	attrConnState = attribute.Key("state") // connections: acquired, idle, constructing
)

// A pool's role for its Store: the "pool" attribute.
const (
	poolPrimary = "primary"
	poolReplica = "replica"
)

// poolGroups are, per Meter, the pools whose statistics it reports.
var poolGroups = struct {
	sync.Mutex
	byMeter map[metric.Meter]*poolGroup
}{byMeter: map[metric.Meter]*poolGroup{}}

// observePools reports the statistics of s's pools, and of its read
// replica, through m; nothing without a MeterProvider (m nil).
func observePools(m *storeMetrics, s *Store) error {
	if m == nil {
		return nil
	}
	if err := m.observePool(s.pool, poolPrimary); err != nil {
		return err
	}
	if s.readPool == nil {
		return nil
	}
	if err := m.observePool(s.readPool, poolReplica); err != nil {
		return err
	}
	return m.observeReplica(s)
}

// observePool reports pool's Stat at every collection, under role, in its
// Meter's poolGroup. Nothing is added to a call's path: the numbers are the
// ones pgxpool keeps anyway. A Meter that cannot be a map key (a type of
// one's own that is not comparable) gets a group per Store's pool.
func (m *storeMetrics) observePool(pool *pgxpool.Pool, role string) error {
	poolGroups.Lock()
	defer poolGroups.Unlock()
	key, shared := m.meter, reflect.ValueOf(m.meter).Comparable()
	var g *poolGroup
	if shared {
		g = poolGroups.byMeter[key]
	}
	if g == nil {
		g = &poolGroup{pools: map[poolKey]*poolTotals{}, retired: map[string]*poolTotals{}}
		if err := g.register(m.meter); err != nil {
			return fmt.Errorf("pgstore: pool metrics: %w", err)
		}
		if shared {
			poolGroups.byMeter[key] = g
		}
	}
	g.add(pool, role)
	return nil
}

// poolGroup reports the pools of one Meter with one callback, each pool
// once per role however many Stores use it: the SDK adds up the
// observations of every callback on one Meter, so a pool observed twice
// would read as twice its connections.
//
// The group holds its pools weakly: one the application drops with its
// Stores (closed and replaced, say, or a tenant's database removed) is
// collected like any other value, and stops adding its MaxConns to
// max_connections, which would otherwise hide an exhausted pool
// (connections{state="acquired"} short of max_connections for good). Its
// counters' last observed values stay in retired, so that a counter never
// goes down (TestDroppedPoolIsCollected).
type poolGroup struct {
	mu      sync.Mutex
	pools   map[poolKey]*poolTotals // each pool's counters as last observed
	retired map[string]*poolTotals  // by role: the collected pools' counters; a role reported
	inst    poolInstruments
}

type poolKey struct {
	pool weak.Pointer[pgxpool.Pool]
	role string
}

// poolTotals are the cumulative counters of a pool, or of several.
type poolTotals struct {
	acquires, emptyAcquires, canceledAcquires int64
	acquireWait                               time.Duration
}

func (t *poolTotals) add(o *poolTotals) {
	t.acquires += o.acquires
	t.emptyAcquires += o.emptyAcquires
	t.canceledAcquires += o.canceledAcquires
	t.acquireWait += o.acquireWait
}

type poolInstruments struct {
	conns, maxConns           metric.Int64ObservableUpDownCounter
	acquires, empty, canceled metric.Int64ObservableCounter
	wait                      metric.Float64ObservableCounter
}

// add makes g report pool under role until pool is collected.
func (g *poolGroup) add(pool *pgxpool.Pool, role string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := poolKey{pool: weak.Make(pool), role: role}
	if _, ok := g.pools[key]; ok {
		return
	}
	g.pools[key] = new(poolTotals)
	if g.retired[role] == nil {
		g.retired[role] = new(poolTotals)
	}
	runtime.AddCleanup(pool, g.release, key)
}

// release keeps the last observed counters of a collected pool and
// forgets it.
func (g *poolGroup) release(key poolKey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if last, ok := g.pools[key]; ok {
		g.retired[key.role].add(last)
		delete(g.pools, key)
	}
}

func (g *poolGroup) register(meter metric.Meter) error {
	var (
		in  = &g.inst
		err error
	)
	if in.conns, err = meter.Int64ObservableUpDownCounter(metricPoolConnections, metric.WithUnit("{connection}"),
		metric.WithDescription("Connections of the pool, by state: acquired (a call holds it), idle, constructing (being dialled).")); err != nil {
		return err
	}
	if in.maxConns, err = meter.Int64ObservableUpDownCounter(metricPoolMaxConnections, metric.WithUnit("{connection}"),
		metric.WithDescription("The most connections the pool opens (MaxConns).")); err != nil {
		return err
	}
	if in.acquires, err = meter.Int64ObservableCounter(metricPoolAcquires, metric.WithUnit("{acquire}"),
		metric.WithDescription("Connections taken from the pool, by any of its users.")); err != nil {
		return err
	}
	if in.empty, err = meter.Int64ObservableCounter(metricPoolEmptyAcquires, metric.WithUnit("{acquire}"),
		metric.WithDescription("Connections taken after waiting, no connection being idle: for one to be released or dialled.")); err != nil {
		return err
	}
	if in.wait, err = meter.Float64ObservableCounter(metricPoolAcquireWait, metric.WithUnit("s"),
		metric.WithDescription("Time spent waiting for a connection because none was idle, by the acquires that got one.")); err != nil {
		return err
	}
	if in.canceled, err = meter.Int64ObservableCounter(metricPoolCanceledAcquire, metric.WithUnit("{acquire}"),
		metric.WithDescription("Waits for a connection that ended with their context (a Guard's StoreTimeout, a client gone) before one came.")); err != nil {
		return err
	}
	_, err = meter.RegisterCallback(g.observe, in.conns, in.maxConns, in.acquires, in.empty, in.wait, in.canceled)
	return err
}

// poolRoleAttrs are the attribute sets of one role's series, built once.
type poolRoleAttrs struct {
	all, acquired, idle, constructing metric.MeasurementOption
}

var poolAttrs = func() map[string]poolRoleAttrs {
	m := map[string]poolRoleAttrs{}
	for _, role := range []string{poolPrimary, poolReplica} {
		in := attrPool.String(role)
		m[role] = poolRoleAttrs{
			all:          metric.WithAttributeSet(attribute.NewSet(in)),
			acquired:     metric.WithAttributeSet(attribute.NewSet(in, attrConnState.String("acquired"))),
			idle:         metric.WithAttributeSet(attribute.NewSet(in, attrConnState.String("idle"))),
			constructing: metric.WithAttributeSet(attribute.NewSet(in, attrConnState.String("constructing"))),
		}
	}
	return m
}()

// observe reports, per role, the sum of its pools' statistics.
func (g *poolGroup) observe(_ context.Context, o metric.Observer) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	type gauges struct{ acquired, idle, constructing, max int64 }
	now := make(map[string]*gauges, len(g.retired))
	totals := make(map[string]*poolTotals, len(g.retired))
	for role, retired := range g.retired {
		now[role] = new(gauges)
		totals[role] = new(poolTotals)
		totals[role].add(retired)
	}
	for key, last := range g.pools {
		// A pool collected but not released yet still has its counters here.
		if pool := key.pool.Value(); pool != nil {
			st := pool.Stat()
			*last = poolTotals{acquires: st.AcquireCount(), emptyAcquires: st.EmptyAcquireCount(),
				canceledAcquires: st.CanceledAcquireCount(), acquireWait: st.EmptyAcquireWaitTime()}
			n := now[key.role]
			n.acquired += int64(st.AcquiredConns())
			n.idle += int64(st.IdleConns())
			n.constructing += int64(st.ConstructingConns())
			n.max += int64(st.MaxConns())
		}
		totals[key.role].add(last)
	}
	for role, n := range now {
		a, t := poolAttrs[role], totals[role]
		o.ObserveInt64(g.inst.conns, n.acquired, a.acquired)
		o.ObserveInt64(g.inst.conns, n.idle, a.idle)
		o.ObserveInt64(g.inst.conns, n.constructing, a.constructing)
		o.ObserveInt64(g.inst.maxConns, n.max, a.all)
		o.ObserveInt64(g.inst.acquires, t.acquires, a.all)
		o.ObserveInt64(g.inst.empty, t.emptyAcquires, a.all)
		o.ObserveFloat64(g.inst.wait, t.acquireWait.Seconds(), a.all)
		o.ObserveInt64(g.inst.canceled, t.canceledAcquires, a.all)
	}
	return nil
}
