package pgstore

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionguard/sessionguard"
)

// Span attributes. Spans carry what a call decided, never what it was asked
// about: no token, no token hash, no user or session id.
const (
	attrDBSystem = attribute.Key("db.system.name")     // "postgresql", the semantic conventions' key
	attrState    = attribute.Key("sessionguard.state") // Validate, Peek: the State of the answer
	attrTouched  = attribute.Key("sessionguard.touched")
	attrEnded    = attribute.Key("sessionguard.ended") // revocations: sessions ended
)

// storeTracer starts the spans of a Store's calls, one per call, named
// "pgstore.<Method>", as children of the caller's span.
type storeTracer struct {
	tracer trace.Tracer
	opts   []trace.SpanStartOption
}

func newStoreTracer(tp trace.TracerProvider) *storeTracer {
	return &storeTracer{
		tracer: tp.Tracer(instrumentationName),
		opts:   []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrDBSystem.String("postgresql"))},
	}
}

// endSpan records err on span and ends it. Errors of this package carry no
// hash (wrapErr), so their text is safe to record.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// statusAttrs describe a check's answer on its span.
func statusAttrs(span trace.Span, st sessionguard.Status, touched bool) {
	if span.IsRecording() {
		span.SetAttributes(attrState.String(string(st.State)), attrTouched.Bool(touched))
	}
}
