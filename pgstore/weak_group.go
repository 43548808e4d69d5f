package pgstore

import (
	"maps"
	"reflect"
	"runtime"
	"sync"
	"weak"

	"go.opentelemetry.io/otel/metric"
)

// weakGroups are, per Meter, the values of one kind (T: a Cache, a Store
// with a ReadPool, a pool) that report there, in one weakGroup with one
// callback. The SDK adds up what every callback on a Meter observes, so a
// pool observed by two would read as twice its connections; and a gauge
// keeps one value per series and collection, so a callback per Cache would
// report the Cache registered last and hide another's listener being down.
type weakGroups[T any, S comparable, C summable[C]] struct {
	mu       sync.Mutex
	byMeter  map[metric.Meter]*weakGroup[T, S, C]
	register func(metric.Meter, *weakGroup[T, S, C]) error // the kind's instruments and callback
}

// summable are counts that add up: a series' members' and its collected
// members'.
type summable[C any] interface{ plus(C) C }

func newWeakGroups[T any, S comparable, C summable[C]](register func(metric.Meter, *weakGroup[T, S, C]) error) *weakGroups[T, S, C] {
	return &weakGroups[T, S, C]{byMeter: map[metric.Meter]*weakGroup[T, S, C]{}, register: register}
}

// join makes member report through meter, under the series that series
// picks (see add), until member is collected; counts reads its counts. A
// Meter that cannot be a map key (a type of one's own that is not
// comparable) gets a group per member.
func (r *weakGroups[T, S, C]) join(meter metric.Meter, member *T, series seriesFunc[T, S], counts func(live *T) C) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	shared := reflect.ValueOf(meter).Comparable()
	var g *weakGroup[T, S, C]
	if shared {
		g = r.byMeter[meter]
	}
	if g == nil {
		g = &weakGroup[T, S, C]{members: map[weakMember[T, S]]func(*T) C{}, retired: map[S]C{}}
		if err := r.register(meter, g); err != nil {
			return err
		}
		if shared {
			r.byMeter[meter] = g
		}
	}
	g.add(member, series, counts)
	return nil
}

// weakGroup is what one callback reports: its members, each under a series
// (S), and the counts (C) of the ones collected, by series.
//
// It holds its members weakly: a value the application drops (a Cache
// replaced, a Store and its pools closed with a tenant's database) is
// collected like any other, a Cache with up to MaxEntries sessions, and a
// pool stops counting in max_connections. Held by a callback, every value
// ever made stayed in memory for the rest of the process
// (TestDroppedCacheIsCollected, TestDroppedPoolIsCollected). A collected
// member's last counts stay in retired, so that a counter never goes down.
type weakGroup[T any, S comparable, C summable[C]] struct {
	mu      sync.Mutex
	members map[weakMember[T, S]]func(live *T) C
	retired map[S]C // every series ever reported, with its collected members' counts
}

type weakMember[T any, S comparable] struct {
	ptr    weak.Pointer[T]
	series S
}

// seriesFunc picks the series a member reports under, given held: the
// live member a series is reported under (nil: none), and whether the
// group ever reported it. A member already reported must get the series it
// has, or it is reported under two.
type seriesFunc[T any, S comparable] func(held func(S) (holder *T, reported bool)) S

// add makes g report member under series(g.held) until it is collected,
// once however often it is added under that series. counts reads its
// counts: from live while member lives, and with live nil once it is
// collected, when it must return the last it read. counts must not refer
// to member, or member is never collected.
func (g *weakGroup[T, S, C]) add(member *T, series seriesFunc[T, S], counts func(live *T) C) {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := weakMember[T, S]{ptr: weak.Make(member), series: series(g.held)}
	if _, ok := g.members[key]; ok {
		return
	}
	g.members[key] = counts
	if _, ok := g.retired[key.series]; !ok {
		var zero C
		g.retired[key.series] = zero
	}
	runtime.AddCleanup(member, g.release, key)
}

// held is the live member that series is reported under, or nil, and
// whether g ever reported series; g.mu is held.
func (g *weakGroup[T, S, C]) held(series S) (holder *T, reported bool) {
	_, reported = g.retired[series]
	for key := range g.members {
		if key.series == series {
			if m := key.ptr.Value(); m != nil {
				return m, reported
			}
		}
	}
	return nil, reported
}

// release keeps the last counts of a collected member and forgets it.
func (g *weakGroup[T, S, C]) release(key weakMember[T, S]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if counts, ok := g.members[key]; ok {
		g.retired[key.series] = g.retired[key.series].plus(counts(nil))
		delete(g.members, key)
	}
}

// observe returns the counts of every series g ever reported, its live and
// collected members' together, and calls live, if not nil, for each live
// member, for what only a live member has (a pool's connections).
func (g *weakGroup[T, S, C]) observe(live func(series S, member *T)) map[S]C {
	g.mu.Lock()
	defer g.mu.Unlock()
	sums := maps.Clone(g.retired)
	for key, counts := range g.members {
		// A member collected but not released yet still has its counts here.
		m := key.ptr.Value()
		if m != nil && live != nil {
			live(key.series, m)
		}
		sums[key.series] = sums[key.series].plus(counts(m))
	}
	return sums
}

// oneSeries is the series func of a kind that reports all its members as
// one series.
func oneSeries[T any](func(struct{}) (*T, bool)) struct{} { return struct{}{} }

// keepLast returns the counts func of a member whose counts go with it
// (a pool's Stat): it keeps the last it read.
func keepLast[T, C any](read func(*T) C) func(live *T) C {
	var last C
	return func(live *T) C {
		if live != nil {
			last = read(live)
		}
		return last
	}
}
