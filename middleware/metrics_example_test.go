package middleware_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sessionguard/sessionguard/middleware"
)

// A Guard counts what it decides once it has a MeterProvider: here the
// OpenTelemetry SDK's, read by hand; in production one that exports (to
// Prometheus, OTLP, ...).
func ExampleConfig_meterProvider() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()

	guard, err := middleware.New(middleware.Config{
		Store:         newFakeStore(),
		MeterProvider: mp,
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = guard.Authenticate(httptest.NewRequest("GET", "/", nil)) // no token
	fmt.Println(err)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	// Every result and reason is exported from the start, at 0 (so that a
	// rate counts the first refusals of an incident); print what counted.
	for _, m := range rm.ScopeMetrics[0].Metrics {
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			if p.Value == 0 {
				continue
			}
			reason, _ := p.Attributes.Value("reason")
			fmt.Println(m.Name, reason.AsString(), p.Value)
		}
	}
	// Output:
	// middleware: session refused: missing
	// sessionguard.validations missing 1
}
