package invocation

import (
	"sort"
	"strings"

	"github.com/bodytrace/bodytrace/steps/line"
)

// Stage names bodytrace derives, besides the step stages a function reports (handler,
// middleware:<name>, adapter).
const (
	StageHandler   = "handler"
	StageAdapter   = "adapter"
	StageLateWrite = "late-write"
	StageResponse  = "response" // what the runtime sent to the Runtime API
	StagePlatform  = "platform" // the platform's producedBytes
	middlewarePre  = "middleware:"
)

// Stage is one checkpoint of the response path with the body bytes it held.
type Stage struct {
	Name   string
	Bytes  int64
	Status int
	Kind   string // http, json, undefined, stream (from steps)
	Who    string
	After  float64 // ms after the handler settled, for writes
	Chunks int
	// Enc is the body's content-encoding at this stage ("identity" for none), "" when
	// the stage did not say; Decoded its length after content decoding, nil when not known.
	Enc     string
	Decoded *int64
}

// Stages returns the checkpoints along the response path, innermost first: the handler,
// each middleware in the order the function reported them, a buffered adapter's
// snapshot, writes after the handler settled, the runtime's response (or stream), and
// the platform's producedBytes. Stages nobody reported are absent.
func (r *Record) Stages() []Stage {
	var out []Stage
	ordered := append([]line.Step(nil), r.Steps...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].Seq < ordered[j].Seq })
	var late *Stage
	for _, s := range ordered {
		st := Stage{Name: s.Stage, Bytes: s.Bytes, Status: s.Status, Kind: s.Kind, Who: s.Who, After: s.After, Chunks: s.Chunks,
			Enc: stepEncoding(s), Decoded: s.Decoded}
		switch {
		case s.Stage == StageHandler || s.Stage == StageAdapter || strings.HasPrefix(s.Stage, middlewarePre):
			if s.Phase == "" || s.Phase == "out" {
				out = append(out, st)
			}
		case s.Stage == StageLateWrite || s.Stage == "write" && s.After > 0 && s.Bytes > 0:
			// Writes after the handler settled, summed into one late-write checkpoint.
			if late == nil {
				late = &Stage{Name: StageLateWrite, Who: s.Who, After: s.After}
			}
			if s.Bytes > late.Bytes {
				late.Bytes = s.Bytes
			}
			if late.Who == "" {
				late.Who = s.Who
			}
		}
	}
	if late != nil {
		out = append(out, *late)
	}
	if p := r.Response; p != nil && p.BodyBytes >= 0 && (p.Mode == ModeBuffered || p.Mode == ModeStreaming) {
		name := StageResponse
		if p.Mode == ModeStreaming {
			name = "stream"
		}
		out = append(out, Stage{Name: name, Bytes: p.BodyBytes, Status: p.StatusCode, Chunks: p.Chunks, Enc: p.encoding()})
	}
	if d := r.Platform.RuntimeDone; d != nil && d.ProducedBytes != nil {
		out = append(out, Stage{Name: StagePlatform, Bytes: *d.ProducedBytes})
	}
	return out
}

// streamStep returns the function's own account of its response stream, if it sent one.
func (r *Record) streamStep() (line.Step, bool) {
	var found line.Step
	ok := false
	for _, s := range r.Steps {
		if s.Stage == "stream" && (s.Phase == "end" || s.Phase == "error" || !ok) {
			found, ok = s, true
		}
	}
	return found, ok
}
