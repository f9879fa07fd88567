// Package export turns finished invocation records into OpenTelemetry spans, one trace
// per invocation, and into the compact JSON summary line, and flushes them within a bound.
package export
