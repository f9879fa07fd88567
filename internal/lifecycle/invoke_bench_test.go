package lifecycle

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/bodytrace/bodytrace/internal/export"
	"github.com/bodytrace/bodytrace/internal/extapi"
	"github.com/bodytrace/bodytrace/internal/otlp"
	"github.com/bodytrace/bodytrace/internal/runtimeproxy"
)

// encodeOnly stands in for a backend that answers at once: it encodes the spans as OTLP.
type encodeOnly struct{}

func (encodeOnly) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	_ = otlp.AppendTraces(nil, spans)
	return nil
}
func (encodeOnly) Shutdown(context.Context) error { return nil }

// BenchmarkResponseToNext is the loop's share of the time between the runtime's response
// and the extension's next /next, for a healthy 1 KB buffered invocation with the real
// exporter (HTTP aside): the record closed, its verdict, spans and flush. Each op is one
// invocation: INVOKE, the proxy's /next observation, the response, and the loop's return
// to Extensions.Next.
func BenchmarkResponseToNext(b *testing.B) {
	for _, f := range export.Flushes {
		b.Run(string(f), func(b *testing.B) {
			exp := export.New(export.Config{SpanExporter: encodeOnly{}, Flush: f, FlushTimeout: time.Second})
			ext := &fakeExtensions{events: make(chan extapi.Event), asked: make(chan struct{}, 1), calls: &callLog{}}
			loop := New(Config{FlushTimeout: time.Second, ResponseGrace: time.Second, TelemetryWait: time.Minute},
				ext, exp, slog.New(slog.NewJSONHandler(io.Discard, nil)))
			loop.ProxySeen(func() bool { return true })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- loop.Run(ctx) }()
			<-ext.asked
			body := []byte(`{"statusCode":200,"headers":{"content-type":"text/plain"},"body":"` + strings.Repeat("a", 1024) + `"}`)
			hdr := http.Header{"Content-Type": {"application/json"}}
			i := 0
			for b.Loop() {
				id := "req-" + strconv.Itoa(i)
				i++
				now := time.Now()
				ext.events <- extapi.Event{EventType: extapi.Invoke, RequestID: id, DeadlineMs: now.Add(time.Minute).UnixMilli()}
				loop.Next(runtimeproxy.Next{RequestID: id, Status: 200, Start: now, End: now, Size: 1200,
					Body: []byte(`{"rawPath":"/b","requestContext":{"http":{"method":"GET"}}}`)})
				loop.Response(runtimeproxy.Response{RequestID: id, Kind: runtimeproxy.KindResponse, Header: hdr,
					Head: body, Size: int64(len(body)), Start: now, End: time.Now(), Status: 202})
				<-ext.asked
			}
			cancel()
			<-done
			if w := exp.Waiting(); w > 1 {
				b.Logf("%d traces still waiting", w)
			}
		})
	}
}
