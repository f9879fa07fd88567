package otlp

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Field numbers of opentelemetry/proto/trace/v1/trace.proto and common/v1/common.proto.
const (
	fieldResourceSpans = 1 // ExportTraceServiceRequest.resource_spans

	fieldRSResource   = 1 // ResourceSpans.resource
	fieldRSScopeSpans = 2
	fieldRSSchemaURL  = 3

	fieldResourceAttrs = 1 // Resource.attributes

	fieldSSScope     = 1 // ScopeSpans.scope
	fieldSSSpans     = 2
	fieldSSSchemaURL = 3

	fieldScopeName    = 1 // InstrumentationScope
	fieldScopeVersion = 2
	fieldScopeAttrs   = 3

	fieldSpanTraceID      = 1
	fieldSpanSpanID       = 2
	fieldSpanTraceState   = 3
	fieldSpanParentSpanID = 4
	fieldSpanName         = 5
	fieldSpanKind         = 6
	fieldSpanStart        = 7
	fieldSpanEnd          = 8
	fieldSpanAttrs        = 9
	fieldSpanDroppedAttrs = 10
	fieldSpanEvents       = 11
	fieldSpanDroppedEvts  = 12
	fieldSpanLinks        = 13
	fieldSpanDroppedLinks = 14
	fieldSpanStatus       = 15
	fieldSpanFlags        = 16

	fieldEventTime         = 1
	fieldEventName         = 2
	fieldEventAttrs        = 3
	fieldEventDroppedAttrs = 4

	fieldLinkTraceID      = 1
	fieldLinkSpanID       = 2
	fieldLinkTraceState   = 3
	fieldLinkAttrs        = 4
	fieldLinkDroppedAttrs = 5
	fieldLinkFlags        = 6

	fieldStatusMessage = 2
	fieldStatusCode    = 3

	fieldKVKey   = 1
	fieldKVValue = 2

	fieldAnyString = 1
	fieldAnyBool   = 2
	fieldAnyInt    = 3
	fieldAnyDouble = 4
	fieldAnyArray  = 5
	fieldAnyKVList = 6
	fieldAnyBytes  = 7

	fieldListValues = 1 // ArrayValue.values and KeyValueList.values
)

// Span flags: the low byte is the W3C trace flags; these say whether the parent is remote.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// AppendTraces appends an ExportTraceServiceRequest holding spans, grouped by resource and
// instrumentation scope as the protocol asks.
func AppendTraces(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	type scopeKey struct {
		res   *resource.Resource
		scope instrumentation.Scope
	}
	var (
		resources []*resource.Resource
		scopes    = map[*resource.Resource][]instrumentation.Scope{}
		byScope   = map[scopeKey][]sdktrace.ReadOnlySpan{}
	)
	for _, s := range spans {
		res, scope := s.Resource(), s.InstrumentationScope()
		k := scopeKey{res, scope}
		if _, ok := scopes[res]; !ok {
			resources = append(resources, res)
			scopes[res] = nil
		}
		if _, ok := byScope[k]; !ok {
			scopes[res] = append(scopes[res], scope)
		}
		byScope[k] = append(byScope[k], s)
	}
	for _, res := range resources {
		b = appendMessage(b, fieldResourceSpans, func(b []byte) []byte {
			b = appendMessage(b, fieldRSResource, func(b []byte) []byte { return appendResource(b, res) })
			for _, scope := range scopes[res] {
				b = appendMessage(b, fieldRSScopeSpans, func(b []byte) []byte {
					b = appendMessage(b, fieldSSScope, func(b []byte) []byte { return appendScope(b, scope) })
					for _, s := range byScope[scopeKey{res, scope}] {
						b = appendMessage(b, fieldSSSpans, func(b []byte) []byte { return appendSpan(b, s) })
					}
					return appendString(b, fieldSSSchemaURL, scope.SchemaURL)
				})
			}
			if res != nil {
				b = appendString(b, fieldRSSchemaURL, res.SchemaURL())
			}
			return b
		})
	}
	return b
}

func appendResource(b []byte, res *resource.Resource) []byte {
	if res == nil {
		return b
	}
	return appendAttrs(b, fieldResourceAttrs, res.Attributes())
}

func appendScope(b []byte, s instrumentation.Scope) []byte {
	b = appendString(b, fieldScopeName, s.Name)
	b = appendString(b, fieldScopeVersion, s.Version)
	return appendAttrs(b, fieldScopeAttrs, s.Attributes.ToSlice())
}

func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, fieldSpanTraceID, tid[:])
	b = appendBytes(b, fieldSpanSpanID, sid[:])
	b = appendString(b, fieldSpanTraceState, sc.TraceState().String())
	if p := s.Parent(); p.SpanID().IsValid() {
		psid := p.SpanID()
		b = appendBytes(b, fieldSpanParentSpanID, psid[:])
	}
	b = appendString(b, fieldSpanName, s.Name())
	b = appendUint(b, fieldSpanKind, uint64(spanKind(s.SpanKind())))
	b = appendFixed64(b, fieldSpanStart, unixNano(s.StartTime().UnixNano()))
	b = appendFixed64(b, fieldSpanEnd, unixNano(s.EndTime().UnixNano()))
	b = appendAttrs(b, fieldSpanAttrs, s.Attributes())
	b = appendUint(b, fieldSpanDroppedAttrs, uint64(s.DroppedAttributes()))
	for _, ev := range s.Events() {
		b = appendMessage(b, fieldSpanEvents, func(b []byte) []byte {
			b = appendFixed64(b, fieldEventTime, unixNano(ev.Time.UnixNano()))
			b = appendString(b, fieldEventName, ev.Name)
			b = appendAttrs(b, fieldEventAttrs, ev.Attributes)
			return appendUint(b, fieldEventDroppedAttrs, uint64(ev.DroppedAttributeCount))
		})
	}
	b = appendUint(b, fieldSpanDroppedEvts, uint64(s.DroppedEvents()))
	for _, l := range s.Links() {
		b = appendMessage(b, fieldSpanLinks, func(b []byte) []byte {
			ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
			b = appendBytes(b, fieldLinkTraceID, ltid[:])
			b = appendBytes(b, fieldLinkSpanID, lsid[:])
			b = appendString(b, fieldLinkTraceState, l.SpanContext.TraceState().String())
			b = appendAttrs(b, fieldLinkAttrs, l.Attributes)
			b = appendUint(b, fieldLinkDroppedAttrs, uint64(l.DroppedAttributeCount))
			return appendFixed32(b, fieldLinkFlags, flags(l.SpanContext.TraceFlags(), l.SpanContext))
		})
	}
	b = appendUint(b, fieldSpanDroppedLinks, uint64(s.DroppedLinks()))
	// Always present, as the SDK's exporter writes it; empty means UNSET.
	st := s.Status()
	b = appendMessage(b, fieldSpanStatus, func(b []byte) []byte {
		b = appendString(b, fieldStatusMessage, st.Description)
		return appendUint(b, fieldStatusCode, uint64(statusCode(st.Code)))
	})
	return appendFixed32(b, fieldSpanFlags, flags(sc.TraceFlags(), s.Parent()))
}

// flags are a span's or link's flags: its W3C trace flags, and whether the parent (for a
// link, the linked context) is remote, which is always known here.
func flags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if parent.IsRemote() {
		f |= flagIsRemote
	}
	return f
}

// spanKind maps to the protocol's SpanKind, whose numbers happen to match the API's;
// anything unknown is UNSPECIFIED.
func spanKind(k trace.SpanKind) int {
	if k < trace.SpanKindInternal || k > trace.SpanKindConsumer {
		return 0
	}
	return int(k)
}

// statusCode maps to the protocol's StatusCode: UNSET 0, OK 1, ERROR 2 (the API has Error
// and Ok the other way round).
func statusCode(c codes.Code) int {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

func unixNano(n int64) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}

func appendAttrs(b []byte, field int, attrs []attribute.KeyValue) []byte {
	for _, kv := range attrs {
		b = appendMessage(b, field, func(b []byte) []byte {
			b = appendString(b, fieldKVKey, string(kv.Key))
			return appendMessage(b, fieldKVValue, func(b []byte) []byte { return appendValue(b, kv.Value) })
		})
	}
	return b
}

// appendValue writes an AnyValue. Its oneof fields are written even when zero: an empty
// string or a false is a value, not an absent one.
func appendValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		b = appendTag(b, fieldAnyBool, wireVarint)
		if v.AsBool() {
			return append(b, 1)
		}
		return append(b, 0)
	case attribute.INT64:
		return appendVarint(appendTag(b, fieldAnyInt, wireVarint), uint64(v.AsInt64()))
	case attribute.FLOAT64:
		return appendDouble(b, fieldAnyDouble, v.AsFloat64())
	case attribute.STRING:
		s := v.AsString()
		b = appendTag(b, fieldAnyString, wireBytes)
		b = appendVarint(b, uint64(len(s)))
		return append(b, s...)
	case attribute.BYTESLICE:
		p := v.AsByteSlice()
		b = appendTag(b, fieldAnyBytes, wireBytes)
		b = appendVarint(b, uint64(len(p)))
		return append(b, p...)
	case attribute.BOOLSLICE:
		xs := v.AsBoolSlice()
		return appendArray(b, len(xs), func(i int) attribute.Value { return attribute.BoolValue(xs[i]) })
	case attribute.INT64SLICE:
		xs := v.AsInt64Slice()
		return appendArray(b, len(xs), func(i int) attribute.Value { return attribute.Int64Value(xs[i]) })
	case attribute.FLOAT64SLICE:
		xs := v.AsFloat64Slice()
		return appendArray(b, len(xs), func(i int) attribute.Value { return attribute.Float64Value(xs[i]) })
	case attribute.STRINGSLICE:
		xs := v.AsStringSlice()
		return appendArray(b, len(xs), func(i int) attribute.Value { return attribute.StringValue(xs[i]) })
	case attribute.SLICE:
		xs := v.AsSlice()
		return appendArray(b, len(xs), func(i int) attribute.Value { return xs[i] })
	case attribute.MAP:
		kvs := v.AsMap()
		return appendMessage(b, fieldAnyKVList, func(b []byte) []byte { return appendAttrs(b, fieldListValues, kvs) })
	}
	return b // EMPTY: an AnyValue with no value set
}

func appendArray(b []byte, n int, at func(int) attribute.Value) []byte {
	return appendMessage(b, fieldAnyArray, func(b []byte) []byte {
		for i := range n {
			b = appendMessage(b, fieldListValues, func(b []byte) []byte { return appendValue(b, at(i)) })
		}
		return b
	})
}
