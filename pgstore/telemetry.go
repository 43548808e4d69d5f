package pgstore

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionguard/sessionguard"
)

// storeOp names a Store or SCSStore operation in metrics ("operation") and
// spans.
type storeOp uint8

const (
	opValidate storeOp = iota
	opPeek
	opCreate
	opReauthenticate
	opRevoke
	opRevokeSession
	opRevokeUserSession
	opRevokeAll
	opRevokeAllExcept
	opRevokeEveryone
	opListActive
	opListAllActive
	opCountActive
	opStats
	opCleanup
	opSCSFind
	opSCSCommit
	opSCSDelete
	opSCSAll
	opSCSDeleteExpired
	opSignOut
	numOps
)

var storeOps = [numOps]struct{ name, span string }{
	opValidate:          {"validate", "pgstore.Validate"},
	opPeek:              {"peek", "pgstore.Peek"},
	opCreate:            {"create", "pgstore.Create"},
	opReauthenticate:    {"reauthenticate", "pgstore.Reauthenticate"},
	opRevoke:            {"revoke", "pgstore.Revoke"},
	opRevokeSession:     {"revoke_session", "pgstore.RevokeSession"},
	opRevokeUserSession: {"revoke_user_session", "pgstore.RevokeUserSession"},
	opRevokeAll:         {"revoke_all", "pgstore.RevokeAll"},
	opRevokeAllExcept:   {"revoke_all_except", "pgstore.RevokeAllExcept"},
	opRevokeEveryone:    {"revoke_everyone", "pgstore.RevokeEveryone"},
	opListActive:        {"list_active", "pgstore.ListActive"},
	opListAllActive:     {"list_all_active", "pgstore.ListAllActive"},
	opCountActive:       {"count_active", "pgstore.CountActive"},
	opStats:             {"stats", "pgstore.Stats"},
	opCleanup:           {"cleanup", "pgstore.Cleanup"},
	opSCSFind:           {"scs_find", "pgstore.SCSStore.Find"},
	opSCSCommit:         {"scs_commit", "pgstore.SCSStore.Commit"},
	opSCSDelete:         {"scs_delete", "pgstore.SCSStore.Delete"},
	opSCSAll:            {"scs_all", "pgstore.SCSStore.All"},
	opSCSDeleteExpired:  {"scs_delete_expired", "pgstore.SCSStore.DeleteExpired"},
	opSignOut:           {"sign_out", "pgstore.SignOut"},
}

func (op storeOp) String() string { return storeOps[op].name }

// telemetry is a Store's or an SCSStore's metrics and tracing. One without a
// MeterProvider and a TracerProvider has none (nil), and every hook below is
// then one nil check: the hot path allocates nothing for it
// (TestTelemetryOffAllocatesNothing).
type telemetry struct {
	metrics *storeMetrics // nil without a MeterProvider
	tracer  *storeTracer  // nil without a TracerProvider
}

// newTelemetry builds the telemetry of a store; op names the constructor in
// its error ("new", "new scs store").
func newTelemetry(op string, mp metric.MeterProvider, tp trace.TracerProvider) (*telemetry, error) {
	if mp == nil && tp == nil {
		return nil, nil
	}
	t := &telemetry{}
	if mp != nil {
		m, err := newStoreMetrics(mp)
		if err != nil {
			return nil, invalid(op, "MeterProvider: %v", err)
		}
		t.metrics = m
	}
	if tp != nil {
		t.tracer = newStoreTracer(tp)
	}
	return t, nil
}

// storeCall is one Store call being observed: its span and start time.
type storeCall struct {
	t     *telemetry
	op    storeOp
	span  trace.Span // nil without a tracer
	start time.Time  // zero without metrics
}

// start begins observing a call of op: the span (whose context the call
// then uses, so that a pgx tracer's spans nest under it) and the clock.
func (t *telemetry) start(ctx context.Context, op storeOp) (context.Context, storeCall) {
	if t == nil {
		return ctx, storeCall{}
	}
	c := storeCall{t: t, op: op}
	if t.tracer != nil {
		ctx, c.span = t.tracer.tracer.Start(ctx, storeOps[op].span, t.tracer.opts...)
	}
	if t.metrics != nil {
		c.start = time.Now()
	}
	return ctx, c
}

// end records the call's duration and outcome.
func (c storeCall) end(ctx context.Context, err error) {
	if c.t == nil {
		return
	}
	if m := c.t.metrics; m != nil {
		outcome := outcomeOK
		switch {
		case errors.Is(err, sessionguard.ErrReplicaBehind):
			outcome = outcomeReplicaBehind
		case err != nil:
			outcome = outcomeError
		}
		m.duration.Record(ctx, time.Since(c.start).Seconds(), m.ops[c.op][outcome]...)
	}
	if c.span != nil {
		endSpan(c.span, err)
	}
}

// endCheck ends a Validate or Peek call, counting a touch when it wrote one.
// sessionguard_check sets last_activity_at to its own clock when it touches
// and reports that clock as checked_at, while a read, which never writes,
// sees a last_activity_at older than its clock: so a valid answer whose two
// times are equal is one that touched.
func (c storeCall) endCheck(ctx context.Context, st sessionguard.Status, err error) {
	if c.t == nil {
		return
	}
	touched := c.op == opValidate && err == nil && st.Valid() && st.LastActivityAt.Equal(st.CheckedAt)
	if touched && c.t.metrics != nil {
		c.t.metrics.touches.Add(ctx, 1)
	}
	if c.span != nil && err == nil {
		statusAttrs(c.span, st, touched)
	}
	c.end(ctx, err)
}

// endCount ends a revocation that ended n sessions.
func (c storeCall) endCount(ctx context.Context, n int, err error) {
	if c.span != nil && err == nil && c.span.IsRecording() {
		c.span.SetAttributes(attrEnded.Int(n))
	}
	c.end(ctx, err)
}

// event passes a store event to the metrics (revocations by reason).
func (t *telemetry) event(ctx context.Context, e sessionguard.Event) {
	if t != nil && t.metrics != nil {
		t.metrics.revoked(ctx, e)
	}
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

// meter returns the store's metrics, for a Cache in front of it to report
// its own; nil without a MeterProvider.
func (t *telemetry) meter() *storeMetrics {
	if t == nil {
		return nil
	}
	return t.metrics
}
