package pgstore

import (
	"context"
	"fmt"
	"time"

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

// observePool reports pool's Stat at every collection, under role, with the
// other pools of its Meter. Nothing is added to a call's path: the numbers
// are the ones pgxpool keeps anyway.
func (m *storeMetrics) observePool(pool *pgxpool.Pool, role string) error {
	series := func(func(string) *pgxpool.Pool) string { return role }
	if err := poolGroups.join(m.meter, pool, series, keepLast(readPoolTotals)); err != nil {
		return fmt.Errorf("pgstore: pool metrics: %w", err)
	}
	return nil
}

// poolGroups report each pool once per role however many Stores use it.
var poolGroups = newWeakGroups(registerPoolMetrics)

// poolTotals are the cumulative counters of a pool, or of several.
type poolTotals struct {
	acquires, emptyAcquires, canceledAcquires int64
	acquireWait                               time.Duration
}

func readPoolTotals(pool *pgxpool.Pool) poolTotals {
	st := pool.Stat()
	return poolTotals{acquires: st.AcquireCount(), emptyAcquires: st.EmptyAcquireCount(),
		canceledAcquires: st.CanceledAcquireCount(), acquireWait: st.EmptyAcquireWaitTime()}
}

func (t poolTotals) plus(o poolTotals) poolTotals {
	return poolTotals{acquires: t.acquires + o.acquires, emptyAcquires: t.emptyAcquires + o.emptyAcquires,
		canceledAcquires: t.canceledAcquires + o.canceledAcquires, acquireWait: t.acquireWait + o.acquireWait}
}

// poolGauges are a pool's connections now, or several pools'.
type poolGauges struct{ acquired, idle, constructing, max int64 }

func registerPoolMetrics(meter metric.Meter, g *weakGroup[pgxpool.Pool, string, poolTotals]) error {
	var in poolInstruments
	var err error
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
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		in.observe(o, g)
		return nil
	}, in.conns, in.maxConns, in.acquires, in.empty, in.wait, in.canceled)
	return err
}

type poolInstruments struct {
	conns, maxConns           metric.Int64ObservableUpDownCounter
	acquires, empty, canceled metric.Int64ObservableCounter
	wait                      metric.Float64ObservableCounter
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
func (in *poolInstruments) observe(o metric.Observer, g *weakGroup[pgxpool.Pool, string, poolTotals]) {
	now := map[string]*poolGauges{}
	totals := g.observe(func(role string, pool *pgxpool.Pool) {
		st := pool.Stat()
		n := now[role]
		if n == nil {
			n = new(poolGauges)
			now[role] = n
		}
		n.acquired += int64(st.AcquiredConns())
		n.idle += int64(st.IdleConns())
		n.constructing += int64(st.ConstructingConns())
		n.max += int64(st.MaxConns())
	})
	for role, t := range totals {
		a, n := poolAttrs[role], now[role]
		if n == nil {
			n = new(poolGauges)
		}
		o.ObserveInt64(in.conns, n.acquired, a.acquired)
		o.ObserveInt64(in.conns, n.idle, a.idle)
		o.ObserveInt64(in.conns, n.constructing, a.constructing)
		o.ObserveInt64(in.maxConns, n.max, a.all)
		o.ObserveInt64(in.acquires, t.acquires, a.all)
		o.ObserveInt64(in.empty, t.emptyAcquires, a.all)
		o.ObserveFloat64(in.wait, t.acquireWait.Seconds(), a.all)
		o.ObserveInt64(in.canceled, t.canceledAcquires, a.all)
	}
}
