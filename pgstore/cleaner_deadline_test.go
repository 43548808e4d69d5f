package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// A run whose context's deadline passed is a failed run, unlike one whose
// context was canceled (TestCleanerStoppedAtShutdownIsNoError): it did not
// finish in the time its caller gave it, so cleanup.runs counts it as
// "error" and its span has an error status and says "error" (runResult's
// doc). Counted as "canceled", a Cleaner that never finishes in time would
// never page.
func TestCleanerPastItsDeadlineIsAnError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	m := metrictest.New(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	c := newCleaner(t, f.pool, pgstore.CleanerConfig{Interval: time.Hour, MeterProvider: m.Provider, TracerProvider: tp})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := c.RunOnce(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RunOnce = %v, want context.DeadlineExceeded", err)
	}
	s := m.Collect(t)
	for result, want := range map[string]int64{"error": 1, "canceled": 0, "done": 0} {
		if got := s.Value("sessionguard.cleanup.runs", attribute.String("result", result)); got != want {
			t.Errorf("sessionguard.cleanup.runs{result=%q} = %d, want %d", result, got, want)
		}
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "pgstore.Cleaner.RunOnce" {
		t.Fatalf("spans %v, want one pgstore.Cleaner.RunOnce", spans)
	}
	run := spans[0]
	if run.Status.Code != codes.Error {
		t.Errorf("the run past its deadline has span status %v, want an error", run.Status.Code)
	}
	if !slices.Contains(run.Attributes, attribute.String("sessionguard.cleanup.result", "error")) {
		t.Errorf("the run past its deadline has attributes %v, want sessionguard.cleanup.result error", run.Attributes)
	}
}
