package export

import (
	"context"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// spanCollector is the tracer provider's span processor: it holds each trace's ended
// spans until the exporter takes them with the verdict, which decides when they leave.
// The SDK's batch processor cannot tell a lost body's trace from a healthy one, and
// drops a batch whose export failed; the outbox does neither.
type spanCollector struct {
	mu     sync.Mutex
	traces map[trace.TraceID][]sdktrace.ReadOnlySpan
}

func newSpanCollector() *spanCollector {
	return &spanCollector{traces: map[trace.TraceID][]sdktrace.ReadOnlySpan{}}
}

// take returns and forgets the ended spans of trace id.
func (c *spanCollector) take(id trace.TraceID) []sdktrace.ReadOnlySpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.traces[id]
	delete(c.traces, id)
	return s
}

// OnStart does nothing: spans are kept once ended.
func (c *spanCollector) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd keeps an ended span with its trace.
func (c *spanCollector) OnEnd(s sdktrace.ReadOnlySpan) {
	id := s.SpanContext().TraceID()
	c.mu.Lock()
	c.traces[id] = append(c.traces[id], s)
	c.mu.Unlock()
}

// Shutdown does nothing: the outbox owns what leaves.
func (c *spanCollector) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: the outbox owns what leaves.
func (c *spanCollector) ForceFlush(context.Context) error { return nil }
