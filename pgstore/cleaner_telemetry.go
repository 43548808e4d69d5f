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
	attrCleanupResult = attribute.Key("sessionguard.cleanup.result") // as cleanup.runs' result
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

	byResult       map[string]metric.AddOption // cleanup.runs' attributes, by runResult
	absolute, idle metric.AddOption
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
	t.byResult = map[string]metric.AddOption{}
	for _, result := range []string{resultDone, resultSkipped, resultCanceled, resultError} {
		t.byResult[result] = metric.WithAttributes(attrResult.String(result))
	}
	t.absolute = metric.WithAttributes(attrReason.String(sessionguard.ReasonAbsoluteTimeout))
	t.idle = metric.WithAttributes(attrReason.String(sessionguard.ReasonIdleTimeout))
	// Every series with a known label set exists from the start, at 0: a
	// rule on increase(…{result="done"}) compares nothing, and never fires,
	// for a Cleaner that has failed every run since the process started.
	for _, opt := range t.byResult {
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
		result := runResult(ctx, *res, *err)
		t.record(ctx, time.Since(start), result, *res)
		if span == nil {
			return
		}
		span.SetAttributes(attrCleanupResult.String(result), attrCleanupRan.Bool(res.Ran),
			attrCleanupEnded.Int(res.Absolute+res.Idle), attrCleanupPurged.Int(res.Purged))
		if result == resultCanceled {
			span.End() // no error recorded: see runResult
			return
		}
		endSpan(span, *err)
	}
}

// The results of a run: cleanup.runs' "result" and its span's
// sessionguard.cleanup.result.
const (
	resultDone     = "done"
	resultSkipped  = "skipped"
	resultCanceled = "canceled"
	resultError    = "error"
)

// runResult is what a run came to. A run whose context was canceled (Run's,
// as the app shuts down) is "canceled", not "error": counted or traced as
// an error, every deploy stopping a Cleaner mid-run would show as a failing
// cleanup. Run logs no error for it either, and its span, which says
// "canceled" in an attribute, has no error status or exception event. A
// context whose deadline passed is still an error: the run did not finish
// in the time its caller gave it.
func runResult(ctx context.Context, res CleanupResult, err error) string {
	switch {
	case err != nil && errors.Is(ctx.Err(), context.Canceled):
		return resultCanceled
	case err != nil:
		return resultError
	case !res.Ran:
		return resultSkipped
	}
	return resultDone
}

// record counts one run. A run that failed part way still counts what it
// ended and purged: those rows are gone.
func (t *cleanerTelemetry) record(ctx context.Context, d time.Duration, result string, res CleanupResult) {
	if t.runs == nil {
		return
	}
	t.runs.Add(ctx, 1, t.byResult[result])
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
