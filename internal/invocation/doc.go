// Package invocation holds what bodytrace learns about one Lambda invocation, from the
// Runtime API proxy, the Extensions API and the Telemetry API, keyed by request id, and
// derives the verdict: whether the response body was delivered, empty by design, or lost,
// and where.
package invocation
