package pgstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestNewRefusedLeavesNothing: a Config that New refuses registers nothing
// on its MeterProvider. Before, New registered the read replica's callback
// and only then checked MaxBatch, so a refused Store's ReplicaStats were
// exported at every collection, for as long as the provider lived, beside
// those of the Store the application built next.
func TestNewRefusedLeavesNothing(t *testing.T) {
	t.Parallel()
	pool, read := pgxpool.Pool{}, pgxpool.Pool{} // never used: New does no I/O
	tests := []struct {
		name string
		edit func(*pgstore.Config)
	}{
		{"negative MaxBatch", func(c *pgstore.Config) { c.MaxBatch = -1 }},
		{"negative ReplayWait", func(c *pgstore.Config) { c.ReplayWait = -time.Second }},
		{"negative ReplicaTimeout", func(c *pgstore.Config) { c.ReplicaTimeout = -time.Second }},
		{"TouchInterval not whole seconds", func(c *pgstore.Config) { c.TouchInterval = 1500 * time.Millisecond }},
		{"ReadPool is the primary pool", func(c *pgstore.Config) { c.ReadPool = &pool }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrictest.New(t)
			cfg := pgstore.Config{ReadPool: &read, MeterProvider: m.Provider, Logger: quiet}
			tt.edit(&cfg)
			if s, err := pgstore.New(&pool, cfg); !errors.Is(err, pgstore.ErrInvalidArgument) {
				t.Fatalf("New = %v, %v; want ErrInvalidArgument", s, err)
			}
			for name := range m.Collect(t) {
				if strings.HasPrefix(name, "sessionguard.") {
					t.Errorf("the refused Store's %s is collected", name)
				}
			}
		})
	}
}
