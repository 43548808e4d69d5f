package middleware

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sessionguard/sessionguard"
)

// The Guard's instruments (README.md, "Metrics and traces"; a test holds the
// list to these names). The store's own (latency, touches, revocations, the
// cache) come from pgstore.Config.MeterProvider.
const (
	metricValidations = "sessionguard.validations"
	metricSignIns     = "sessionguard.sign_ins"
)

const instrumentationName = "github.com/sessionguard/sessionguard/middleware"

// guardMetrics counts the Guard's decisions. Every attribute set is built
// once, here: a refusal reason is one of the sentinels' (ErrRevoked, …), so counting
// a request looks up a prebuilt option and builds nothing.
type guardMetrics struct {
	validations metric.Int64Counter
	signIns     metric.Int64Counter
	valid       []metric.AddOption
	refused     map[string][]metric.AddOption // by refusal reason
	signInApp   map[sessionguard.AppType][]metric.AddOption
}

var refusalReasons = []string{ErrMissingToken.Reason, ErrInvalidToken.Reason, ErrMalformedRequest.Reason, ErrIdleTimeout.Reason,
	ErrAbsoluteTimeout.Reason, ErrRevoked.Reason, ErrWrongApp.Reason, ErrWrongTenant.Reason,
	ErrBadTenant.Reason, ErrUnavailable.Reason, ErrCanceled.Reason, ErrReauthenticationRequired.Reason, sessionguard.ReasonSessionLimit,
	sessionguard.ReasonReauthenticationRefused, sessionguard.ReasonRefreshRefused}

// newGuardMetrics returns nil without a provider: the Guard then counts
// nothing and spends nothing on it. app is the Guard's Config.AppType: its
// validations carry it (app_type, "any" for a Guard of every app type), so
// that the control panel's refusals and the tenant app's can be told apart
// on one provider.
func newGuardMetrics(mp metric.MeterProvider, app sessionguard.AppType) (*guardMetrics, error) {
	if mp == nil {
		return nil, nil
	}
	meter := mp.Meter(instrumentationName)
	validations, err := meter.Int64Counter(metricValidations, metric.WithUnit("{request}"),
		metric.WithDescription("Requests checked by a Guard (Authenticate, Peek and their middleware), by result (valid, refused), refusal reason and the Guard's app type."))
	if err != nil {
		return nil, errConfig("MeterProvider: %v", err)
	}
	signIns, err := meter.Int64Counter(metricSignIns, metric.WithUnit("{session}"),
		metric.WithDescription("Sessions opened by sign-in, by app type."))
	if err != nil {
		return nil, errConfig("MeterProvider: %v", err)
	}
	guardApp := attribute.String("app_type", string(app))
	if app == "" {
		guardApp = attribute.String("app_type", "any")
	}
	m := &guardMetrics{
		validations: validations,
		signIns:     signIns,
		valid:       addOptions(attribute.String("result", "valid"), guardApp),
		refused:     make(map[string][]metric.AddOption, len(refusalReasons)),
		signInApp:   make(map[sessionguard.AppType][]metric.AddOption, 2),
	}
	for _, r := range refusalReasons {
		m.refused[r] = addOptions(attribute.String("result", "refused"), attribute.String("reason", r), guardApp)
	}
	for _, app := range []sessionguard.AppType{sessionguard.ControlPanel, sessionguard.TenantApp} {
		m.signInApp[app] = addOptions(attribute.String("app_type", string(app)))
	}
	m.exportZeros()
	return m, nil
}

// exportZeros makes every series of a known label set exist, at 0, before
// the first request. A counter series that first appears mid-incident has
// its first scraped value as the baseline of rate() and increase(): the
// refusals before that scrape (a short outage, the first this instance
// sees) would never be counted.
func (m *guardMetrics) exportZeros() {
	ctx := context.Background()
	m.validations.Add(ctx, 0, m.valid...)
	for _, opts := range m.refused {
		m.validations.Add(ctx, 0, opts...)
	}
	for _, opts := range m.signInApp {
		m.signIns.Add(ctx, 0, opts...)
	}
}

// validated counts a request let in.
func (m *guardMetrics) validated(ctx context.Context) {
	if m != nil {
		m.validations.Add(ctx, 1, m.valid...)
	}
}

// event counts what the Guard's audit events say: refusals (a refusal that
// recorded an expiry included) and sign-ins.
func (m *guardMetrics) event(ctx context.Context, e sessionguard.Event) {
	if m == nil {
		return
	}
	switch e.Kind {
	case sessionguard.EventRefused, sessionguard.EventExpired:
		opts, ok := m.refused[e.Reason]
		if !ok {
			opts = addOptions(attribute.String("result", "refused"), attribute.String("reason", e.Reason))
		}
		m.validations.Add(ctx, 1, opts...)
	case sessionguard.EventCreated:
		opts, ok := m.signInApp[e.AppType]
		if !ok {
			opts = addOptions(attribute.String("app_type", string(e.AppType)))
		}
		m.signIns.Add(ctx, 1, opts...)
	}
}

// addOptions is the option list of one attribute set, built once so that
// counting passes a ready slice.
func addOptions(kv ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}
