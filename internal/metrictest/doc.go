// Package metrictest reads back what sessionguard's instruments recorded,
// for tests: an OpenTelemetry SDK MeterProvider over a ManualReader, values
// looked up by instrument name and attributes, and the list of instruments
// README.md documents, so that a test can hold the two to each other; and
// README.md's alert rules, run through Prometheus's promtool on test series
// held to the names and labels a scrape shows.
//
// Only tests import it: the library itself depends on the OpenTelemetry API
// alone, never on the SDK.
package metrictest
