package pgstore_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestValidateRoundTripsWritingEveryTime backs the last clause of Validate's
// doc comment: with a negative Config.TouchInterval (every Validate writes,
// as the seed's update_session_activity does) a Validate is one round trip,
// the writing call, whatever it finds; the write happens (last_activity_at
// moves) and an expiry is recorded. TestValidateRoundTrips covers the
// default interval.
func TestValidateRoundTripsWritingEveryTime(t *testing.T) {
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
	store, err := pgstore.New(pool, pgstore.Config{TouchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got := store.TouchInterval(); got != 0 {
		t.Fatalf("TouchInterval() = %v, want 0 (every Validate writes)", got)
	}
	f := fixture{pool: base, store: store, user: pgtest.CreateUser(t, base, "every-time@example.com", 0)}

	tests := []struct {
		name  string
		age   time.Duration // of last_activity_at (and created_at) before the call; < 0: no session
		state sessionguard.State
	}{
		{"touched a second ago", time.Second, sessionguard.StateValid},
		{"touch due by the default interval", 2 * time.Minute, sessionguard.StateValid},
		{"idle timeout to record", 5 * time.Hour, sessionguard.StateIdle},
		{"unknown token", -1, sessionguard.StateUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash := newHash(t)
			if tt.age >= 0 {
				hash, _ = f.create(t, nil)
				f.age(t, hash, tt.age, tt.age)
			}
			var before time.Time
			if tt.age >= 0 {
				before = f.row(t, hash).LastActivity
			}
			n0 := counter.n.Load()
			st, err := store.Validate(t.Context(), hash, sessionguard.Scope{})
			if err != nil {
				t.Fatal(err)
			}
			if n := counter.n.Load() - n0; n != 1 || st.State != tt.state {
				t.Fatalf("%d statements, state %q; want 1, %q", n, st.State, tt.state)
			}
			switch tt.state {
			case sessionguard.StateValid:
				if after := f.row(t, hash).LastActivity; !after.After(before) {
					t.Errorf("last_activity_at %v after Validate, was %v: no touch", after, before)
				}
			case sessionguard.StateIdle:
				if r := f.row(t, hash); r.Active || r.reason() != sessionguard.ReasonIdleTimeout {
					t.Errorf("row after Validate: active %v, reason %q; want the idle timeout recorded", r.Active, r.reason())
				}
			}
		})
	}
}
