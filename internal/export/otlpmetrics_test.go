package export

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// memMetrics keeps the requests sent, decoded by the generated OTLP packages.
type memMetrics struct {
	got []*colmetricpb.ExportMetricsServiceRequest
}

func (m *memMetrics) send(_ context.Context, msg []byte) error {
	req := &colmetricpb.ExportMetricsServiceRequest{}
	if err := proto.Unmarshal(msg, req); err != nil {
		return err
	}
	m.got = append(m.got, req)
	return nil
}

// TestOTLPMetricsCountEveryInvocation: with healthy traces all sampled away, the OTLP
// counters sent at SHUTDOWN still count every invocation, and the lost ones by stage.
func TestOTLPMetricsCountEveryInvocation(t *testing.T) {
	mm := &memMetrics{}
	zero := 0.0
	e := New(Config{SpanExporter: tracetest.NewInMemoryExporter(), SendMetrics: mm.send, SampleHealthy: &zero})
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
	// Cumulative sums: the last request holds the totals.
	if len(mm.got) == 0 {
		t.Fatal("no metrics sent at SHUTDOWN")
	}
	sums := map[string]int64{}
	for _, rm := range mm.got[len(mm.got)-1].ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				sum := m.GetSum()
				if sum == nil || !sum.IsMonotonic || sum.AggregationTemporality != metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
					t.Fatalf("%s is %v, want a cumulative monotonic sum", m.Name, m.Data)
				}
				for _, dp := range sum.DataPoints {
					sums[m.Name] += dp.GetAsInt()
				}
			}
		}
	}
	if sums["bodytrace.invocations"] != 30 || sums["bodytrace.lost_bodies"] != 10 {
		t.Fatalf("counters %v, want 30 invocations and 10 lost bodies", sums)
	}
}

// TestOTLPMetricsInBackground: under FlushVerdict the once-a-minute metrics request does
// not hold the flush; SHUTDOWN waits for it and sends the last counts.
func TestOTLPMetricsInBackground(t *testing.T) {
	gate := make(chan struct{})
	mm := &memMetrics{}
	var mu sync.Mutex
	send := func(ctx context.Context, msg []byte) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		defer mu.Unlock()
		return mm.send(ctx, msg)
	}
	e := New(Config{SpanExporter: tracetest.NewInMemoryExporter(), SendMetrics: send, Flush: FlushVerdict, FlushTimeout: 10 * time.Second})
	e.metricsAt = time.Now().Add(-2 * metricsEvery)
	e.Export(record("m1", 10, ""))
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !e.metricsBusy.Load() {
		t.Fatal("the due metrics were not sent in the background")
	}
	close(gate) // the backend answers after the flush returned
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mm.got) != 2 {
		t.Fatalf("%d metrics requests, want the background one and SHUTDOWN's", len(mm.got))
	}
}
