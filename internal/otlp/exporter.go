package otlp

import (
	"context"
	"fmt"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// SpanExporter sends the SDK's finished spans over OTLP.
type SpanExporter struct {
	client *Client
	mu     sync.Mutex
	buf    []byte // reused between exports; exports are serialised by the SDK's processor
}

// NewSpanExporter returns an exporter posting to client's endpoint.
func NewSpanExporter(client *Client) *SpanExporter { return &SpanExporter{client: client} }

// ExportSpans encodes and sends spans. A partial success that rejected spans is an error,
// so the caller can count what was lost.
func (e *SpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client.ep.Protocol == HTTPJSON {
		e.buf = AppendTracesJSON(e.buf[:0], spans)
	} else {
		e.buf = AppendTraces(e.buf[:0], spans)
	}
	rejected, err := e.client.Send(ctx, e.buf)
	if err != nil {
		return err
	}
	if rejected > 0 {
		return &RejectedError{Rejected: rejected, Sent: len(spans)}
	}
	return nil
}

// RejectedError is a partial success: the collector took the request but not all its spans.
type RejectedError struct {
	Rejected int64
	Sent     int
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("OTLP collector rejected %d of %d spans", e.Rejected, e.Sent)
}

// Shutdown releases the exporter's connections.
func (e *SpanExporter) Shutdown(context.Context) error {
	e.client.Close()
	return nil
}
