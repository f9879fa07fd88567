package export

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/bodytrace/bodytrace/internal/capture"
	"github.com/bodytrace/bodytrace/internal/invocation"
)

// Attribute keys in the bodytrace namespace, for what semantic conventions do not name.
const (
	keyVerdict = attribute.Key("bodytrace.verdict")
	keyLostAt  = attribute.Key("bodytrace.lost_at")
	keyReason  = attribute.Key("bodytrace.reason")
	keyPrefix  = "bodytrace."
)

// spanNames are the names of the spans of one invocation's trace.
const (
	spanInvoke      = "invoke"
	spanInit        = "init"
	spanRequest     = "request"
	spanResponse    = "response"
	spanStream      = "stream"
	spanRuntimeDone = "platform.runtimeDone"
	spanReport      = "platform.report"
)

// parentContext continues the caller's trace with the propagators OTEL_PROPAGATORS
// names (Propagators): W3C traceparent from the event's headers, then the X-Ray trace id
// Lambda passes with the invocation.
func parentContext(r *invocation.Record, p Propagators) context.Context {
	ctx := context.Background()
	var candidates []func() (trace.SpanContext, bool)
	if r.Request != nil && p.traceContext() {
		candidates = append(candidates, func() (trace.SpanContext, bool) { return parseTraceParent(r.Request.TraceParent) })
	}
	if r.Request != nil && p.xray() {
		candidates = append(candidates, func() (trace.SpanContext, bool) { return parseXRay(r.Request.XRayTraceID) })
	}
	if r.Invoke != nil && p.xray() {
		candidates = append(candidates, func() (trace.SpanContext, bool) { return parseXRay(r.Invoke.XRayTraceID) })
	}
	for _, c := range candidates {
		if sc, ok := c(); ok {
			return trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	return ctx
}

// parseTraceParent reads a W3C traceparent header: version-traceid-spanid-flags.
func parseTraceParent(h string) (trace.SpanContext, bool) {
	parts := strings.Split(strings.TrimSpace(h), "-")
	if len(parts) != 4 || len(parts[0]) != 2 || parts[0] == "ff" {
		return trace.SpanContext{}, false
	}
	tid, err1 := trace.TraceIDFromHex(parts[1])
	sid, err2 := trace.SpanIDFromHex(parts[2])
	if err1 != nil || err2 != nil || len(parts[3]) != 2 {
		return trace.SpanContext{}, false
	}
	flags := trace.TraceFlags(0)
	if parts[3][1]&1 == 1 { // the last hex digit's low bit is "sampled"
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true})
	return sc, sc.IsValid()
}

// parseXRay reads an X-Ray trace header: Root=1-<8 hex time>-<24 hex>;Parent=<16 hex>;Sampled=0|1.
func parseXRay(h string) (trace.SpanContext, bool) {
	var root, parent, sampled string
	for _, field := range strings.Split(h, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch k {
		case "Root":
			root = v
		case "Parent":
			parent = v
		case "Sampled":
			sampled = v
		}
	}
	segs := strings.Split(root, "-")
	if len(segs) != 3 || segs[0] != "1" {
		return trace.SpanContext{}, false
	}
	tid, err := trace.TraceIDFromHex(segs[1] + segs[2])
	if err != nil {
		return trace.SpanContext{}, false
	}
	cfg := trace.SpanContextConfig{TraceID: tid, Remote: true}
	if sampled == "1" {
		cfg.TraceFlags = trace.FlagsSampled
	}
	if sid, err := trace.SpanIDFromHex(parent); err == nil {
		cfg.SpanID = sid
	} else {
		// X-Ray without a parent segment: keep the trace id, with a span id from the root.
		copy(cfg.SpanID[:], tid[8:])
	}
	sc := trace.NewSpanContext(cfg)
	return sc, sc.IsValid()
}

// emit records one invocation as a trace and returns the root span's context.
func emit(tracer trace.Tracer, r *invocation.Record, v invocation.Verdict, fn Function, p Propagators) trace.SpanContext {
	start, end := bounds(r)
	attrs := []attribute.KeyValue{
		semconv.FaaSInvocationID(r.RequestID),
		semconv.FaaSColdstart(r.ColdStart),
		keyVerdict.String(v.Verdict),
		attribute.Bool(keyPrefix+"observed.runtime_api", r.Observed.RuntimeAPI),
		attribute.Bool(keyPrefix+"observed.telemetry", r.Observed.Telemetry),
	}
	if fn.Name != "" {
		attrs = append(attrs, semconv.FaaSName(fn.Name))
	}
	attrs = append(attrs, arnAttrs(r, fn)...)
	if v.LostAt != "" {
		attrs = append(attrs, keyLostAt.String(v.LostAt))
	}
	if v.Reason != "" {
		attrs = append(attrs, keyReason.String(v.Reason))
	}
	if q := r.Request; q != nil {
		attrs = append(attrs, trigger(q.Trigger), attribute.String(keyPrefix+"trigger", string(q.Trigger)))
		if q.Method != "" {
			attrs = append(attrs, semconv.HTTPRequestMethodKey.String(q.Method))
		}
		if q.Path != "" {
			attrs = append(attrs, semconv.URLPath(q.Path))
		}
		if q.Route != "" {
			attrs = append(attrs, semconv.HTTPRoute(q.Route))
		}
	}
	if p := r.Response; p != nil {
		if p.HTTP {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(p.StatusCode))
		}
		if p.BodyBytes >= 0 {
			attrs = append(attrs, semconv.HTTPResponseBodySize(int(p.BodyBytes)))
		}
	}
	ctx, root := tracer.Start(parentContext(r, p), rootName(r, fn),
		trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	if v.Lost() {
		root.SetStatus(codes.Error, v.Reason)
	}
	// mark adds the "bytes lost here" event to the span where they disappeared; it must run
	// before that span ends, since ended spans take no events.
	target := lostSpanName(r, v)
	mark := func(name string, s trace.Span) {
		if name == target {
			s.AddEvent("bodytrace.lost", trace.WithTimestamp(end), trace.WithAttributes(keyLostAt.String(v.LostAt), keyReason.String(v.Reason)))
		}
	}

	if in := r.Init; r.ColdStart && in != nil {
		child(ctx, tracer, spanInit, in.Start, in.End, nil,
			attribute.String(keyPrefix+"init.type", in.Type),
			attribute.String(keyPrefix+"init.status", in.Status),
			attribute.String(keyPrefix+"init.source", in.Source))
	}
	if q := r.Request; q != nil {
		attrs := []attribute.KeyValue{
			attribute.String(keyPrefix+"trigger", string(q.Trigger)),
			semconv.HTTPRequestBodySize(int(q.EventBytes)),
			attribute.Int64(keyPrefix+"bytes.event", q.EventBytes),
			attribute.Bool(keyPrefix+"request.if_none_match", q.IfNoneMatch),
			attribute.Bool(keyPrefix+"request.if_modified_since", q.IfModifiedSince),
		}
		for k, v := range map[string]string{"edge.request_id": q.EdgeRequestID, "edge.via": q.Via, "request.cache_control": q.CacheControl} {
			if v != "" {
				attrs = append(attrs, attribute.String(keyPrefix+k, v))
			}
		}
		child(ctx, tracer, spanRequest, start, q.At, nil, append(attrs, sampleAttrs(q.Sample)...)...)
	}
	// One span per stage the function reported, innermost first, with its bytes.
	for _, st := range r.Stages() {
		if !isStepStage(st.Name) {
			continue // the response, stream and platform spans below carry these
		}
		at := stepTime(r)
		attrs := []attribute.KeyValue{attribute.Int64(keyPrefix+"bytes", st.Bytes)}
		if st.Status != 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(st.Status))
		}
		if st.Kind != "" {
			attrs = append(attrs, attribute.String(keyPrefix+"kind", st.Kind))
		}
		if st.Who != "" {
			attrs = append(attrs, attribute.String(keyPrefix+"who", st.Who))
		}
		if st.Name == invocation.StageLateWrite {
			attrs = append(attrs, attribute.Float64(keyPrefix+"after_ms", st.After))
		}
		child(ctx, tracer, st.Name, at, at, mark, attrs...)
	}
	if p := r.Response; p != nil {
		rctx, rs := tracer.Start(ctx, spanResponse, trace.WithTimestamp(p.Start), trace.WithAttributes(responseAttrs(p)...))
		if p.Mode == invocation.ModeStreaming {
			first := p.FirstByte
			if first.IsZero() {
				first = p.End
			}
			child(rctx, tracer, spanStream, p.Start, p.End, mark,
				attribute.Int64(keyPrefix+"stream.ttfb_us", first.Sub(p.Start).Microseconds()),
				attribute.Int(keyPrefix+"stream.chunks", p.Chunks),
				attribute.Int64(keyPrefix+"bytes.stream", p.WireBytes),
				attribute.String(keyPrefix+"stream.error_type", p.ErrorType))
		}
		mark(spanResponse, rs)
		rs.End(trace.WithTimestamp(p.End))
	}
	if d := r.Platform.RuntimeDone; d != nil {
		runtimeDone(ctx, tracer, d, mark)
	}
	if rp := r.Platform.Report; rp != nil {
		report(ctx, tracer, rp)
	}
	mark(spanInvoke, root)
	root.End(trace.WithTimestamp(end))
	return root.SpanContext()
}

// lostSpanName names the span where a lost body's bytes disappeared: the stream or the
// response for what the runtime sent, runtimeDone for the platform, else the root.
func lostSpanName(r *invocation.Record, v invocation.Verdict) string {
	for _, st := range r.Stages() {
		if isStepStage(st.Name) && (st.Name == v.LostAt || st.Name == invocation.StageLateWrite && strings.HasPrefix(v.LostAt, st.Name)) {
			return st.Name
		}
	}
	switch {
	case !v.Lost():
		return ""
	case v.LostAt == "streaming" && r.Response != nil && r.Response.Mode == invocation.ModeStreaming:
		return spanStream
	case v.LostAt == "platform" && r.Platform.RuntimeDone != nil:
		return spanRuntimeDone
	case v.LostAt != "platform" && r.Response != nil:
		return spanResponse
	}
	return spanInvoke
}

// runtimeDone records platform.runtimeDone as a child of the invocation; in Lambda Managed
// Instances and under load it may arrive after the rest of the trace was exported.
func runtimeDone(ctx context.Context, tracer trace.Tracer, d *invocation.RuntimeDone, mark func(string, trace.Span)) {
	attrs := []attribute.KeyValue{
		attribute.String(keyPrefix+"platform.status", d.Status),
		attribute.String(keyPrefix+"platform.error_type", d.ErrorType),
		attribute.Float64(keyPrefix+"platform.duration_ms", d.DurationMs),
	}
	if d.ProducedBytes != nil {
		attrs = append(attrs, attribute.Int64(keyPrefix+"bytes.produced", *d.ProducedBytes))
	}
	if d.ResponseLatencyMs != nil {
		attrs = append(attrs, attribute.Float64(keyPrefix+"platform.response_latency_ms", *d.ResponseLatencyMs))
	}
	if d.ResponseDurationMs != nil {
		attrs = append(attrs, attribute.Float64(keyPrefix+"platform.response_duration_ms", *d.ResponseDurationMs))
	}
	child(ctx, tracer, spanRuntimeDone, d.At.Add(-ms(d.DurationMs)), d.At, mark, attrs...)
}

// report records platform.report as a child of the invocation; it may arrive after the
// rest of the trace was exported (standard Lambda sends it after the extensions' /next).
func report(ctx context.Context, tracer trace.Tracer, rp *invocation.Report) {
	attrs := []attribute.KeyValue{
		attribute.String(keyPrefix+"platform.status", rp.Status),
		attribute.Float64(keyPrefix+"platform.duration_ms", rp.DurationMs),
		attribute.Float64(keyPrefix+"platform.billed_duration_ms", rp.BilledDurationMs),
		attribute.Int64(keyPrefix+"platform.memory_size_mb", rp.MemorySizeMB),
		attribute.Int64(keyPrefix+"platform.max_memory_used_mb", rp.MaxMemoryUsedMB),
	}
	if rp.ErrorType != "" {
		attrs = append(attrs, attribute.String(keyPrefix+"platform.error_type", rp.ErrorType))
	}
	if rp.InitDurationMs != nil {
		attrs = append(attrs, attribute.Float64(keyPrefix+"platform.init_duration_ms", *rp.InitDurationMs))
	}
	child(ctx, tracer, spanReport, rp.At.Add(-ms(rp.DurationMs)), rp.At, nil, attrs...)
}

// sampleAttrs records a captured request sample, already redacted and capped by capture.
func sampleAttrs(s *capture.Sample) []attribute.KeyValue {
	if s == nil {
		return nil
	}
	var attrs []attribute.KeyValue
	for k, v := range s.Headers {
		attrs = append(attrs, semconv.HTTPRequestHeader(k, v))
	}
	if q := s.QueryString(); q != "" {
		attrs = append(attrs, semconv.URLQuery(q))
	}
	if s.Body != "" {
		attrs = append(attrs, attribute.String(keyPrefix+"request.body", s.Body))
	}
	if s.Truncated {
		attrs = append(attrs, attribute.Bool(keyPrefix+"request.sample_truncated", true))
	}
	return attrs
}

func responseAttrs(p *invocation.Response) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String(keyPrefix+"response.mode", string(p.Mode)),
		attribute.Int64(keyPrefix+"bytes.response", p.WireBytes),
		attribute.Int(keyPrefix+"runtime_api.status", p.Upstream),
	}
	if p.BodyBytes >= 0 {
		attrs = append(attrs, attribute.Int64(keyPrefix+"bytes.body", p.BodyBytes), semconv.HTTPResponseBodySize(int(p.BodyBytes)))
	}
	if p.HTTP {
		attrs = append(attrs,
			semconv.HTTPResponseStatusCode(p.StatusCode),
			attribute.Bool(keyPrefix+"response.is_base64_encoded", p.IsBase64Encoded))
		for k, v := range map[string]string{"content_length": p.ContentLength, "content_encoding": p.ContentEncoding, "content_type": p.ContentType} {
			if v != "" {
				attrs = append(attrs, attribute.String(keyPrefix+"response.header."+k, v))
			}
		}
	}
	if p.ErrorType != "" {
		attrs = append(attrs, attribute.String(keyPrefix+"response.error_type", p.ErrorType))
	}
	if p.Cut != "" {
		attrs = append(attrs, attribute.String(keyPrefix+"response.cut", p.Cut))
	}
	if p.Sample != "" {
		attrs = append(attrs, attribute.String(keyPrefix+"response.body", p.Sample))
	}
	return attrs
}

// child records a finished span; mark, when not nil, sees it before it ends.
func child(ctx context.Context, tracer trace.Tracer, name string, start, end time.Time, mark func(string, trace.Span), attrs ...attribute.KeyValue) {
	if end.Before(start) {
		end = start
	}
	_, s := tracer.Start(ctx, name, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	if mark != nil {
		mark(name, s)
	}
	s.End(trace.WithTimestamp(end))
}

func trigger(t invocation.Trigger) attribute.KeyValue {
	if t.HTTP() {
		return semconv.FaaSTriggerHTTP
	}
	return semconv.FaaSTriggerOther
}

// bounds returns the invocation's first and last observed moments.
func bounds(r *invocation.Record) (time.Time, time.Time) {
	start, end := r.Started, r.Started
	see := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if t.Before(start) || start.IsZero() {
			start = t
		}
		if t.After(end) {
			end = t
		}
	}
	if r.Invoke != nil {
		see(r.Invoke.At)
	}
	if r.Request != nil {
		see(r.Request.At)
	}
	if p := r.Response; p != nil {
		see(p.Start)
		see(p.End)
	}
	if s := r.Platform.Start; s != nil {
		see(*s)
	}
	if d := r.Platform.RuntimeDone; d != nil {
		see(d.At)
	}
	return start, end
}

// isStepStage reports whether a stage came from the function's step lines rather than
// from the proxy or the platform, which have spans of their own.
func isStepStage(name string) bool {
	return name != invocation.StageResponse && name != "stream" && name != invocation.StagePlatform
}

// stepTime places a step's span: steps carry no clock of their own, so they sit at the
// response's start (the moment the function handed its result over), or the invocation's.
func stepTime(r *invocation.Record) time.Time {
	if r.Response != nil && !r.Response.Start.IsZero() {
		return r.Response.Start
	}
	start, _ := bounds(r)
	return start
}

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
