package pgstore

import (
	"context"
	"testing"

	"github.com/sessionguard/sessionguard"
)

// Without providers a Store has no telemetry, and its hooks, called on every
// Validate, cost nothing: the hot path allocates as it did before metrics.
func TestTelemetryOffAllocatesNothing(t *testing.T) {
	tel, err := newTelemetry(nil, nil)
	if err != nil || tel != nil {
		t.Fatalf("newTelemetry(nil, nil) = %v, %v; want nil, nil", tel, err)
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
