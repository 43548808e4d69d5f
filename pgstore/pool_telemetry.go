package pgstore

import (
	"context"
	"fmt"
	"reflect"
	"sync"

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

// observedPools are the pools whose statistics a Meter reports, with their
// role. Two Stores on one pool (one per app type, say) report it once: the
// SDK adds up the observations of every callback on one Meter, so a pool
// observed twice would read as twice its connections.
var observedPools = struct {
	sync.Mutex
	seen map[observedPool]bool
}{seen: map[observedPool]bool{}}

type observedPool struct {
	meter metric.Meter
	pool  *pgxpool.Pool
	role  string
}

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

// observePool reports pool's Stat at every collection, under role. Nothing
// is added to a call's path: the numbers are the ones pgxpool keeps anyway.
// A Meter that cannot be a map key (a type of one's own that is not
// comparable) reports each Store's pool as given.
func (m *storeMetrics) observePool(pool *pgxpool.Pool, role string) error {
	observedPools.Lock()
	defer observedPools.Unlock()
	key := observedPool{meter: m.meter, pool: pool, role: role}
	shared := reflect.ValueOf(m.meter).Comparable()
	if shared && observedPools.seen[key] {
		return nil
	}
	if err := m.registerPool(pool, role); err != nil {
		return fmt.Errorf("pgstore: pool metrics: %w", err)
	}
	if shared {
		observedPools.seen[key] = true
	}
	return nil
}

func (m *storeMetrics) registerPool(pool *pgxpool.Pool, role string) error {
	conns, err := m.meter.Int64ObservableUpDownCounter(metricPoolConnections, metric.WithUnit("{connection}"),
		metric.WithDescription("Connections of the pool, by state: acquired (a call holds it), idle, constructing (being dialled)."))
	if err != nil {
		return err
	}
	maxConns, err := m.meter.Int64ObservableUpDownCounter(metricPoolMaxConnections, metric.WithUnit("{connection}"),
		metric.WithDescription("The most connections the pool opens (MaxConns)."))
	if err != nil {
		return err
	}
	acquires, err := m.meter.Int64ObservableCounter(metricPoolAcquires, metric.WithUnit("{acquire}"),
		metric.WithDescription("Connections taken from the pool, by any of its users."))
	if err != nil {
		return err
	}
	empty, err := m.meter.Int64ObservableCounter(metricPoolEmptyAcquires, metric.WithUnit("{acquire}"),
		metric.WithDescription("Connections taken after waiting, no connection being idle: for one to be released or dialled."))
	if err != nil {
		return err
	}
	wait, err := m.meter.Float64ObservableCounter(metricPoolAcquireWait, metric.WithUnit("s"),
		metric.WithDescription("Time spent waiting for a connection because none was idle, by the acquires that got one."))
	if err != nil {
		return err
	}
	canceled, err := m.meter.Int64ObservableCounter(metricPoolCanceledAcquire, metric.WithUnit("{acquire}"),
		metric.WithDescription("Waits for a connection that ended with their context (a Guard's StoreTimeout, a client gone) before one came."))
	if err != nil {
		return err
	}
	inPool := attrPool.String(role)
	var (
		all      = metric.WithAttributeSet(attribute.NewSet(inPool))
		acquired = metric.WithAttributeSet(attribute.NewSet(inPool, attrConnState.String("acquired")))
		idle     = metric.WithAttributeSet(attribute.NewSet(inPool, attrConnState.String("idle")))
		dialling = metric.WithAttributeSet(attribute.NewSet(inPool, attrConnState.String("constructing")))
	)
	_, err = m.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := pool.Stat()
		o.ObserveInt64(conns, int64(st.AcquiredConns()), acquired)
		o.ObserveInt64(conns, int64(st.IdleConns()), idle)
		o.ObserveInt64(conns, int64(st.ConstructingConns()), dialling)
		o.ObserveInt64(maxConns, int64(st.MaxConns()), all)
		o.ObserveInt64(acquires, st.AcquireCount(), all)
		o.ObserveInt64(empty, st.EmptyAcquireCount(), all)
		o.ObserveFloat64(wait, st.EmptyAcquireWaitTime().Seconds(), all)
		o.ObserveInt64(canceled, st.CanceledAcquireCount(), all)
		return nil
	}, conns, maxConns, acquires, empty, wait, canceled)
	return err
}
