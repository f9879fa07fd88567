package export

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// slowExporter answers every export successfully, after a delay.
type slowExporter struct {
	tracetest.InMemoryExporter
	delay time.Duration
}

func (s *slowExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	time.Sleep(s.delay)
	return nil
}

// TestDeliveredWithinBound: Delivered counts exports the backend took within the flush
// bound, and neither empty exports nor ones answered after the bound (a stalled backend
// that finally answers) count as evidence that an outage ended.
func TestDeliveredWithinBound(t *testing.T) {
	spans := tracetest.SpanStubs{{Name: "invoke"}}.Snapshots()
	for _, c := range []struct {
		name  string
		delay time.Duration
		spans []sdktrace.ReadOnlySpan
		want  int64
	}{
		{"quick", 0, spans, 1},
		{"nothing to send", 0, nil, 0},
		{"answered after the bound", 60 * time.Millisecond, spans, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			c0 := &countingExporter{SpanExporter: &slowExporter{delay: c.delay}, bound: 20 * time.Millisecond}
			e := &Exporter{spans: c0}
			if err := c0.ExportSpans(context.Background(), c.spans); err != nil {
				t.Fatal(err)
			}
			if got := e.Delivered(); got != c.want {
				t.Errorf("Delivered() = %d, want %d", got, c.want)
			}
		})
	}
}
