package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bodytrace/bodytrace/internal/export"
)

// summaryType is the "type" of the extension's summary line.
const summaryType = "bodytrace.invocation"

// Invocation is one row: an invocation's summary, from a summary line or rebuilt from a
// trace.
type Invocation struct {
	export.Summary
	// Function is the function's (or service's) name when the source says it.
	Function string `json:"function,omitempty"`
}

// Lost reports whether the verdict says the body was lost.
func (inv Invocation) Lost() bool { return strings.HasPrefix(inv.Verdict, "lost:") }

// Route is "METHOD /path", or the trigger for an invoke without an HTTP shape.
func (inv Invocation) Route() string {
	switch {
	case inv.Method != "" || inv.Path != "":
		return strings.TrimSpace(inv.Method + " " + inv.Path)
	case inv.Trigger != "":
		return inv.Trigger
	}
	return "-"
}

// ShortID is the first block of the request id, enough to tell rows apart.
func (inv Invocation) ShortID() string {
	id := inv.RequestID
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// marker starts a summary line wherever it sits in a log line (after a prefix, inside a
// JSON log record's message).
var marker = []byte(`{"type":"` + summaryType + `"`)

// ParseLine returns the summary carried by one log line, and false for any other line: the
// extension's other JSON logs, the platform's lines, the function's output.
func ParseLine(line []byte) (Invocation, bool) {
	i := bytes.Index(line, marker)
	if i < 0 {
		return fromRecord(line)
	}
	var inv Invocation
	dec := json.NewDecoder(bytes.NewReader(line[i:])) // stops at the object's end, ignoring a suffix
	if err := dec.Decode(&inv); err != nil || inv.Type != summaryType || inv.RequestID == "" {
		return fromRecord(line)
	}
	return inv, true
}

// fromRecord reads a summary line whose keys come in another order (re-encoded by a log
// shipper), or that a JSON log format carried as an escaped string
// ({"message":"{\"type\":\"bodytrace.invocation\",...}"}).
func fromRecord(line []byte) (Invocation, bool) {
	if !bytes.Contains(line, []byte(summaryType)) {
		return Invocation{}, false
	}
	i := bytes.IndexByte(line, '{')
	if i < 0 {
		return Invocation{}, false
	}
	var rec struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Record  string `json:"record"`
	}
	if json.NewDecoder(bytes.NewReader(line[i:])).Decode(&rec) != nil {
		return Invocation{}, false
	}
	if rec.Type == summaryType {
		var inv Invocation
		if json.NewDecoder(bytes.NewReader(line[i:])).Decode(&inv) == nil && inv.RequestID != "" {
			return inv, true
		}
		return Invocation{}, false
	}
	for _, s := range []string{rec.Message, rec.Record} {
		if strings.HasPrefix(strings.TrimSpace(s), "{") && strings.Contains(s, summaryType) {
			if inv, ok := ParseLine([]byte(s)); ok {
				return inv, true
			}
		}
	}
	return Invocation{}, false
}

// ReadLines calls fn for each summary line read from r, until r ends or fn returns false.
func ReadLines(r io.Reader, fn func(Invocation) bool) error {
	return readCounted(r, nil, fn)
}

// Input counts what a read saw, to tell "no input" from "no summary line in it".
type Input struct {
	Lines, Summaries int
}

// readCounted is ReadLines, counting into in when it is not nil.
func readCounted(r io.Reader, in *Input, fn func(Invocation) bool) error {
	if in == nil {
		in = new(Input)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024) // other log lines can be long
	for sc.Scan() {
		in.Lines++
		inv, ok := ParseLine(sc.Bytes())
		if !ok {
			continue
		}
		in.Summaries++
		if !fn(inv) {
			return nil
		}
	}
	return sc.Err()
}

// Filter says which invocations to keep.
type Filter struct {
	// Verdicts are prefixes: "lost" keeps lost:handler, lost:streaming, ...; empty keeps all.
	Verdicts []string
}

// ParseVerdicts splits a comma-separated --verdict value.
func ParseVerdicts(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// verdictNames are the verdicts the extension gives, as --verdict accepts them: a whole
// verdict or the start of one at a colon (lost, lost:middleware).
var verdictNames = []string{"delivered", "empty-by-design", "unknown", "lost", "lost:handler",
	"lost:middleware[:NAME]", "lost:late-write[:WHO]", "lost:streaming", "lost:platform"}

// CheckVerdicts reports the first value that cannot match any verdict, naming the valid
// ones: a typo must not silently print nothing.
func CheckVerdicts(vs []string) error {
	for _, v := range vs {
		if !validVerdict(v) {
			return fmt.Errorf("--verdict %q is not a verdict: use one or more of %s, comma-separated", v, strings.Join(verdictNames, ", "))
		}
	}
	return nil
}

func validVerdict(v string) bool {
	switch v {
	case "delivered", "empty-by-design", "unknown", "lost", "lost:handler", "lost:streaming", "lost:platform":
		return true
	}
	for _, family := range []string{"lost:middleware", "lost:late-write"} {
		if v == family || strings.HasPrefix(v, family+":") && len(v) > len(family)+1 {
			return true
		}
	}
	return false
}

// Match reports whether inv passes the filter.
func (f Filter) Match(inv Invocation) bool {
	if len(f.Verdicts) == 0 {
		return true
	}
	for _, v := range f.Verdicts {
		if strings.HasPrefix(inv.Verdict, v) {
			return true
		}
	}
	return false
}
