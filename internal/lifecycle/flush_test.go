package lifecycle

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/bodytrace/bodytrace/internal/export"
	"github.com/bodytrace/bodytrace/internal/extapi"
)

// stallingBackend stands in for a backend that accepts and never answers while down,
// and keeps every trace id once up.
type stallingBackend struct {
	mu     sync.Mutex
	down   bool
	calls  int
	traces map[string]bool
}

func (b *stallingBackend) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	b.mu.Lock()
	b.calls++
	down := b.down
	b.mu.Unlock()
	if down {
		<-ctx.Done()
		return ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range spans {
		b.traces[s.SpanContext().TraceID().String()] = true
	}
	return nil
}

func (b *stallingBackend) Shutdown(context.Context) error { return nil }

// syncBuffer is a log destination safe for the loop's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) count(msg string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.buf.String(), `"msg":"`+msg+`"`)
}

// TestLoopBreaker runs the loop with the real exporter against a backend that accepts and
// never answers. The first flush waits its bound and fails; the next invocations ask for
// their next event without calling the backend (the breaker is open), one warning covers
// the outage, and the unknown verdicts' traces (urgent: no response came) wait. Once
// the backend answers, a background retry delivers every one of them and the recovery is
// logged.
func TestLoopBreaker(t *testing.T) {
	for _, f := range export.Flushes {
		t.Run(string(f), func(t *testing.T) {
			backend := &stallingBackend{down: true, traces: map[string]bool{}}
			var logs syncBuffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			exp := export.New(export.Config{SpanExporter: backend, Flush: f, FlushTimeout: 100 * time.Millisecond, Log: log})
			ext := &fakeExtensions{events: make(chan extapi.Event), asked: make(chan struct{}, 100), calls: &callLog{}}
			// The runtime is observed and never answers: each record closes at its deadline
			// as unknown for want of a response, a verdict whose trace must not wait.
			loop := New(Config{FlushTimeout: 100 * time.Millisecond, ResponseGrace: time.Millisecond, TelemetryWait: time.Minute},
				ext, exp, log)
			loop.ProxySeen(func() bool { return true })
			h := &harness{loop: loop, ext: ext, log: ext.calls, done: make(chan error, 1)}
			h.run(t)

			var ids []string
			invoke := func(i int) {
				id := "req-" + strconv.Itoa(i)
				h.send(t, extapi.Event{EventType: extapi.Invoke, RequestID: id, DeadlineMs: time.Now().Add(time.Millisecond).UnixMilli()})
				h.waitAsked(t)
				ids = append(ids, id)
			}
			const outage = 20
			for i := range outage {
				invoke(i)
			}
			backend.mu.Lock()
			calls := backend.calls
			backend.mu.Unlock()
			// One call per invocation if flushes waited; the breaker leaves the first
			// flush's and a few background retries (backoff from 500 ms).
			if calls > 5 {
				t.Errorf("the backend was called %d times for %d invocations during the outage; flushes must stop waiting", calls, outage)
			}
			if n := logs.count("flush"); n != 1 {
				t.Errorf("%d flush warnings for one outage, want 1", n)
			}
			if w := exp.Waiting(); w != outage {
				t.Errorf("%d traces waiting during the outage, want all %d", w, outage)
			}

			backend.mu.Lock()
			backend.down = false
			backend.mu.Unlock()
			waitUntil(t, "the waiting traces delivered by a background retry", func() bool { return exp.Waiting() == 0 })
			invoke(outage)
			waitUntil(t, "the recovery logged", func() bool { return logs.count("export recovered") == 1 })
			backend.mu.Lock()
			got := len(backend.traces)
			backend.mu.Unlock()
			if got != outage+1 {
				t.Errorf("%d traces reached the backend, want %d", got, outage+1)
			}
			if d := exp.Dropped(); d != 0 {
				t.Errorf("%d spans dropped", d)
			}
		})
	}
}
