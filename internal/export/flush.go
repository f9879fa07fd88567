package export

import (
	"strings"

	"github.com/bodytrace/bodytrace/internal/invocation"
)

// Flush says when traces leave the extension (BODYTRACE_FLUSH).
type Flush string

const (
	// FlushVerdict exports the trace of a lost or unknown body before the extension asks
	// for the next event, and healthy traces in the background, batched, never holding an
	// invocation. A healthy trace may wait in memory across a freeze and reach the backend
	// during a later invocation (or at SHUTDOWN) instead of before the environment freezes.
	FlushVerdict Flush = "verdict"
	// FlushEnd exports every trace before the extension asks for the next event: each
	// invocation is billed one round trip to the backend, and nothing waits in memory.
	FlushEnd Flush = "end"
)

// DefaultFlush is the strategy used when BODYTRACE_FLUSH is not set: it measured cheaper
// with a backend at a distance (BENCHMARKS.md) and keeps the lost bodies' guarantee.
const DefaultFlush = FlushVerdict

// Flushes lists the accepted values of BODYTRACE_FLUSH.
var Flushes = []Flush{FlushVerdict, FlushEnd}

// ParseFlush reads a BODYTRACE_FLUSH value, case-insensitively.
func ParseFlush(v string) (Flush, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	for _, f := range Flushes {
		if v == string(f) {
			return f, true
		}
	}
	return "", false
}

// urgent reports whether an invocation's trace must leave before the next event: a lost
// body, or an unknown one for want of evidence about this invocation. An unknown verdict
// because the Runtime API is not in the path at all (a Go function without the steps
// import, a runtime without the wrapper) says the same of every invocation, so its trace
// is not urgent: holding each invocation for it would make FlushVerdict FlushEnd there.
func urgent(r *invocation.Record, v invocation.Verdict) bool {
	if healthy(v) {
		return false
	}
	return v.Lost() || r.Observed.RuntimeAPI
}
