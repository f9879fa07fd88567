package localrun

import (
	"fmt"
	"strconv"
	"strings"
)

// Trace is a trace as Jaeger's query API returns it.
type Trace struct {
	TraceID string `json:"traceID"`
	Spans   []Span `json:"spans"`
}

// Span is one span of a Trace.
type Span struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64 `json:"startTime"`
	Duration  int64 `json:"duration"`
	Tags      []struct {
		Key   string `json:"key"`
		Type  string `json:"type"`
		Value any    `json:"value"`
	} `json:"tags"`
	Logs []struct {
		Fields []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"fields"`
	} `json:"logs"`
}

// Tag returns a span tag's value as a string ("" when absent).
func (s Span) Tag(key string) string {
	for _, t := range s.Tags {
		if t.Key != key {
			continue
		}
		if f, ok := t.Value.(float64); ok && f == float64(int64(f)) {
			return strconv.FormatInt(int64(f), 10)
		}
		return fmt.Sprint(t.Value)
	}
	return ""
}

// Parent returns the span id of the span's parent in the same trace ("" for a root).
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" && r.TraceID == s.TraceID {
			return r.SpanID
		}
	}
	return ""
}

// Find returns the trace's spans named name. "invoke" finds the invocation's root span,
// which is named after the function or its HTTP route (the FaaS conventions), by the
// verdict only it carries.
func (t Trace) Find(name string) []Span {
	var out []Span
	for _, s := range t.Spans {
		if s.OperationName == name || strings.HasPrefix(s.OperationName, name+" ") ||
			name == "invoke" && s.Tag("bodytrace.verdict") != "" {
			out = append(out, s)
		}
	}
	return out
}
