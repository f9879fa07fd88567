package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/invocation"
)

// outageExporter fails or succeeds flushes as scripted; a success counts as a delivery
// only when it had spans to send.
type outageExporter struct {
	script    []string // per flush: "fail", "empty" (nothing to send) or "ok"
	delivered int64
}

func (e *outageExporter) Export(invocation.Record) string       { return "" }
func (e *outageExporter) Late(string, invocation.Platform) bool { return false }
func (e *outageExporter) Shutdown(context.Context) error        { return nil }
func (e *outageExporter) Delivered() int64                      { return e.delivered }
func (e *outageExporter) Flush(ctx context.Context) error {
	step := e.script[0]
	e.script = e.script[1:]
	switch step {
	case "fail":
		return errors.New("context deadline exceeded")
	case "ok":
		e.delivered++
	}
	return nil
}

// TestFlushWarnsOncePerOutage: a flush that had nothing to send, or whose stalled export
// was answered after the bound, proves nothing about the backend, so it neither ends the
// outage nor lets the next failure warn again; a delivery within the bound ends it.
func TestFlushWarnsOncePerOutage(t *testing.T) {
	for _, c := range []struct {
		name            string
		script          []string
		warns, recovers int
	}{
		{"empty flush between failures", []string{"fail", "empty", "fail", "empty", "fail"}, 1, 0},
		{"delivery ends the outage", []string{"fail", "empty", "ok", "fail"}, 2, 1},
		{"healthy", []string{"ok", "empty", "ok"}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			exp := &outageExporter{script: c.script}
			l := New(Config{FlushTimeout: time.Second}, nil, exp, slog.New(slog.NewJSONHandler(&buf, nil)))
			for range c.script {
				l.flush(context.Background())
			}
			log := buf.String()
			if got := strings.Count(log, `"msg":"flush"`); got != c.warns {
				t.Errorf("%d flush warnings, want %d:\n%s", got, c.warns, log)
			}
			if got := strings.Count(log, `"msg":"export recovered"`); got != c.recovers {
				t.Errorf("%d recoveries logged, want %d:\n%s", got, c.recovers, log)
			}
		})
	}
}
