// Package lifecycle is the extension's loop: it gathers what the Runtime API proxy and the
// Telemetry API report about each invocation into records, closes each record once it
// has what it needs or its bounded wait runs out, exports it, and flushes before asking
// the Extensions API for the next event.
package lifecycle
