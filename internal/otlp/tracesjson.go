package otlp

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// JSON encoding of ExportTraceServiceRequest for http/json, as the OTLP specification's
// JSON mapping asks: lowerCamelCase names, trace and span ids as hex (not base64), enums
// as numbers, 64-bit integers as strings. Written here rather than with protojson, which
// would pull protobuf reflection into the extension (see doc.go).
type (
	jsonRequest struct {
		ResourceSpans []jsonResourceSpans `json:"resourceSpans"`
	}
	jsonResourceSpans struct {
		Resource   jsonResource     `json:"resource"`
		ScopeSpans []jsonScopeSpans `json:"scopeSpans"`
		SchemaURL  string           `json:"schemaUrl,omitempty"`
	}
	jsonResource struct {
		Attributes []jsonKV `json:"attributes"`
	}
	jsonScopeSpans struct {
		Scope     jsonScope  `json:"scope"`
		Spans     []jsonSpan `json:"spans"`
		SchemaURL string     `json:"schemaUrl,omitempty"`
	}
	jsonScope struct {
		Name       string   `json:"name"`
		Version    string   `json:"version,omitempty"`
		Attributes []jsonKV `json:"attributes,omitempty"`
	}
	jsonSpan struct {
		TraceID           string      `json:"traceId"`
		SpanID            string      `json:"spanId"`
		TraceState        string      `json:"traceState,omitempty"`
		ParentSpanID      string      `json:"parentSpanId,omitempty"`
		Flags             uint32      `json:"flags"`
		Name              string      `json:"name"`
		Kind              int         `json:"kind"`
		StartTimeUnixNano string      `json:"startTimeUnixNano"`
		EndTimeUnixNano   string      `json:"endTimeUnixNano"`
		Attributes        []jsonKV    `json:"attributes,omitempty"`
		DroppedAttributes int         `json:"droppedAttributesCount,omitempty"`
		Events            []jsonEvent `json:"events,omitempty"`
		DroppedEvents     int         `json:"droppedEventsCount,omitempty"`
		Links             []jsonLink  `json:"links,omitempty"`
		DroppedLinks      int         `json:"droppedLinksCount,omitempty"`
		Status            jsonStatus  `json:"status"`
	}
	jsonEvent struct {
		TimeUnixNano      string   `json:"timeUnixNano"`
		Name              string   `json:"name"`
		Attributes        []jsonKV `json:"attributes,omitempty"`
		DroppedAttributes int      `json:"droppedAttributesCount,omitempty"`
	}
	jsonLink struct {
		TraceID           string   `json:"traceId"`
		SpanID            string   `json:"spanId"`
		TraceState        string   `json:"traceState,omitempty"`
		Attributes        []jsonKV `json:"attributes,omitempty"`
		DroppedAttributes int      `json:"droppedAttributesCount,omitempty"`
		Flags             uint32   `json:"flags"`
	}
	jsonStatus struct {
		Message string `json:"message,omitempty"`
		Code    int    `json:"code,omitempty"`
	}
	jsonKV struct {
		Key   string    `json:"key"`
		Value jsonValue `json:"value"`
	}
	// jsonValue is an AnyValue: exactly one field is set.
	jsonValue struct {
		String *string     `json:"stringValue,omitempty"`
		Bool   *bool       `json:"boolValue,omitempty"`
		Int    *string     `json:"intValue,omitempty"`
		Double any         `json:"doubleValue,omitempty"`
		Bytes  []byte      `json:"bytesValue,omitempty"` // base64, as the mapping says for bytes
		Array  *jsonValues `json:"arrayValue,omitempty"`
		KVList *jsonKVList `json:"kvlistValue,omitempty"`
	}
	jsonValues struct {
		Values []jsonValue `json:"values"`
	}
	jsonKVList struct {
		Values []jsonKV `json:"values"`
	}
)

// AppendTracesJSON appends the JSON encoding of the ExportTraceServiceRequest that
// AppendTraces encodes as protobuf.
func AppendTracesJSON(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	var req jsonRequest
	resIndex := map[*resource.Resource]int{}
	type scopeKey struct {
		res   *resource.Resource
		scope instrumentation.Scope
	}
	scopeIndex := map[scopeKey]int{}
	for _, s := range spans {
		res, scope := s.Resource(), s.InstrumentationScope()
		ri, ok := resIndex[res]
		if !ok {
			ri = len(req.ResourceSpans)
			resIndex[res] = ri
			rs := jsonResourceSpans{Resource: jsonResource{Attributes: []jsonKV{}}}
			if res != nil {
				rs.Resource.Attributes, rs.SchemaURL = jsonAttrs(res.Attributes()), res.SchemaURL()
			}
			req.ResourceSpans = append(req.ResourceSpans, rs)
		}
		rs := &req.ResourceSpans[ri]
		k := scopeKey{res, scope}
		si, ok := scopeIndex[k]
		if !ok {
			si = len(rs.ScopeSpans)
			scopeIndex[k] = si
			rs.ScopeSpans = append(rs.ScopeSpans, jsonScopeSpans{
				Scope:     jsonScope{Name: scope.Name, Version: scope.Version, Attributes: jsonAttrs(scope.Attributes.ToSlice())},
				SchemaURL: scope.SchemaURL,
			})
		}
		rs.ScopeSpans[si].Spans = append(rs.ScopeSpans[si].Spans, jsonSpanOf(s))
	}
	out, err := json.Marshal(req)
	if err != nil {
		// Only a value json cannot encode gets here, and jsonValue holds none.
		return b
	}
	return append(b, out...)
}

func jsonSpanOf(s sdktrace.ReadOnlySpan) jsonSpan {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	js := jsonSpan{
		TraceID: hex.EncodeToString(tid[:]), SpanID: hex.EncodeToString(sid[:]),
		TraceState: sc.TraceState().String(), Flags: flags(sc.TraceFlags(), s.Parent()),
		Name: s.Name(), Kind: spanKind(s.SpanKind()),
		StartTimeUnixNano: strconv.FormatUint(unixNano(s.StartTime().UnixNano()), 10),
		EndTimeUnixNano:   strconv.FormatUint(unixNano(s.EndTime().UnixNano()), 10),
		Attributes:        jsonAttrs(s.Attributes()), DroppedAttributes: s.DroppedAttributes(),
		DroppedEvents: s.DroppedEvents(), DroppedLinks: s.DroppedLinks(),
		Status: jsonStatus{Message: s.Status().Description, Code: statusCode(s.Status().Code)},
	}
	if p := s.Parent(); p.SpanID().IsValid() {
		psid := p.SpanID()
		js.ParentSpanID = hex.EncodeToString(psid[:])
	}
	for _, ev := range s.Events() {
		js.Events = append(js.Events, jsonEvent{TimeUnixNano: strconv.FormatUint(unixNano(ev.Time.UnixNano()), 10),
			Name: ev.Name, Attributes: jsonAttrs(ev.Attributes), DroppedAttributes: ev.DroppedAttributeCount})
	}
	for _, l := range s.Links() {
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		js.Links = append(js.Links, jsonLink{TraceID: hex.EncodeToString(ltid[:]), SpanID: hex.EncodeToString(lsid[:]),
			TraceState: l.SpanContext.TraceState().String(), Attributes: jsonAttrs(l.Attributes),
			DroppedAttributes: l.DroppedAttributeCount, Flags: flags(l.SpanContext.TraceFlags(), l.SpanContext)})
	}
	return js
}

func jsonAttrs(attrs []attribute.KeyValue) []jsonKV {
	out := make([]jsonKV, 0, len(attrs))
	for _, kv := range attrs {
		out = append(out, jsonKV{Key: string(kv.Key), Value: jsonValueOf(kv.Value)})
	}
	return out
}

func jsonValueOf(v attribute.Value) jsonValue {
	array := func(n int, at func(int) attribute.Value) jsonValue {
		vs := make([]jsonValue, n)
		for i := range n {
			vs[i] = jsonValueOf(at(i))
		}
		return jsonValue{Array: &jsonValues{Values: vs}}
	}
	switch v.Type() {
	case attribute.BOOL:
		b := v.AsBool()
		return jsonValue{Bool: &b}
	case attribute.INT64:
		s := strconv.FormatInt(v.AsInt64(), 10)
		return jsonValue{Int: &s}
	case attribute.FLOAT64:
		f := v.AsFloat64()
		switch {
		case math.IsNaN(f):
			return jsonValue{Double: "NaN"}
		case math.IsInf(f, 1):
			return jsonValue{Double: "Infinity"}
		case math.IsInf(f, -1):
			return jsonValue{Double: "-Infinity"}
		case f == 0:
			return jsonValue{Double: json.Number("0")}
		}
		return jsonValue{Double: f}
	case attribute.STRING:
		s := v.AsString()
		return jsonValue{String: &s}
	case attribute.BYTESLICE:
		return jsonValue{Bytes: v.AsByteSlice()}
	case attribute.BOOLSLICE:
		xs := v.AsBoolSlice()
		return array(len(xs), func(i int) attribute.Value { return attribute.BoolValue(xs[i]) })
	case attribute.INT64SLICE:
		xs := v.AsInt64Slice()
		return array(len(xs), func(i int) attribute.Value { return attribute.Int64Value(xs[i]) })
	case attribute.FLOAT64SLICE:
		xs := v.AsFloat64Slice()
		return array(len(xs), func(i int) attribute.Value { return attribute.Float64Value(xs[i]) })
	case attribute.STRINGSLICE:
		xs := v.AsStringSlice()
		return array(len(xs), func(i int) attribute.Value { return attribute.StringValue(xs[i]) })
	case attribute.SLICE:
		xs := v.AsSlice()
		return array(len(xs), func(i int) attribute.Value { return xs[i] })
	case attribute.MAP:
		return jsonValue{KVList: &jsonKVList{Values: jsonAttrs(v.AsMap())}}
	}
	return jsonValue{}
}
