package export

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// memMetrics keeps what the metric reader exported.
type memMetrics struct {
	sdkmetric.Exporter
	got []metricdata.ResourceMetrics
}

func (m *memMetrics) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	m.got = append(m.got, *rm)
	return nil
}

func (m *memMetrics) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (m *memMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (m *memMetrics) ForceFlush(context.Context) error { return nil }
func (m *memMetrics) Shutdown(context.Context) error   { return nil }

// TestOTLPMetricsCountEveryInvocation: with healthy traces all sampled away, the OTLP
// counters sent at SHUTDOWN still count every invocation, and the lost ones by stage.
func TestOTLPMetricsCountEveryInvocation(t *testing.T) {
	mm := &memMetrics{}
	zero := 0.0
	e, err := New(context.Background(), Config{SpanExporter: tracetest.NewInMemoryExporter(), OTLPMetrics: true, MetricExporter: mm, SampleHealthy: &zero})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		body := int64(10)
		if i%3 == 0 {
			body = 0
		}
		e.Export(record("m"+itoa(i), body, ""))
	}
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(mm.got) != 0 {
		t.Fatalf("metrics sent at a flush within the first minute")
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, rm := range mm.got {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				data, ok := m.Data.(metricdata.Sum[int64])
				if !ok {
					t.Fatalf("%s is %T, want a sum", m.Name, m.Data)
				}
				for _, dp := range data.DataPoints {
					sums[m.Name] += dp.Value
				}
			}
		}
	}
	if sums["bodytrace.invocations"] != 30 || sums["bodytrace.lost_bodies"] != 10 {
		t.Fatalf("counters %v, want 30 invocations and 10 lost bodies", sums)
	}
}
