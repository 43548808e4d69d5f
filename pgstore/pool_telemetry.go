package pgstore

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
	// attrPoolName tells a role's pools apart (poolName), under the name
	// OpenTelemetry's database client conventions give it.
	attrPoolName = attribute.Key("db.client.connection.pool.name")
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
	if err := poolGroups.join(m.meter, pool, poolSeriesOf(pool, role), keepLast(readPoolTotals)); err != nil {
		return fmt.Errorf("pgstore: pool metrics: %w", err)
	}
	return nil
}

// poolGroups report each pool once per role however many Stores use it,
// and each as a series of its own: summed with another pool of its role, an
// exhausted pool never showed its acquired connections at its max, and its
// waits were divided by the other pool's acquires in README's
// SessionguardPoolExhausted (TestPoolMetricsTellPoolsOfOneRoleApart).
var poolGroups = newWeakGroups(registerPoolMetrics)

// poolSeries names the series of a pool: its role, and its name.
type poolSeries struct{ role, name string }

// poolSeriesOf returns the series func of pool under role: its poolName,
// with "#2", "#3", ... after it while a live pool of the role holds the
// name before (two pools on one database: one the app's, one a tenant's
// role's, say). A pool made anew after the one before it was collected
// takes its series on, and its counts go on from the collected one's. A
// pool reported already keeps its series, a "#2" too when the name before
// it is free again: taking that name as well, it was reported under two
// (TestPoolKeepsItsSeriesWhenItsNameIsFreed). The names a role's pools
// took are "name", "name#2", ... up to one never reported, so that is
// where the search for pool's own ends.
func poolSeriesOf(pool *pgxpool.Pool, role string) seriesFunc[pgxpool.Pool, poolSeries] {
	name := poolName(pool.Config().ConnConfig.Config)
	return func(held func(poolSeries) (*pgxpool.Pool, bool)) poolSeries {
		var free *poolSeries
		for n := 1; ; n++ {
			s := poolSeries{role: role, name: name}
			if n > 1 {
				s.name = fmt.Sprintf("%s#%d", name, n)
			}
			h, reported := held(s)
			switch {
			case h == pool:
				return s
			case h == nil && free == nil:
				free = &s
			}
			if !reported {
				return *free
			}
		}
	}
}

// poolName is server.address:server.port/db.namespace, the name
// OpenTelemetry's conventions give a pool its library does not name, with
// every host of a multi-host configuration (host=a,b), each once: the pool
// is one whichever host it is connected to now. No user and no password:
// nothing of the credentials is a label.
func poolName(cfg pgconn.Config) string {
	hosts := []string{net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))}
	for _, f := range cfg.Fallbacks {
		if h := net.JoinHostPort(f.Host, strconv.Itoa(int(f.Port))); !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return strings.Join(hosts, ",") + "/" + cfg.Database
}

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

func registerPoolMetrics(meter metric.Meter, g *weakGroup[pgxpool.Pool, poolSeries, poolTotals]) error {
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

// observe reports each series' statistics: its counters, and while a
// live pool holds it, its connections. A series whose pools were all
// collected keeps its counters (a counter never goes down) but reports no
// connections: a max_connections of 0 would read as a pool with every
// connection taken.
func (in *poolInstruments) observe(o metric.Observer, g *weakGroup[pgxpool.Pool, poolSeries, poolTotals]) {
	now := map[poolSeries]*pgxpool.Stat{}
	totals := g.observe(func(s poolSeries, pool *pgxpool.Pool) { now[s] = pool.Stat() })
	for s, t := range totals {
		pool := attribute.NewSet(attrPool.String(s.role), attrPoolName.String(s.name))
		all := metric.WithAttributeSet(pool)
		o.ObserveInt64(in.acquires, t.acquires, all)
		o.ObserveInt64(in.empty, t.emptyAcquires, all)
		o.ObserveFloat64(in.wait, t.acquireWait.Seconds(), all)
		o.ObserveInt64(in.canceled, t.canceledAcquires, all)
		st, live := now[s]
		if !live {
			continue
		}
		o.ObserveInt64(in.maxConns, int64(st.MaxConns()), all)
		for state, n := range map[string]int32{"acquired": st.AcquiredConns(), "idle": st.IdleConns(), "constructing": st.ConstructingConns()} {
			o.ObserveInt64(in.conns, int64(n), metric.WithAttributes(append(pool.ToSlice(), attrConnState.String(state))...))
		}
	}
}
