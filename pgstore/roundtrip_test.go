package pgstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// roundTripCounter is a pgx tracer that counts every statement a pool sends.
type roundTripCounter struct{ n atomic.Int64 }

func (c *roundTripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *roundTripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestValidateRoundTrips: a Validate with no write due is one SELECT, and a
// touch or an expiry to record adds one call of sessionguard_check; a Peek
// is one SELECT whatever it finds (README, "Performance and the optional
// cache").
func TestValidateRoundTrips(t *testing.T) {
	t.Parallel()
	base := pgtest.NewPool(t)
	cfg := base.Config()
	counter := &roundTripCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := pgstore.New(pool, pgstore.Config{}) // TouchInterval: the default, 60 s
	if err != nil {
		t.Fatal(err)
	}
	tenant := pgtest.CreateTenant(t, base, "acme")
	f := fixture{pool: base, store: store, user: pgtest.CreateUser(t, base, "alice@acme.example", tenant), tenant: tenant}

	tests := []struct {
		name       string
		age        time.Duration // of last_activity_at (and created_at) before the call
		peek       bool
		statements int64
		state      sessionguard.State
	}{
		{"validate, touched a second ago", time.Second, false, 1, sessionguard.StateValid},
		{"validate, touch due", 2 * time.Minute, false, 2, sessionguard.StateValid},
		{"validate, idle timeout to record", 5 * time.Hour, false, 2, sessionguard.StateIdle},
		{"peek, touch due", 2 * time.Minute, true, 1, sessionguard.StateValid},
		{"peek, idle timeout", 5 * time.Hour, true, 1, sessionguard.StateIdle},
		{"validate, unknown token", -1, false, 1, sessionguard.StateUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash := newHash(t)
			if tt.age >= 0 {
				hash, _ = f.create(t, nil)
				f.age(t, hash, tt.age, tt.age)
			}
			call := store.Validate
			if tt.peek {
				call = store.Peek
			}
			before := counter.n.Load()
			st, err := call(t.Context(), hash, sessionguard.Scope{})
			if err != nil {
				t.Fatal(err)
			}
			if n := counter.n.Load() - before; n != tt.statements || st.State != tt.state {
				t.Errorf("%d statements, state %q; want %d, %q", n, st.State, tt.statements, tt.state)
			}
		})
	}
}
