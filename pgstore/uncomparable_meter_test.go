package pgstore_test

import (
	"testing"

	"go.opentelemetry.io/otel/metric"

	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// uncomparableProvider hands out Meters of a type of one's own that cannot
// be a map key (it holds a slice), as an application's wrapper may.
type uncomparableProvider struct{ metric.MeterProvider }

type uncomparableMeter struct {
	metric.Meter
	_ []int
}

func (p uncomparableProvider) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return uncomparableMeter{Meter: p.MeterProvider.Meter(name, opts...)}
}

// A Meter that cannot be a map key gets a group of its own per pool, Cache
// or Store (weakGroups.join's doc) rather than a panic in New when the
// groups are looked up by Meter: the pool is still reported.
func TestUncomparableMeterGetsAGroupOfItsOwn(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	if _, err := pgstore.New(f.pool, pgstore.Config{MeterProvider: uncomparableProvider{m.Provider}, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	s := m.Collect(t)
	if got, want := s.Value("sessionguard.pool.max_connections", poolAttrs(f.pool, "primary")...), int64(f.pool.Config().MaxConns); got != want {
		t.Errorf("max_connections = %d through an uncomparable Meter, want %d", got, want)
	}
}
