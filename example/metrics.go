package main

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// metrics is the example's OpenTelemetry MeterProvider, given to the store
// (which the scs store works through) and every guard
// (pgstore.Config.MeterProvider, middleware.Config.MeterProvider), and the Prometheus exposition of what
// it records, served on GET /metrics: sessionguard_validations_total,
// sessionguard_store_duration_seconds, … (README.md, "Metrics and traces").
//
// /metrics is served on a listener of its own (METRICS_ADDR, loopback by
// default), for the scraper on an internal network: next to the pages it
// would tell anyone how many sign-ins fail and why.
//
// The registry is the app's own rather than Prometheus' global one, so that
// two apps in one process (the tests) do not mix their numbers.
type metrics struct {
	provider *sdkmetric.MeterProvider
	handler  http.Handler
}

func newMetrics() (*metrics, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &metrics{
		provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)),
		handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}, nil
}

// routes is the metrics listener's whole URL space: GET /metrics.
func (m *metrics) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler)
	return mux
}
