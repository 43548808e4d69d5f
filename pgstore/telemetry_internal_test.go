package pgstore

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
)

// Without providers a Store has no telemetry, and its hooks, called on every
// Validate, cost nothing: the hot path allocates as it did before metrics.
func TestTelemetryOffAllocatesNothing(t *testing.T) {
	tel, err := newTelemetry("new", nil, nil)
	if err != nil || tel != nil {
		t.Fatalf("newTelemetry(op, nil, nil) = %v, %v; want nil, nil", tel, err)
	}
	ctx := context.Background()
	st := sessionguard.Status{State: sessionguard.StateValid}
	e := sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: sessionguard.ReasonLogout, Count: 1}
	allocs := testing.AllocsPerRun(1000, func() {
		cctx, call := tel.start(ctx, opValidate)
		call.endCheck(cctx, st, nil)
		cctx, call = tel.start(ctx, opRevoke)
		call.endCount(cctx, 1, nil)
		tel.event(cctx, e)
		if tel.meter() != nil {
			t.Fatal("meter without a provider")
		}
	})
	if allocs != 0 {
		t.Errorf("hooks without telemetry allocate %v times per call, want 0", allocs)
	}
}

// An SCSStore built without providers has no telemetry either: its calls,
// made on every scs request, allocate nothing for it. (Malformed keys, so
// that the calls run every hook and no query.)
func TestSCSTelemetryOffAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://127.0.0.1:1/never-dialled")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := New(pool, Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSCSStore(store, SCSConfig{})
	if err != nil || s.store.tel != nil {
		t.Fatalf("NewSCSStore without providers: telemetry %v, %v; want none", s.store.tel, err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, found, err := s.FindCtx(ctx, "malformed"); found || err != nil {
			t.Fatalf("Find(malformed) = %v, %v", found, err)
		}
		if err := s.DeleteCtx(ctx, "malformed"); err != nil {
			t.Fatal(err)
		}
		cctx, call := s.store.tel.start(ctx, opSCSDeleteExpired)
		call.endDeleted(cctx, 1, nil)
	})
	if allocs != 0 {
		t.Errorf("SCSStore calls without telemetry allocate %v times, want 0", allocs)
	}
}
