package otlp

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// testSpans covers every part of a span the encoder writes: all attribute types, events,
// links, status, remote and local parents, two resources and two scopes.
func testSpans() []sdktrace.ReadOnlySpan {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
	tid := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ts, _ := trace.ParseTraceState("vendor=value,other=x")
	root := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, TraceState: ts})
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{9}, TraceFlags: trace.FlagsSampled, Remote: true})
	resA := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.40.0", attribute.String("cloud.provider", "aws"), attribute.Int("faas.max_memory", 128<<20))
	resB := resource.NewSchemaless(attribute.String("service.name", "other"))
	scope := instrumentation.Scope{Name: "github.com/bodytrace/bodytrace", Version: "1.0", SchemaURL: "https://example.com/s",
		Attributes: attribute.NewSet(attribute.Bool("scoped", true))}
	every := []attribute.KeyValue{
		attribute.String("s", "text"), attribute.String("empty", ""), attribute.Bool("t", true), attribute.Bool("f", false),
		attribute.Int64("i", -42), attribute.Int64("zero", 0), attribute.Float64("d", 3.25),
		attribute.StringSlice("ss", []string{"a", "", "c"}), attribute.BoolSlice("bs", []bool{true, false}),
		attribute.Int64Slice("is", []int64{1, -1, 1 << 40}), attribute.Float64Slice("ds", []float64{0.5, -2}),
		attribute.String("long", strings.Repeat("x", 300)),
	}
	stubs := tracetest.SpanStubs{
		{Name: "invoke fn", SpanContext: root, Parent: remote, SpanKind: trace.SpanKindServer, StartTime: t0, EndTime: t0.Add(3 * time.Millisecond),
			Attributes: every, Status: sdktrace.Status{Code: codes.Error, Description: "lost:handler"},
			Events:            []sdktrace.Event{{Name: "body lost", Time: t0.Add(time.Millisecond), Attributes: []attribute.KeyValue{attribute.String("stage", "handler")}, DroppedAttributeCount: 2}},
			Links:             []sdktrace.Link{{SpanContext: remote, Attributes: []attribute.KeyValue{attribute.Int("n", 1)}, DroppedAttributeCount: 1}},
			DroppedAttributes: 3, DroppedEvents: 4, DroppedLinks: 5,
			Resource: resA, InstrumentationScope: scope},
		{Name: "response", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{2}}), Parent: root,
			SpanKind: trace.SpanKindInternal, StartTime: t0, EndTime: t0.Add(time.Millisecond), Status: sdktrace.Status{Code: codes.Ok},
			Resource: resA, InstrumentationScope: scope},
		{Name: "other scope", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{3}}), Parent: root,
			SpanKind: trace.SpanKindClient, StartTime: t0, EndTime: t0, Resource: resA, InstrumentationScope: instrumentation.Scope{Name: "x"}},
		{Name: "other resource", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{4}}),
			SpanKind: trace.SpanKindConsumer, StartTime: t0, EndTime: t0.Add(time.Second), Resource: resB, InstrumentationScope: scope},
	}
	return stubs.Snapshots()
}

// sdkEncoding is what the OpenTelemetry SDK's own OTLP/HTTP exporter sends for spans.
func sdkEncoding(t *testing.T, spans []sdktrace.ReadOnlySpan) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(<-got, req); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestTracesMatchTheSDK: our encoding decodes, with the generated OTLP packages, to the
// same message as the SDK exporter's for the same spans.
func TestTracesMatchTheSDK(t *testing.T) {
	spans := testSpans()
	ours := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(AppendTraces(nil, spans), ours); err != nil {
		t.Fatalf("our encoding does not decode: %v", err)
	}
	want := sdkEncoding(t, spans)
	// The SDK groups resources through a map: their order is not part of the protocol.
	for _, req := range []*coltracepb.ExportTraceServiceRequest{ours, want} {
		slices.SortFunc(req.ResourceSpans, func(a, b *tracepb.ResourceSpans) int {
			return bytes.Compare(a.ScopeSpans[0].Spans[0].SpanId, b.ScopeSpans[0].Spans[0].SpanId)
		})
	}
	if !proto.Equal(ours, want) {
		t.Fatalf("encodings differ\nours: %v\nsdk:  %v", ours, want)
	}
	if n := len(ours.ResourceSpans); n != 2 {
		t.Fatalf("%d resource groups, want 2", n)
	}
}

// TestAppendMessageLongBodies: embedded messages longer than 127 and 16383 bytes get their
// length in two and three varint bytes, with the body intact.
func TestAppendMessageLongBodies(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 21} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i)
		}
		b := appendMessage([]byte{0xff}, 3, func(b []byte) []byte { return append(b, body...) })
		var got []byte
		fields(b[1:], func(field, wire int, _ uint64, p []byte) {
			if field == 3 && wire == wireBytes {
				got = p
			}
		})
		if len(got) != n || string(got) != string(body) || b[0] != 0xff {
			t.Fatalf("body of %d bytes came back as %d bytes (prefix %x)", n, len(got), b[0])
		}
	}
}

func BenchmarkAppendTraces(b *testing.B) {
	spans := testSpans()
	buf := AppendTraces(nil, spans)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTraces(buf[:0], spans)
	}
}
