package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/otlp"
)

// Config chooses where records go.
type Config struct {
	// OTLP, when not nil, is where traces go (otlp.FromEnv reads it from OTEL_EXPORTER_OTLP_*).
	OTLP *otlp.Endpoint
	// Summary, when not nil, receives one JSON line per invocation.
	Summary io.Writer
	// Sampler overrides the SDK's sampler; nil keeps every trace (a parent's "not
	// sampled" flag must not hide a lost body) unless OTEL_TRACES_SAMPLER says otherwise.
	Sampler sdktrace.Sampler
	// SpanExporter replaces the OTLP exporter (tests, alternative backends).
	SpanExporter sdktrace.SpanExporter
	// OTLPMetrics, when not nil, is where the invocation counts go as OpenTelemetry metrics.
	OTLPMetrics *otlp.Endpoint
	// SendMetrics replaces the OTLP metrics client (tests): it gets each encoded
	// ExportMetricsServiceRequest.
	SendMetrics func(ctx context.Context, msg []byte) error
	Function    Function
	// Remember is how many finished invocations are remembered for late platform.report events.
	Remember int
	// FlushTimeout is the bound on each flush, and on each send in the background; the OTLP
	// exporter's retries stay within half of it.
	FlushTimeout time.Duration
	// Flush says when traces leave (BODYTRACE_FLUSH); the zero value is FlushEnd.
	Flush Flush
	// Log receives one line when exporting starts failing and one when it recovers.
	Log *slog.Logger
	// SampleHealthy is the share of healthy invocations (delivered, empty-by-design) whose
	// traces are kept, 0 to 1; nil keeps all. Every other verdict is always kept.
	SampleHealthy *float64
	// ParentBased honours the caller's sampled flag (traceparent, X-Ray) for healthy
	// invocations, as OTEL_TRACES_SAMPLER=parentbased_* asks.
	ParentBased bool
	// Propagators are the trace context formats read from an invocation (OTEL_PROPAGATORS).
	Propagators Propagators
	// Metrics, when not nil, receives CloudWatch Embedded Metric Format lines at each flush:
	// invocations by verdict and trigger, sampled or not, and the lost bodies among them.
	Metrics io.Writer
}

// Exporter emits finished invocations. Safe for concurrent use.
type Exporter struct {
	cfg      Config
	provider *sdktrace.TracerProvider // nil when only summaries are written
	tracer   trace.Tracer

	mu        sync.Mutex
	finished  map[string]trace.SpanContext
	order     []string
	counts    map[countKey]int // invocations since the last metrics line, for Metrics
	spans     *countingExporter
	collect   *spanCollector // the spans of each trace until Export hands them to out
	out       *outbox
	traces    *otlp.Client // nil unless traces go over OTLP
	metrics   *otlpMetrics
	metricsAt time.Time // when the last metrics lines were written
	// metricsBusy is set while metrics are sent in the background (FlushVerdict); bg
	// tracks that goroutine so Shutdown can wait for it.
	metricsBusy atomic.Bool
	bg          sync.WaitGroup
	summary     sync.Mutex // one summary line at a time
}

// New builds the exporter. It never dials: OTLP connections are made on first export, or
// by Warm. Nothing in cfg can make it fail.
func New(cfg Config) *Exporter {
	if cfg.Remember <= 0 {
		cfg.Remember = 256
	}
	e := &Exporter{cfg: cfg, finished: map[string]trace.SpanContext{}, metricsAt: time.Now()}
	exp := cfg.SpanExporter
	if exp == nil && cfg.OTLP != nil {
		e.traces = otlp.NewClient(*cfg.OTLP, retryBudget(cfg.FlushTimeout))
		exp = otlp.NewSpanExporter(e.traces)
	}
	if exp == nil {
		return e
	}
	e.spans = &countingExporter{SpanExporter: exp}
	exp = e.spans
	res := newResource(cfg.Function)
	e.collect = newSpanCollector()
	e.out = newOutbox(exp, cfg.Flush, cfg.FlushTimeout, cfg.Log)
	opts := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(e.collect), sdktrace.WithResource(res)}
	// The SDK keeps every span it is given: bodytrace decides what to keep itself, knowing
	// the verdict (Export). Lambda's trace header usually says Sampled=0 when X-Ray is not
	// active, and a parent-based SDK sampler would then drop lost bodies too.
	sampler := sdktrace.AlwaysSample()
	if cfg.Sampler != nil {
		sampler = cfg.Sampler
	}
	opts = append(opts, sdktrace.WithSampler(sampler))
	if cfg.OTLPMetrics != nil || cfg.SendMetrics != nil {
		e.metrics = newOTLPMetrics(cfg, res)
	}
	e.provider = sdktrace.NewTracerProvider(opts...)
	e.tracer = newTracer(e.provider)
	return e
}

// Export emits one finished invocation and returns its trace id ("" without a tracer).
// Its spans are queued: a lost or unknown body's for Flush, a healthy one's for Flush
// (FlushEnd) or the background (FlushVerdict).
func (e *Exporter) Export(r invocation.Record) string {
	v := r.Judge()
	e.count(&r, v)
	traceID := ""
	kept := e.keep(&r, v)
	if e.tracer != nil && kept {
		sc := emit(e.tracer, &r, v, e.cfg.Function, e.cfg.Propagators)
		traceID = sc.TraceID().String()
		e.remember(r.RequestID, sc)
		e.out.add(e.collect.take(sc.TraceID()), urgent(&r, v))
	}
	if e.cfg.Summary != nil {
		sum := NewSummary(&r, v, traceID)
		sum.SampledOut = !kept
		line, _ := json.Marshal(sum)
		e.summary.Lock()
		_, _ = e.cfg.Summary.Write(append(line, '\n'))
		e.summary.Unlock()
	}
	return traceID
}

// Late records platform events (runtimeDone, report) that arrived after their invocation
// was exported, as spans of the same trace. It reports false when the invocation is no
// longer remembered.
func (e *Exporter) Late(requestID string, p invocation.Platform) bool {
	e.mu.Lock()
	sc, ok := e.finished[requestID]
	e.mu.Unlock()
	if !ok || e.tracer == nil {
		return false
	}
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	if p.RuntimeDone != nil {
		runtimeDone(ctx, e.tracer, p.RuntimeDone, nil)
	}
	if p.Report != nil {
		report(ctx, e.tracer, p.Report)
	}
	// Late platform events are never why a body was lost: they leave with the healthy traces.
	e.out.add(e.collect.take(sc.TraceID()), false)
	return true
}

func (e *Exporter) remember(id string, sc trace.SpanContext) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.finished[id] = sc
	e.order = append(e.order, id)
	if len(e.order) > e.cfg.Remember {
		delete(e.finished, e.order[0])
		e.order = e.order[1:]
	}
}

// retryBudget keeps an export's retries inside half the flush bound: a gateway that
// throttles with a Retry-After longer than that is given up at once (dropped, counted)
// instead of holding the invocation for the whole bound.
func retryBudget(flush time.Duration) time.Duration {
	if flush <= 0 {
		return 500 * time.Millisecond
	}
	return flush / 2
}

// Warm opens the OTLP connection ahead of the first flush, so the cold-start invocation
// does not pay for it. It returns at once; the connection is made in the background
// within bound.
func (e *Exporter) Warm(bound time.Duration) {
	if e.traces == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		e.traces.Warm(ctx)
	}()
}

// HeadersFrom adds the headers ch yields (API keys read from a secret in the background)
// to every OTLP request, traces and metrics; requests wait for them (each within its own
// bound) until ch yields or closes.
func (e *Exporter) HeadersFrom(ch <-chan map[string]string) {
	var releases []func()
	if e.traces != nil {
		releases = append(releases, e.traces.Hold())
	}
	if e.metrics != nil && e.metrics.client != nil {
		releases = append(releases, e.metrics.client.Hold())
	}
	go func() {
		if h, ok := <-ch; ok {
			e.AddHeaders(h)
		}
		for _, release := range releases {
			release()
		}
	}()
}

// AddHeaders adds headers (API keys read from a secret at init) to every later OTLP
// request, traces and metrics.
func (e *Exporter) AddHeaders(h map[string]string) {
	if e.traces != nil {
		e.traces.AddHeaders(h)
	}
	if e.metrics != nil && e.metrics.client != nil {
		e.metrics.client.AddHeaders(h)
	}
}

// Flush sends what must leave before the next event, giving up when ctx ends: the traces
// of lost and unknown bodies, and under FlushEnd every trace. After a failed or slow
// export it returns a *PausedError at once, without waiting for the backend, until a
// background retry succeeds.
func (e *Exporter) Flush(ctx context.Context) error {
	// A backend that takes traces but not metrics (Jaeger) must not read as an outage
	// once a minute: metric errors surface at SHUTDOWN only.
	if e.cfg.Flush == FlushVerdict && e.metrics != nil {
		e.metricsInBackground()
	} else {
		_ = e.writeMetrics(ctx, false)
	}
	if e.out == nil {
		return nil
	}
	if err := e.out.flush(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

// metricsInBackground sends the OTLP metrics, once they are due, without holding the
// invocation: under FlushVerdict a round trip to the backend once a minute is not billed.
func (e *Exporter) metricsInBackground() {
	e.mu.Lock()
	due := time.Since(e.metricsAt) >= metricsEvery
	e.mu.Unlock()
	if !due || !e.metricsBusy.CompareAndSwap(false, true) {
		return
	}
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		defer e.metricsBusy.Store(false)
		ctx, stop := runningTimeout(context.Background(), retryBudget(e.cfg.FlushTimeout)*2)
		_ = e.writeMetrics(ctx, false)
		stop()
	}()
}

// Waiting counts the traces not yet sent (tests, and the log at shutdown).
func (e *Exporter) Waiting() int {
	if e.out == nil {
		return 0
	}
	return e.out.waiting()
}

// Shutdown flushes and releases the exporter; ctx bounds it.
func (e *Exporter) Shutdown(ctx context.Context) error {
	waited := make(chan struct{})
	go func() { e.bg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	merr := e.writeMetrics(ctx, true)
	if e.provider == nil {
		return merr
	}
	err := errors.Join(e.out.shutdown(ctx), e.provider.Shutdown(ctx))
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.Join(fmt.Errorf("shutdown exporter: spans still pending at the deadline: %w", err), merr)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("shutdown exporter: %w", err), merr)
	}
	return merr
}

// since reports durations in milliseconds with microsecond precision, for summaries.
func since(a, b time.Time) float64 {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return float64(b.Sub(a).Microseconds()) / 1000
}

// countingExporter counts the spans a collector rejected in a partial success; the
// outbox counts those it gives up itself.
type countingExporter struct {
	sdktrace.SpanExporter
	dropped atomic.Int64
}

func (c *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := c.SpanExporter.ExportSpans(ctx, spans)
	var rejected *otlp.RejectedError
	if errors.As(err, &rejected) {
		// A partial success: the collector kept the rest.
		c.dropped.Add(rejected.Rejected)
	}
	return err
}

// Dropped counts the spans lost so far: rejected by the collector, or given up by the
// outbox (over its bounds while the backend was down, refused for good, left at SHUTDOWN).
func (e *Exporter) Dropped() int64 {
	if e.spans == nil {
		return 0
	}
	return e.spans.dropped.Load() + e.out.dropped.Load()
}
