package pgstore_test

import (
	"context"
	"maps"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// Three live pools of one role on one database are three series, named in
// the order their Stores were made: the name, then "#2", then "#3" (README,
// the pool metrics' db.client.connection.pool.name).
func TestPoolNamesCountOnInTheOrderMade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	var first *pgxpool.Pool
	for _, maxConns := range []int32{1, 2, 3} {
		cfg := f.pool.Config()
		cfg.MaxConns, cfg.MinConns = maxConns, 0
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if _, err := pgstore.New(pool, pgstore.Config{MeterProvider: m.Provider, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = pool
		}
	}
	name := poolAttrs(first, "primary")[1].Value.AsString()
	names := map[int64]string{}
	for _, s := range primaryPoolSeries(t, m.Collect(t)) {
		n, _ := s.attrs.Value("db.client.connection.pool.name")
		names[s.max] = n.AsString()
	}
	if want := map[int64]string{1: name, 2: name + "#2", 3: name + "#3"}; !maps.Equal(names, want) {
		t.Errorf("pool names by max_connections %v, want %v", names, want)
	}
}
