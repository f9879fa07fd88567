package export

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/otlp"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func i64(n int64) *int64 { return &n }

// newTestExporter returns an exporter writing spans to memory and summaries to a buffer.
func newTestExporter(t *testing.T, remember int) (*Exporter, *tracetest.InMemoryExporter, *bytes.Buffer) {
	t.Helper()
	mem := tracetest.NewInMemoryExporter()
	var buf bytes.Buffer
	e := New(Config{SpanExporter: mem, Summary: &buf, Remember: remember,
		Function: Function{Name: "fn", Version: "$LATEST", Region: "us-east-1", MemoryMB: 128}})
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e, mem, &buf
}

func flushed(t *testing.T, e *Exporter, mem *tracetest.InMemoryExporter) tracetest.SpanStubs {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return mem.GetSpans()
}

func byName(spans tracetest.SpanStubs) map[string]tracetest.SpanStub {
	m := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		m[s.Name] = s
	}
	return m
}

func attr(s tracetest.SpanStub, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func wantAttr(t *testing.T, s tracetest.SpanStub, key string, want any) {
	t.Helper()
	v, ok := attr(s, key)
	if !ok {
		t.Errorf("span %q has no attribute %s", s.Name, key)
		return
	}
	if got := v.AsInterface(); got != want {
		t.Errorf("span %q %s = %v (%T), want %v (%T)", s.Name, key, got, got, want, want)
	}
}

// streamRecord is a cold-start function-URL invocation whose stream carried no body.
func streamRecord(id string, cold bool) invocation.Record {
	r := invocation.Record{
		RequestID: id, Started: t0, ColdStart: cold,
		Observed: invocation.Observed{RuntimeAPI: true, Telemetry: true},
		Request:  &invocation.Request{At: t0.Add(time.Millisecond), EventBytes: 900, Trigger: invocation.TriggerFunctionURL, Method: "GET", Path: "/bytes"},
		Response: &invocation.Response{Mode: invocation.ModeStreaming, Start: t0.Add(2 * time.Millisecond), End: t0.Add(9 * time.Millisecond),
			WireBytes: 78, HTTP: true, StatusCode: 200, BodyBytes: 0, Upstream: 202},
		Platform: invocation.Platform{RuntimeDone: &invocation.RuntimeDone{At: t0.Add(10 * time.Millisecond), Status: "success", DurationMs: 9, ProducedBytes: i64(78)}},
	}
	if cold {
		r.Init = &invocation.Init{Start: t0.Add(-time.Second), End: t0, Type: "on-demand", Status: "success", Source: "telemetry"}
	}
	return r
}

func bufferedRecord(id string, body int64) invocation.Record {
	return invocation.Record{
		RequestID: id, Started: t0,
		Observed: invocation.Observed{RuntimeAPI: true, Telemetry: true},
		Request:  &invocation.Request{At: t0.Add(time.Millisecond), EventBytes: 1200, Trigger: invocation.TriggerAPIGatewayV2, Method: "GET", Path: "/b"},
		Response: &invocation.Response{Mode: invocation.ModeBuffered, Start: t0.Add(2 * time.Millisecond), End: t0.Add(3 * time.Millisecond),
			WireBytes: body + 40, HTTP: true, StatusCode: 200, BodyBytes: body, Upstream: 202},
		Platform: invocation.Platform{
			RuntimeDone: &invocation.RuntimeDone{At: t0.Add(4 * time.Millisecond), Status: "success", DurationMs: 3, ProducedBytes: i64(body + 40)},
			Report:      &invocation.Report{At: t0.Add(5 * time.Millisecond), Status: "success", DurationMs: 4, BilledDurationMs: 5, MemorySizeMB: 128, MaxMemoryUsedMB: 60},
		},
	}
}

func TestExportSpanTree(t *testing.T) {
	tests := []struct {
		name     string
		rec      invocation.Record
		spans    map[string]string // span name -> parent span name ("" for the root)
		verdict  string
		lostAt   string
		lostSpan string // span that carries the bodytrace.lost event
		status   int    // http.response.status_code on the root
		body     int64
	}{
		{
			name: "cold stream lost",
			rec:  streamRecord("req-1", true),
			spans: map[string]string{"fn": "", "init": "fn", "request": "fn", "response": "fn",
				"stream": "response", "platform.runtimeDone": "fn"},
			verdict: "lost:streaming", lostAt: "streaming", lostSpan: "stream", status: 200, body: 0,
		},
		{
			name: "warm buffered delivered",
			rec:  bufferedRecord("req-2", 1500),
			spans: map[string]string{"fn": "", "request": "fn", "response": "fn",
				"platform.runtimeDone": "fn", "platform.report": "fn"},
			verdict: "delivered", status: 200, body: 1500,
		},
		{
			name: "warm buffered empty 200",
			rec:  bufferedRecord("req-3", 0),
			spans: map[string]string{"fn": "", "request": "fn", "response": "fn",
				"platform.runtimeDone": "fn", "platform.report": "fn"},
			verdict: "lost:handler", lostAt: "handler", lostSpan: "response", status: 200, body: 0,
		},
		{
			name: "timeout without response",
			rec: invocation.Record{RequestID: "req-4", Started: t0, Observed: invocation.Observed{RuntimeAPI: true, Telemetry: true},
				Request:  &invocation.Request{At: t0, Trigger: invocation.TriggerDirect},
				Platform: invocation.Platform{RuntimeDone: &invocation.RuntimeDone{At: t0.Add(3 * time.Second), Status: "timeout", DurationMs: 3000}}},
			spans:   map[string]string{"fn": "", "request": "fn", "platform.runtimeDone": "fn"},
			verdict: "lost:platform", lostAt: "platform", lostSpan: "platform.runtimeDone", body: -1,
		},
		{
			name: "cold start flag without init info has no init span",
			rec: func() invocation.Record {
				r := bufferedRecord("req-5", 10)
				r.ColdStart = true
				return r
			}(),
			spans: map[string]string{"fn": "", "request": "fn", "response": "fn",
				"platform.runtimeDone": "fn", "platform.report": "fn"},
			verdict: "delivered", status: 200, body: 10,
		},
		{
			name: "init on a warm record is not exported",
			rec: func() invocation.Record {
				r := bufferedRecord("req-6", 10)
				r.Init = &invocation.Init{Start: t0.Add(-time.Second), End: t0}
				return r
			}(),
			spans: map[string]string{"fn": "", "request": "fn", "response": "fn",
				"platform.runtimeDone": "fn", "platform.report": "fn"},
			verdict: "delivered", status: 200, body: 10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, mem, _ := newTestExporter(t, 0)
			traceID := e.Export(tt.rec)
			spans := flushed(t, e, mem)
			if len(spans) != len(tt.spans) {
				t.Fatalf("got %d spans %v, want %d", len(spans), names(spans), len(tt.spans))
			}
			m := byName(spans)
			root, ok := m["fn"]
			if !ok {
				t.Fatalf("no root span in %v", names(spans))
			}
			if root.SpanContext.TraceID().String() != traceID {
				t.Errorf("Export returned trace id %s, root has %s", traceID, root.SpanContext.TraceID())
			}
			if root.Parent.IsValid() {
				t.Errorf("root has a parent %v, want none", root.Parent)
			}
			if root.SpanKind != trace.SpanKindServer {
				t.Errorf("root kind = %v, want server", root.SpanKind)
			}
			for name, parent := range tt.spans {
				s, ok := m[name]
				if !ok {
					t.Errorf("missing span %q (have %v)", name, names(spans))
					continue
				}
				if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
					t.Errorf("span %q in trace %s, want %s", name, s.SpanContext.TraceID(), root.SpanContext.TraceID())
				}
				if parent == "" {
					continue
				}
				if s.Parent.SpanID() != m[parent].SpanContext.SpanID() {
					t.Errorf("span %q parent = %s, want %q (%s)", name, s.Parent.SpanID(), parent, m[parent].SpanContext.SpanID())
				}
			}

			wantAttr(t, root, "faas.invocation_id", tt.rec.RequestID)
			wantAttr(t, root, "faas.coldstart", tt.rec.ColdStart)
			wantAttr(t, root, "bodytrace.verdict", tt.verdict)
			if tt.status != 0 {
				wantAttr(t, root, "http.response.status_code", int64(tt.status))
			} else if _, ok := attr(root, "http.response.status_code"); ok {
				t.Error("root has http.response.status_code without an HTTP response")
			}
			if tt.body >= 0 {
				wantAttr(t, root, "http.response.body.size", tt.body)
				wantAttr(t, m["response"], "http.response.body.size", tt.body)
			} else if _, ok := attr(root, "http.response.body.size"); ok {
				t.Error("root has http.response.body.size without a known body")
			}

			reason := tt.rec.Judge().Reason
			if tt.lostAt == "" {
				if _, ok := attr(root, "bodytrace.lost_at"); ok {
					t.Error("bodytrace.lost_at set on a body that was not lost")
				}
				if root.Status.Code == codes.Error {
					t.Errorf("root status = %v, want not Error", root.Status)
				}
				for _, s := range spans {
					if len(s.Events) > 0 {
						t.Errorf("span %q has events %v, want none", s.Name, s.Events)
					}
				}
				return
			}
			wantAttr(t, root, "bodytrace.lost_at", tt.lostAt)
			if root.Status.Code != codes.Error || root.Status.Description != reason {
				t.Errorf("root status = %+v, want Error %q", root.Status, reason)
			}
			// Presence on the right span is TestExportLostEvent's; here: nowhere else.
			for _, s := range spans {
				if lostEvent(s) != nil && s.Name != tt.lostSpan {
					t.Errorf("span %q has a bodytrace.lost event, want it only on %q", s.Name, tt.lostSpan)
				}
			}
		})
	}
}

func lostEvent(s tracetest.SpanStub) map[string]string {
	for _, ev := range s.Events {
		if ev.Name == "bodytrace.lost" {
			m := map[string]string{}
			for _, kv := range ev.Attributes {
				m[string(kv.Key)] = kv.Value.String()
			}
			return m
		}
	}
	return nil
}

func TestExportLostEvent(t *testing.T) {
	tests := []struct {
		name     string
		rec      invocation.Record
		lostAt   string
		lostSpan string
	}{
		{
			name: "report timeout only (Managed Instances): on the root",
			rec: invocation.Record{RequestID: "r", Started: t0, Observed: invocation.Observed{RuntimeAPI: true, Telemetry: true},
				Platform: invocation.Platform{Report: &invocation.Report{At: t0.Add(time.Second), Status: "timeout", DurationMs: 1000}}},
			lostAt: "platform", lostSpan: "fn",
		},
		{name: "empty stream: on stream", rec: streamRecord("r", false), lostAt: "streaming", lostSpan: "stream"},
		{name: "empty 200: on response", rec: bufferedRecord("r", 0), lostAt: "handler", lostSpan: "response"},
		{
			name: "timeout: on platform.runtimeDone",
			rec: invocation.Record{RequestID: "r", Started: t0, Observed: invocation.Observed{RuntimeAPI: true, Telemetry: true},
				Platform: invocation.Platform{RuntimeDone: &invocation.RuntimeDone{At: t0.Add(time.Second), Status: "timeout", DurationMs: 1000}}},
			lostAt: "platform", lostSpan: "platform.runtimeDone",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, mem, _ := newTestExporter(t, 0)
			e.Export(tt.rec)
			spans := byName(flushed(t, e, mem))
			s, ok := spans[tt.lostSpan]
			if !ok {
				t.Fatalf("no span %q", tt.lostSpan)
			}
			ev := lostEvent(s)
			if ev == nil {
				t.Fatalf("span %q has no bodytrace.lost event", tt.lostSpan)
			}
			if ev["bodytrace.lost_at"] != tt.lostAt || ev["bodytrace.reason"] != tt.rec.Judge().Reason {
				t.Errorf("lost event attributes = %v, want lost_at %q and the verdict's reason", ev, tt.lostAt)
			}
		})
	}
}

func names(spans tracetest.SpanStubs) []string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name)
	}
	return n
}

func TestExportAttributes(t *testing.T) {
	e, mem, _ := newTestExporter(t, 0)
	r := streamRecord("req-a", true)
	r.Response.BodyBytes = 50
	r.Response.Chunks = 3
	r.Response.FirstByte = r.Response.Start.Add(time.Millisecond)
	e.Export(r)
	m := byName(flushed(t, e, mem))
	wantAttr(t, m["init"], "bodytrace.init.type", "on-demand")
	wantAttr(t, m["request"], "bodytrace.bytes.event", int64(900))
	wantAttr(t, m["request"], "http.request.body.size", int64(900))
	wantAttr(t, m["response"], "bodytrace.response.mode", "streaming")
	wantAttr(t, m["response"], "bodytrace.bytes.response", int64(78))
	wantAttr(t, m["response"], "bodytrace.bytes.body", int64(50))
	wantAttr(t, m["stream"], "bodytrace.stream.chunks", int64(3))
	wantAttr(t, m["stream"], "bodytrace.stream.ttfb_us", int64(1000))
	wantAttr(t, m["platform.runtimeDone"], "bodytrace.bytes.produced", int64(78))
	wantAttr(t, m["fn"], "url.path", "/bytes")
	wantAttr(t, m["fn"], "http.request.method", "GET")
	wantAttr(t, m["fn"], "faas.trigger", "http")
	if got := m["stream"].StartTime; !got.Equal(r.Response.Start) {
		t.Errorf("stream starts %v, want %v", got, r.Response.Start)
	}
	if got := m["fn"].EndTime; !got.Equal(r.Platform.RuntimeDone.At) {
		t.Errorf("root ends %v, want the last observed moment %v", got, r.Platform.RuntimeDone.At)
	}
	res := m["fn"].Resource
	if res == nil {
		t.Fatal("no resource")
	}
	found := false
	for _, kv := range res.Attributes() {
		if kv.Key == "faas.name" && kv.Value.AsString() == "fn" {
			found = true
		}
	}
	if !found {
		t.Errorf("resource %v lacks faas.name=fn", res.Attributes())
	}
}

func TestExportTraceContinuation(t *testing.T) {
	const (
		w3cTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
		w3cParent = "00f067aa0ba902b7"
		xrayTrace = "5759e988bd862e3fe1be46a994272793"
		xrayHdr   = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	)
	tests := []struct {
		name        string
		traceParent string
		xray        string // Request.XRayTraceID
		invokeXRay  string // Invoke.XRayTraceID
		wantTrace   string // "" means a new trace without a parent
		wantParent  string
	}{
		{name: "W3C traceparent", traceParent: "00-" + w3cTrace + "-" + w3cParent + "-01", wantTrace: w3cTrace, wantParent: w3cParent},
		{name: "W3C wins over X-Ray", traceParent: "00-" + w3cTrace + "-" + w3cParent + "-01", xray: xrayHdr, wantTrace: w3cTrace, wantParent: w3cParent},
		{name: "X-Ray from the Runtime API", xray: xrayHdr, wantTrace: xrayTrace, wantParent: "53995c3f42cd8ad8"},
		{name: "X-Ray from INVOKE", invokeXRay: xrayHdr, wantTrace: xrayTrace, wantParent: "53995c3f42cd8ad8"},
		{name: "malformed traceparent falls back to X-Ray", traceParent: "00-xyz-" + w3cParent + "-01", xray: xrayHdr, wantTrace: xrayTrace, wantParent: "53995c3f42cd8ad8"},
		{name: "malformed traceparent", traceParent: "00-" + w3cTrace + "-" + w3cParent},
		{name: "all-zero trace id", traceParent: "00-00000000000000000000000000000000-" + w3cParent + "-01"},
		{name: "version ff", traceParent: "ff-" + w3cTrace + "-" + w3cParent + "-01"},
		{name: "malformed X-Ray root", xray: "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
		{name: "X-Ray short root", xray: "Root=1-5759e988-bd86;Sampled=1"},
		{name: "garbage", traceParent: "hello", xray: "world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, mem, _ := newTestExporter(t, 0)
			r := bufferedRecord("req", 100)
			r.Request.TraceParent, r.Request.XRayTraceID = tt.traceParent, tt.xray
			if tt.invokeXRay != "" {
				r.Invoke = &invocation.Invoke{At: t0, XRayTraceID: tt.invokeXRay}
			}
			got := e.Export(r)
			root := byName(flushed(t, e, mem))["fn"]
			if got != root.SpanContext.TraceID().String() {
				t.Errorf("Export returned %s, root trace %s", got, root.SpanContext.TraceID())
			}
			if tt.wantTrace == "" {
				if root.Parent.IsValid() {
					t.Errorf("root parent = %v, want a new trace", root.Parent)
				}
				for _, id := range []string{w3cTrace, xrayTrace} {
					if got == id {
						t.Errorf("trace id %s taken from a malformed header", got)
					}
				}
				return
			}
			if got != tt.wantTrace {
				t.Errorf("trace id = %s, want %s", got, tt.wantTrace)
			}
			if p := root.Parent.SpanID().String(); p != tt.wantParent || !root.Parent.IsRemote() {
				t.Errorf("root parent = %s (remote %v), want remote %s", p, root.Parent.IsRemote(), tt.wantParent)
			}
		})
	}
}

// Config.Sampler's doc says: "nil keeps every trace (a parent's 'not sampled' flag must not
// hide a lost body)". On Lambda without active tracing, Lambda-Runtime-Trace-Id carries Sampled=0.
func TestExportUnsampledParentStillExported(t *testing.T) {
	tests := []struct{ name, traceParent, xray string }{
		{name: "W3C flags 00", traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
		{name: "X-Ray Sampled=0", xray: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"},
	}
	t.Setenv("OTEL_TRACES_SAMPLER", "") // the SDK default, whatever the shell says
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, mem, _ := newTestExporter(t, 0)
			r := bufferedRecord("req", 0) // lost:handler
			r.Request.TraceParent, r.Request.XRayTraceID = tt.traceParent, tt.xray
			e.Export(r)
			spans := flushed(t, e, mem)
			if len(spans) == 0 {
				t.Fatal("a caller's unsampled trace header dropped the whole trace, lost body included")
			}
			if byName(spans)["fn"].Status.Code != codes.Error {
				t.Error("lost body trace exported without Error status")
			}
		})
	}
}

func TestLate(t *testing.T) {
	e, mem, _ := newTestExporter(t, 2)
	first := bufferedRecord("req-1", 10)
	first.Platform.Report = nil
	traceID := e.Export(first)
	e.Export(bufferedRecord("req-2", 10))
	if n := len(byName(flushed(t, e, mem))); n == 0 {
		t.Fatal("nothing exported")
	}
	mem.Reset()

	rp := invocation.Report{At: t0.Add(time.Second), Status: "success", DurationMs: 20, BilledDurationMs: 21, MemorySizeMB: 128, MaxMemoryUsedMB: 70}
	if !e.Late("req-1", invocation.Platform{Report: &rp}) {
		t.Fatal("Late(req-1) = false for a remembered invocation")
	}
	if e.Late("unknown", invocation.Platform{Report: &rp}) {
		t.Error("Late(unknown) = true")
	}
	spans := flushed(t, e, mem)
	if len(spans) != 1 || spans[0].Name != "platform.report" {
		t.Fatalf("Late exported %v, want one platform.report", names(spans))
	}
	s := spans[0]
	if s.SpanContext.TraceID().String() != traceID {
		t.Errorf("late report in trace %s, want %s", s.SpanContext.TraceID(), traceID)
	}
	if !s.Parent.IsValid() {
		t.Error("late report has no parent")
	}
	wantAttr(t, s, "bodytrace.platform.max_memory_used_mb", int64(70))
	wantAttr(t, s, "bodytrace.platform.billed_duration_ms", float64(21))

	// Remember is 2: a third export forgets req-1.
	e.Export(bufferedRecord("req-3", 10))
	if e.Late("req-1", invocation.Platform{Report: &rp}) {
		t.Error("Late(req-1) = true after it should have been forgotten")
	}
	if !e.Late("req-3", invocation.Platform{Report: &rp}) {
		t.Error("Late(req-3) = false")
	}
}

func TestSummaryLine(t *testing.T) {
	e, _, buf := newTestExporter(t, 0)
	r := bufferedRecord("req-s", 0)
	r.ColdStart = true
	traceID := e.Export(r)
	e.Export(bufferedRecord("req-t", 1500))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("summary has %d lines, want 2: %q", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("summary line is not JSON: %v: %s", err, lines[0])
	}
	want := map[string]any{
		"type": "bodytrace.invocation", "v": float64(1), "requestId": "req-s", "traceId": traceID,
		"verdict": "lost:handler", "lostAt": "handler", "status": float64(200), "mode": "buffered",
		"trigger": "api-gateway-v2", "method": "GET", "path": "/b", "coldStart": true,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("summary %s = %v, want %v", k, got[k], v)
		}
	}
	b, _ := got["bytes"].(map[string]any)
	wantBytes := map[string]any{"event": float64(1200), "response": float64(40), "body": float64(0), "produced": float64(40)}
	for k, v := range wantBytes {
		if b[k] != v {
			t.Errorf("summary bytes.%s = %v, want %v", k, b[k], v)
		}
	}
	if obs, _ := got["observed"].([]any); len(obs) != 2 {
		t.Errorf("observed = %v, want runtime-api and telemetry", got["observed"])
	}
	if got["durationMs"] != float64(4) {
		t.Errorf("durationMs = %v, want 4", got["durationMs"])
	}
	if !strings.Contains(lines[1], `"verdict":"delivered"`) {
		t.Errorf("second line %s lacks the delivered verdict", lines[1])
	}
}

func TestSummaryOnly(t *testing.T) {
	var buf bytes.Buffer
	e := New(Config{Summary: &buf})
	r := invocation.Record{RequestID: "req-x", Started: t0, Observed: invocation.Observed{Telemetry: true}}
	if id := e.Export(r); id != "" {
		t.Errorf("Export without a tracer returned trace id %q", id)
	}
	if e.Late("req-x", invocation.Platform{Report: &invocation.Report{}}) {
		t.Error("Late without a tracer = true")
	}
	var got Summary
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.TraceID != "" || got.Verdict != "unknown" || got.Bytes.Event != nil || got.Bytes.Body != nil || strings.Contains(buf.String(), "traceId") {
		t.Errorf("summary = %s", buf.String())
	}
	if err := e.Flush(context.Background()); err != nil {
		t.Errorf("Flush without a tracer: %v", err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown without a tracer: %v", err)
	}
}

// BenchmarkExport is the work between a finished record and the flush: the verdict, the
// spans handed to the SDK, and the summary line; then the flush's encoding, with a span
// exporter that sends nothing.
func BenchmarkExport(b *testing.B) {
	for _, tc := range []struct {
		name    string
		summary bool
	}{{"spans", false}, {"spans+summary", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := Config{SpanExporter: discard{}}
			if tc.summary {
				cfg.Summary = io.Discard
			}
			e := New(cfg)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e.Export(bufferedRecord(strconv.Itoa(i), 1024))
				if err := e.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// discard encodes spans as OTLP and drops them.
type discard struct{}

func (discard) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	_ = otlp.AppendTraces(nil, spans)
	return nil
}
func (discard) Shutdown(context.Context) error { return nil }

// rejecting stands in for a collector's partial success: it keeps all but two spans.
type rejecting struct{}

func (rejecting) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	return &otlp.RejectedError{Rejected: 2, Sent: len(spans)}
}
func (rejecting) Shutdown(context.Context) error { return nil }

// TestDroppedCountsRejectedSpans: a partial success counts the spans the collector
// rejected as dropped, not every span of the request.
func TestDroppedCountsRejectedSpans(t *testing.T) {
	e := New(Config{SpanExporter: rejecting{}})
	e.Export(bufferedRecord("r1", 1024))
	if err := e.Flush(context.Background()); err == nil {
		t.Fatal("a partial success did not fail the flush")
	}
	if got := e.Dropped(); got != 2 {
		t.Fatalf("Dropped() = %d after a request with 2 spans rejected", got)
	}
}
