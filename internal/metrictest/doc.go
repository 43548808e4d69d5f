// Package metrictest reads back what sessionguard's instruments recorded,
// for tests: an OpenTelemetry SDK MeterProvider over a ManualReader, values
// looked up by instrument name and attributes, and the list of instruments
// README.md documents, so that a test can hold the two to each other.
//
// Only tests import it: the library itself depends on the OpenTelemetry API
// alone, never on the SDK.
package metrictest
