package pgstore

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionguard/sessionguard"
)

// The Cleaner's instruments (README.md, "Metrics and traces").
const (
	metricCleanupRuns     = "sessionguard.cleanup.runs"
	metricCleanupDuration = "sessionguard.cleanup.duration"
	metricCleanupEnded    = "sessionguard.cleanup.ended"
	metricCleanupPurged   = "sessionguard.cleanup.purged"
)

// Cleanup span attributes: what the run did.
const (
	attrCleanupRan    = attribute.Key("sessionguard.cleanup.ran")
	attrCleanupEnded  = attribute.Key("sessionguard.cleanup.ended")
	attrCleanupPurged = attribute.Key("sessionguard.cleanup.purged")
)

// cleanerTelemetry observes a Cleaner's runs; nil without providers.
type cleanerTelemetry struct {
	runs     metric.Int64Counter // nil without a MeterProvider
	duration metric.Float64Histogram
	ended    metric.Int64Counter
	purged   metric.Int64Counter
	tracer   trace.Tracer // nil without a TracerProvider

	done, skipped, canceled, failed metric.AddOption
	absolute, idle                  metric.AddOption
}

func newCleanerTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) (*cleanerTelemetry, error) {
	if mp == nil && tp == nil {
		return nil, nil
	}
	t := &cleanerTelemetry{}
	if tp != nil {
		t.tracer = tp.Tracer(instrumentationName)
	}
	if mp == nil {
		return t, nil
	}
	m := mp.Meter(instrumentationName)
	var err error
	if t.runs, err = m.Int64Counter(metricCleanupRuns, metric.WithUnit("{run}"),
		metric.WithDescription("Cleanup runs, by result: done, skipped (another Cleaner held the turn), canceled (its context was canceled: the app shutting down) or error.")); err != nil {
		return nil, err
	}
	if t.duration, err = m.Float64Histogram(metricCleanupDuration, metric.WithUnit("s"),
		metric.WithDescription("Time a cleanup run took (runs that did the work)."),
		metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300)); err != nil {
		return nil, err
	}
	if t.ended, err = m.Int64Counter(metricCleanupEnded, metric.WithUnit("{session}"),
		metric.WithDescription("Sessions the cleanup ended, by reason: idle_timeout or absolute_timeout.")); err != nil {
		return nil, err
	}
	if t.purged, err = m.Int64Counter(metricCleanupPurged, metric.WithUnit("{session}"),
		metric.WithDescription("Ended session rows the cleanup deleted after the retention period.")); err != nil {
		return nil, err
	}
	t.done = metric.WithAttributes(attrResult.String("done"))
	t.skipped = metric.WithAttributes(attrResult.String("skipped"))
	t.canceled = metric.WithAttributes(attrResult.String("canceled"))
	t.failed = metric.WithAttributes(attrResult.String("error"))
	t.absolute = metric.WithAttributes(attrReason.String(sessionguard.ReasonAbsoluteTimeout))
	t.idle = metric.WithAttributes(attrReason.String(sessionguard.ReasonIdleTimeout))
	// Every series with a known label set exists from the start, at 0: a
	// rule on increase(…{result="done"}) compares nothing, and never fires,
	// for a Cleaner that has failed every run since the process started.
	for _, opt := range []metric.AddOption{t.done, t.skipped, t.canceled, t.failed} {
		t.runs.Add(context.Background(), 0, opt)
	}
	for _, opt := range []metric.AddOption{t.absolute, t.idle} {
		t.ended.Add(context.Background(), 0, opt)
	}
	t.purged.Add(context.Background(), 0)
	return t, nil
}

// startRun begins observing a RunOnce; the returned function, deferred with
// pointers to RunOnce's results, records what the run did once it is over.
func (t *cleanerTelemetry) startRun(ctx context.Context) (context.Context, func(*CleanupResult, *error)) {
	if t == nil {
		return ctx, func(*CleanupResult, *error) {}
	}
	start := time.Now()
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, "pgstore.Cleaner.RunOnce", trace.WithAttributes(attrDBSystem.String("postgresql")))
	}
	return ctx, func(res *CleanupResult, err *error) {
		t.record(ctx, time.Since(start), *res, *err)
		if span != nil {
			span.SetAttributes(attrCleanupRan.Bool(res.Ran), attrCleanupEnded.Int(res.Absolute+res.Idle), attrCleanupPurged.Int(res.Purged))
			endSpan(span, *err)
		}
	}
}

// record counts one run. A run that failed part way still counts what it
// ended and purged: those rows are gone.
//
// A run whose context was canceled (Run's, as the app shuts down) is
// "canceled", not "error": counted as an error, every deploy stopping a
// Cleaner mid-run would show as a failing cleanup. Run logs no error for
// it either. A context whose deadline passed is still an error: the run did
// not finish in the time its caller gave it.
func (t *cleanerTelemetry) record(ctx context.Context, d time.Duration, res CleanupResult, err error) {
	if t.runs == nil {
		return
	}
	switch {
	case err != nil && errors.Is(ctx.Err(), context.Canceled):
		t.runs.Add(ctx, 1, t.canceled)
	case err != nil:
		t.runs.Add(ctx, 1, t.failed)
	case !res.Ran:
		t.runs.Add(ctx, 1, t.skipped)
	default:
		t.runs.Add(ctx, 1, t.done)
	}
	if res.Ran {
		t.duration.Record(ctx, d.Seconds())
	}
	if res.Absolute > 0 {
		t.ended.Add(ctx, int64(res.Absolute), t.absolute)
	}
	if res.Idle > 0 {
		t.ended.Add(ctx, int64(res.Idle), t.idle)
	}
	if res.Purged > 0 {
		t.purged.Add(ctx, int64(res.Purged))
	}
}
