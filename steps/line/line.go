package line

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Marker starts every step line.
const Marker = "@bodytrace/step "

// Version is the format version this package reads and writes.
const Version = 1

// MaxLine is the largest step line accepted, marker included.
const MaxLine = 8 << 10

// Step is one decoded step line.
type Step struct {
	V         int     `json:"v"`
	RequestID string  `json:"rid"`
	Seq       int     `json:"seq"`
	Stage     string  `json:"stage"`
	Phase     string  `json:"phase,omitempty"`
	Bytes     int64   `json:"bytes"`
	Kind      string  `json:"kind,omitempty"`
	Status    int     `json:"status,omitempty"`
	After     float64 `json:"after,omitempty"`
	Chunks    int     `json:"chunks,omitempty"`
	Who       string  `json:"who,omitempty"`
	Note      string  `json:"note,omitempty"`
	// Enc and Decoded say what Bytes are when the body may be compressed: Enc is the
	// body's content-encoding at this stage ("identity" for none), Decoded its length
	// after content decoding. Both are optional; absent means the stage did not say.
	Enc     string `json:"enc,omitempty"`
	Decoded *int64 `json:"decoded,omitempty"`
}

// Errors a line can be rejected with; each wraps ErrRejected.
var (
	ErrRejected   = errors.New("step line rejected")
	ErrNoMarker   = fmt.Errorf("%w: no marker", ErrRejected)
	ErrOversized  = fmt.Errorf("%w: larger than %d bytes", ErrRejected, MaxLine)
	ErrMalformed  = fmt.Errorf("%w: malformed", ErrRejected)
	ErrBadVersion = fmt.Errorf("%w: unknown version", ErrRejected)
)

// Find returns where the step line in text starts, or -1. Log lines may carry a prefix
// (a timestamp, a request id, a level) before the marker.
func Find(text []byte) int {
	return bytes.Index(text, []byte(Marker))
}

// Parse decodes one step line (the marker and what follows it on the line).
func Parse(line []byte) (Step, error) {
	if len(line) > MaxLine {
		return Step{}, ErrOversized
	}
	i := Find(line)
	if i < 0 {
		return Step{}, ErrNoMarker
	}
	body := bytes.TrimSpace(line[i+len(Marker):])
	if j := bytes.IndexByte(body, '\n'); j >= 0 {
		body = body[:j]
	}
	if !utf8.Valid(body) {
		return Step{}, fmt.Errorf("%w: invalid UTF-8", ErrMalformed)
	}
	var s Step
	if err := json.Unmarshal(body, &s); err != nil {
		return Step{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if s.V != Version {
		return Step{}, fmt.Errorf("%w %d", ErrBadVersion, s.V)
	}
	if s.RequestID == "" || s.Stage == "" {
		return Step{}, fmt.Errorf("%w: rid and stage are required", ErrMalformed)
	}
	if s.Bytes < 0 || s.Decoded != nil && *s.Decoded < 0 {
		return Step{}, fmt.Errorf("%w: negative bytes", ErrMalformed)
	}
	return s, nil
}

// Format encodes a step as one line, marker included, without a trailing newline.
func Format(s Step) []byte {
	s.V = Version
	b, _ := json.Marshal(s)
	return append([]byte(Marker), b...)
}
