package otlp

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Field numbers of opentelemetry/proto/metrics/v1/metrics.proto.
const (
	fieldResourceMetrics = 1 // ExportMetricsServiceRequest.resource_metrics

	fieldRMResource     = 1
	fieldRMScopeMetrics = 2
	fieldRMSchemaURL    = 3

	fieldSMScope   = 1
	fieldSMMetrics = 2

	fieldMetricName        = 1
	fieldMetricDescription = 2
	fieldMetricUnit        = 3
	fieldMetricSum         = 7

	fieldSumPoints      = 1
	fieldSumTemporality = 2
	fieldSumMonotonic   = 3

	fieldPointStart = 2
	fieldPointTime  = 3
	fieldPointInt   = 6
	fieldPointAttrs = 7

	temporalityCumulative = 2
)

// Sum is a cumulative, monotonic integer counter: its value per attribute set since Start.
type Sum struct {
	Name, Description, Unit string
	Points                  []Point
}

// Point is one attribute set's count.
type Point struct {
	Attrs []attribute.KeyValue
	Value int64
}

// AppendMetrics appends an ExportMetricsServiceRequest holding the sums, counted from
// start to now.
func AppendMetrics(b []byte, res *resource.Resource, scope instrumentation.Scope, start, now time.Time, sums []Sum) []byte {
	return appendMessage(b, fieldResourceMetrics, func(b []byte) []byte {
		b = appendMessage(b, fieldRMResource, func(b []byte) []byte { return appendResource(b, res) })
		b = appendMessage(b, fieldRMScopeMetrics, func(b []byte) []byte {
			b = appendMessage(b, fieldSMScope, func(b []byte) []byte { return appendScope(b, scope) })
			for _, s := range sums {
				b = appendMessage(b, fieldSMMetrics, func(b []byte) []byte { return appendSum(b, s, start, now) })
			}
			return b
		})
		if res != nil {
			b = appendString(b, fieldRMSchemaURL, res.SchemaURL())
		}
		return b
	})
}

func appendSum(b []byte, s Sum, start, now time.Time) []byte {
	b = appendString(b, fieldMetricName, s.Name)
	b = appendString(b, fieldMetricDescription, s.Description)
	b = appendString(b, fieldMetricUnit, s.Unit)
	return appendMessage(b, fieldMetricSum, func(b []byte) []byte {
		for _, p := range s.Points {
			b = appendMessage(b, fieldSumPoints, func(b []byte) []byte {
				b = appendFixed64(b, fieldPointStart, unixNano(start.UnixNano()))
				b = appendFixed64(b, fieldPointTime, unixNano(now.UnixNano()))
				// as_int is a oneof member: written even when 0.
				b = binary.LittleEndian.AppendUint64(appendTag(b, fieldPointInt, wireFixed64), uint64(p.Value))
				return appendAttrs(b, fieldPointAttrs, p.Attrs)
			})
		}
		b = appendUint(b, fieldSumTemporality, temporalityCumulative)
		return appendUint(b, fieldSumMonotonic, 1)
	})
}
