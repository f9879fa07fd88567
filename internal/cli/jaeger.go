package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/export"
)

// Jaeger reads invocations from Jaeger's query API (/api/traces), rebuilding each row from
// the span tags bodytrace exports.
type Jaeger struct {
	// URL is the query API's base, e.g. http://127.0.0.1:16686.
	URL string
	// Service is the OTEL_SERVICE_NAME the functions export under; empty means every
	// service Jaeger knows.
	Service string
	// Start is the oldest time to search from (default an hour ago); Limit bounds the
	// traces per service (default 100).
	Start  time.Time
	Limit  int
	Client *http.Client
}

// JaegerTrace is a trace as Jaeger's query API returns it (the parts bodytrace reads).
type JaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []JaegerSpan             `json:"spans"`
	Processes map[string]JaegerProcess `json:"processes"`
}

// JaegerSpan is one span of a JaegerTrace.
type JaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64       `json:"startTime"` // microseconds since the epoch
	Duration  int64       `json:"duration"`  // microseconds
	Tags      []JaegerTag `json:"tags"`
	Logs      []JaegerLog `json:"logs"`
	ProcessID string      `json:"processID"`
}

// JaegerTag is a key and a typed value.
type JaegerTag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// JaegerLog is a span event.
type JaegerLog struct {
	Timestamp int64       `json:"timestamp"`
	Fields    []JaegerTag `json:"fields"`
}

// JaegerProcess is the resource a span came from.
type JaegerProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []JaegerTag `json:"tags"`
}

// List returns the invocations in Jaeger, newest first.
func (j *Jaeger) List(ctx context.Context) ([]Invocation, error) {
	services := []string{j.Service}
	if j.Service == "" {
		var err error
		if services, err = j.services(ctx); err != nil {
			return nil, err
		}
	}
	var out []Invocation
	for _, svc := range services {
		traces, err := j.traces(ctx, svc)
		if err != nil {
			return nil, err
		}
		out = append(out, FromJaeger(traces)...)
	}
	sortNewestFirst(out)
	return out, nil
}

func (j *Jaeger) services(ctx context.Context) ([]string, error) {
	var resp struct {
		Data []string `json:"data"`
	}
	if err := j.get(ctx, "/api/services", &resp); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range resp.Data {
		if !strings.HasPrefix(s, "jaeger") { // Jaeger's own traces
			out = append(out, s)
		}
	}
	return out, nil
}

func (j *Jaeger) traces(ctx context.Context, service string) ([]JaegerTrace, error) {
	end := time.Now()
	start, limit := j.Start, j.Limit
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	if limit <= 0 {
		limit = 100
	}
	q := url.Values{
		"service": {service},
		"limit":   {strconv.Itoa(limit)},
		"start":   {strconv.FormatInt(start.UnixMicro(), 10)},
		"end":     {strconv.FormatInt(end.UnixMicro(), 10)},
	}
	var resp struct {
		Data []JaegerTrace `json:"data"`
	}
	if err := j.get(ctx, "/api/traces?"+q.Encode(), &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

func (j *Jaeger) get(ctx context.Context, path string, out any) error {
	u := strings.TrimRight(j.URL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("query Jaeger: %w", err)
	}
	client := j.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("query Jaeger at %s: %w", j.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("query Jaeger: GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("query Jaeger: decode %s: %w", u, err)
	}
	return nil
}

// Span names and tags bodytrace exports (internal/export/spans.go).
const (
	spanRequest     = "request"
	spanResponse    = "response"
	spanStream      = "stream"
	spanRuntimeDone = "platform.runtimeDone"
	spanReport      = "platform.report"
	spanInit        = "init"
	lostEvent       = "bodytrace.lost"
)

// FromJaeger rebuilds the rows of bodytrace's traces; traces without an invoke span (other
// services' traces) are skipped.
func FromJaeger(traces []JaegerTrace) []Invocation {
	var out []Invocation
	for _, t := range traces {
		if inv, ok := fromTrace(t); ok {
			out = append(out, inv)
		}
	}
	return out
}

func fromTrace(t JaegerTrace) (Invocation, bool) {
	var root *JaegerSpan
	for i, s := range t.Spans {
		// The root is named after the function or its route (older layers: "invoke <function>");
		// only it carries the verdict.
		if tag(s.Tags, "bodytrace.verdict") != nil {
			root = &t.Spans[i]
			break
		}
	}
	if root == nil {
		return Invocation{}, false
	}
	inv := Invocation{Summary: export.Summary{
		Type: summaryType, Version: export.SummaryVersion,
		Time:       time.UnixMicro(root.StartTime).UTC(),
		RequestID:  tagString(root.Tags, "faas.invocation_id"),
		TraceID:    t.TraceID,
		ColdStart:  tagBool(root.Tags, "faas.coldstart"),
		Trigger:    tagString(root.Tags, "bodytrace.trigger"),
		Method:     tagString(root.Tags, "http.request.method"),
		Path:       tagString(root.Tags, "url.path"),
		Status:     int(tagInt(root.Tags, "http.response.status_code", 0)),
		Verdict:    tagString(root.Tags, "bodytrace.verdict"),
		LostAt:     tagString(root.Tags, "bodytrace.lost_at"),
		Reason:     tagString(root.Tags, "bodytrace.reason"),
		DurationMs: float64(root.Duration) / 1000,
		Observed:   []string{},
	}}
	inv.Function = tagString(root.Tags, "faas.name")
	if p, ok := t.Processes[root.ProcessID]; ok && inv.Function == "" {
		inv.Function = p.ServiceName
	}
	if tagBool(root.Tags, "bodytrace.observed.runtime_api") {
		inv.Observed = append(inv.Observed, "runtime-api")
	}
	if tagBool(root.Tags, "bodytrace.observed.telemetry") {
		inv.Observed = append(inv.Observed, "telemetry")
	}

	// Children in time order: step stages come out innermost (earliest) first.
	var kids []JaegerSpan
	for _, s := range t.Spans {
		if s.SpanID != root.SpanID {
			kids = append(kids, s)
		}
	}
	sort.SliceStable(kids, func(a, b int) bool { return kids[a].StartTime < kids[b].StartTime })
	var response, stream *JaegerSpan
	for i, s := range kids {
		switch s.OperationName {
		case spanRequest:
			inv.Bytes.Event = tagPtr(s.Tags, "bodytrace.bytes.event")
		case spanResponse:
			response = &kids[i]
			inv.Mode = tagString(s.Tags, "bodytrace.response.mode")
			inv.Bytes.Response = tagPtr(s.Tags, "bodytrace.bytes.response")
			inv.Bytes.Body = tagPtr(s.Tags, "bodytrace.bytes.body")
		case spanStream:
			stream = &kids[i]
		case spanRuntimeDone:
			inv.Bytes.Produced = tagPtr(s.Tags, "bodytrace.bytes.produced")
		case spanReport, spanInit:
		default:
			// A step stage: handler, middleware:<name>, late-write.
			if n := tagPtr(s.Tags, "bodytrace.bytes"); n != nil {
				inv.Stages = append(inv.Stages, export.Stage{
					Stage: s.OperationName, Bytes: *n,
					Status: int(tagInt(s.Tags, "http.response.status_code", 0)),
					Who:    tagString(s.Tags, "bodytrace.who"),
					Lost:   hasLostEvent(s),
				})
			}
		}
	}
	// The runtime's response closes the stages, as in the summary line.
	last, name := response, spanResponse
	if inv.Mode == "streaming" && stream != nil {
		last, name = stream, spanStream
	}
	// The exporter puts the lost event on the response span also when no span stands for
	// the stage that lost the bytes (lost:handler without step lines): only a stream's
	// loss is the stream's own.
	if last != nil && inv.Bytes.Body != nil {
		lost := hasLostEvent(*last) && (inv.LostAt == "streaming" || inv.LostAt == name)
		inv.Stages = append(inv.Stages, export.Stage{Stage: name, Bytes: *inv.Bytes.Body, Status: inv.Status, Lost: lost})
	}
	return inv, inv.RequestID != ""
}

func hasLostEvent(s JaegerSpan) bool {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if f.Key == "event" && f.Value == lostEvent {
				return true
			}
		}
	}
	return false
}

func tag(tags []JaegerTag, key string) *JaegerTag {
	for i := range tags {
		if tags[i].Key == key {
			return &tags[i]
		}
	}
	return nil
}

func tagString(tags []JaegerTag, key string) string {
	t := tag(tags, key)
	if t == nil {
		return ""
	}
	if s, ok := t.Value.(string); ok {
		return s
	}
	return fmt.Sprint(t.Value)
}

func tagBool(tags []JaegerTag, key string) bool {
	t := tag(tags, key)
	if t == nil {
		return false
	}
	b, _ := t.Value.(bool)
	return b
}

func tagInt(tags []JaegerTag, key string, def int64) int64 {
	if n := tagPtr(tags, key); n != nil {
		return *n
	}
	return def
}

// tagPtr reads an integer tag (JSON numbers, or strings for values Jaeger kept as text).
func tagPtr(tags []JaegerTag, key string) *int64 {
	t := tag(tags, key)
	if t == nil {
		return nil
	}
	switch v := t.Value.(type) {
	case float64:
		n := int64(v)
		return &n
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return &n
		}
	}
	return nil
}

func sortNewestFirst(invs []Invocation) {
	sort.SliceStable(invs, func(a, b int) bool { return invs[a].Time.After(invs[b].Time) })
}
