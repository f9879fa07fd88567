package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/bodytrace/bodytrace/internal/otlp"
)

// Bounds of the outbox.
const (
	// maxUrgent and maxHealthy bound the traces waiting: while the backend is down they
	// wait here, and past the bound the oldest of their kind are dropped (counted).
	maxUrgent  = 256
	maxHealthy = 256
	// maxPerSend bounds the traces in one request.
	maxPerSend = 128
	// maxAttempts is how often a batch is sent when the backend refuses it with an error
	// the protocol does not call retryable; retryable failures are retried while the
	// batch is within the bounds above.
	maxAttempts = 3
	// sweepEvery is how often the background worker sends what waits without being asked:
	// Lambda Managed Instances have no per-invocation flush.
	sweepEvery = time.Second
	// gatherFor is how long the worker waits, once woken by a healthy trace, before it
	// sends: long enough for the extension to have asked for the next event, so encoding
	// and writing the request never delay that /next (Go would otherwise run the woken
	// worker first), and for traces finishing together to share a request.
	gatherFor = 2 * time.Millisecond
)

// errStopping cancels the background worker at SHUTDOWN.
var errStopping = errors.New("exporter shutting down")

// pending is one trace waiting to leave.
type pending struct {
	spans    []sdktrace.ReadOnlySpan
	urgent   bool // a lost or unknown body
	attempts int  // failed sends not explained by a freeze
}

// outbox holds finished traces until they reach the backend: the urgent ones (lost and
// unknown bodies) are sent by flush, before the next event; the healthy ones by its own
// worker in the background (FlushVerdict) or by flush too (FlushEnd). A failed or slow
// send opens the breaker: flushes stop waiting and the worker alone retries, with backoff.
type outbox struct {
	exp      sdktrace.SpanExporter
	strategy Flush
	bound    time.Duration // running-time bound of one send
	log      *slog.Logger  // the breaker's transitions: one line when it opens, one when it closes

	sem  chan struct{} // one send at a time: flush, the worker and shutdown take turns
	wake chan struct{}

	ctx    context.Context // the worker's lifetime
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the worker has stopped

	dropped atomic.Int64 // spans given up: over the bounds, refused, or left at shutdown

	mu             sync.Mutex
	urgent         []pending // oldest first
	healthy        []pending
	urgentInFlight int // urgent traces in the send under way
	br             breaker
	failures       int // failed sends so far, for the log
	stopping       bool
}

func newOutbox(exp sdktrace.SpanExporter, strategy Flush, bound time.Duration, log *slog.Logger) *outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if bound <= 0 {
		bound = time.Second
	}
	if strategy == "" {
		strategy = FlushEnd
	}
	o := &outbox{exp: exp, strategy: strategy, bound: bound, log: log,
		sem: make(chan struct{}, 1), wake: make(chan struct{}, 1), done: make(chan struct{})}
	o.ctx, o.cancel = context.WithCancelCause(context.Background())
	go o.run()
	return o
}

// add queues one trace. A healthy trace under FlushVerdict wakes the worker at once: it
// leaves while the extension goes on to its next event.
func (o *outbox) add(spans []sdktrace.ReadOnlySpan, urgent bool) {
	if len(spans) == 0 {
		return
	}
	o.mu.Lock()
	if urgent {
		o.urgent = append(o.urgent, pending{spans: spans, urgent: true})
	} else {
		o.healthy = append(o.healthy, pending{spans: spans})
	}
	o.trim()
	o.mu.Unlock()
	if !urgent && o.strategy == FlushVerdict {
		o.poke()
	}
}

// trim drops the oldest traces past the bounds. Called with mu held.
func (o *outbox) trim() {
	for len(o.urgent) > maxUrgent {
		o.dropped.Add(int64(len(o.urgent[0].spans)))
		o.urgent = o.urgent[1:]
	}
	for len(o.healthy) > maxHealthy {
		o.dropped.Add(int64(len(o.healthy[0].spans)))
		o.healthy = o.healthy[1:]
	}
}

func (o *outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// waiting counts the traces not yet sent.
func (o *outbox) waiting() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.urgent) + len(o.healthy) + o.urgentInFlight
}

// flush sends what must leave before the next event, within ctx: the urgent traces, and
// under FlushEnd every trace. While the breaker is open it returns a *PausedError at once.
func (o *outbox) flush(ctx context.Context) error {
	o.mu.Lock()
	paused := o.pausedLocked()
	need := o.strategy == FlushEnd || len(o.urgent) > 0 || o.urgentInFlight > 0
	o.mu.Unlock()
	if paused != nil {
		o.poke()
		return paused
	}
	if !need {
		return nil
	}
	for {
		n, err := o.send(ctx, o.strategy == FlushEnd, sendFlush)
		if err != nil || n == 0 {
			return err
		}
	}
}

// pausedLocked is the flush's answer while the breaker is open. Called with mu held.
func (o *outbox) pausedLocked() error {
	if !o.br.open {
		return nil
	}
	return &PausedError{Err: o.br.err, Pending: len(o.urgent) + len(o.healthy) + o.urgentInFlight}
}

// who is sending: a flush respects the breaker, the worker and shutdown try anyway.
type sender int

const (
	sendFlush sender = iota
	sendWorker
	sendShutdown
)

// send takes up to maxPerSend traces (urgent first; healthy too when all) and exports
// them, bounded by ctx and by o.bound of running time. It reports how many it took.
func (o *outbox) send(ctx context.Context, all bool, who sender) (int, error) {
	select {
	case o.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-o.sem }()
	o.mu.Lock()
	if who == sendFlush {
		if err := o.pausedLocked(); err != nil {
			// The send this flush waited for failed and opened the breaker.
			o.mu.Unlock()
			return 0, err
		}
	}
	batch := o.takeLocked(all)
	o.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	var spans []sdktrace.ReadOnlySpan
	for _, p := range batch {
		spans = append(spans, p.spans...)
	}
	sctx, stop := runningTimeout(ctx, o.bound)
	err := o.exp.ExportSpans(sctx, spans)
	r := stop()
	if err != nil && errors.Is(context.Cause(sctx), errSlow) {
		err = fmt.Errorf("export spans: %w (%v)", errSlow, o.bound)
	}
	interrupted := r.froze || errors.Is(context.Cause(ctx), errStopping)
	o.settle(batch, err, interrupted, r.ran)
	return len(batch), err
}

// takeLocked removes the next batch to send. Called with mu held.
func (o *outbox) takeLocked(all bool) []pending {
	n := min(len(o.urgent), maxPerSend)
	batch := append([]pending(nil), o.urgent[:n]...)
	o.urgent = o.urgent[n:]
	o.urgentInFlight += n
	if all {
		m := min(len(o.healthy), maxPerSend-n)
		batch = append(batch, o.healthy[:m]...)
		o.healthy = o.healthy[m:]
	}
	return batch
}

// settle records a send's outcome: delivered traces are gone; the others go back to the
// front of their queue, and a failure not explained by a freeze or SHUTDOWN opens the
// breaker. A successful send that ran (frozen time aside) more than half the bound opens
// it too: the next invocations should not wait that long.
func (o *outbox) settle(batch []pending, err error, interrupted bool, took time.Duration) {
	o.mu.Lock()
	wasOpen := o.br.open
	defer func() {
		open, failures, why := o.br.open, o.failures, o.br.err
		o.mu.Unlock()
		o.logChange(wasOpen, open, failures, why)
	}()
	for _, p := range batch {
		if p.urgent {
			o.urgentInFlight--
		}
	}
	var rejected *otlp.RejectedError
	switch {
	case err == nil || errors.As(err, &rejected):
		// A partial success delivered the rest; countingExporter counts the rejected.
		if !interrupted && took > o.bound/2 {
			o.failures++
			o.br.fail(fmt.Errorf("export took %v, over half the bound %v", took.Round(time.Millisecond), o.bound), time.Now())
			return
		}
		o.br.succeed()
		return
	case interrupted:
		o.requeueLocked(batch, false)
	default:
		o.requeueLocked(batch, !retryable(err))
		o.failures++
		o.br.fail(err, time.Now())
	}
}

// logChange writes one line when exporting starts failing and one when it recovers: a
// backend that is down must not write a line per invocation.
func (o *outbox) logChange(wasOpen, open bool, failures int, why error) {
	switch {
	case open && !wasOpen:
		o.log.Warn("flush", "err", why.Error(), "bound", o.bound.String(),
			"note", "the next invocations do not wait for the backend; traces wait in a bounded buffer and a background retry tries again; logged again when export recovers")
	case wasOpen && !open:
		o.log.Info("export recovered", "failed_exports_so_far", failures, "spans_dropped_so_far", o.dropped.Load())
	}
}

// retryable reports whether a failed send may succeed if tried again: what the OTLP
// protocol calls retryable, and a backend that did not answer in time.
func retryable(err error) bool {
	return otlp.Retryable(err) || errors.Is(err, errSlow) || errors.Is(err, context.DeadlineExceeded)
}

// requeueLocked puts a failed batch back in front, oldest first; a batch refused for
// good (permanent) more than maxAttempts times is dropped. Called with mu held.
func (o *outbox) requeueLocked(batch []pending, permanent bool) {
	var urgent, healthy []pending
	for _, p := range batch {
		if permanent {
			if p.attempts++; p.attempts >= maxAttempts {
				o.dropped.Add(int64(len(p.spans)))
				continue
			}
		}
		if p.urgent {
			urgent = append(urgent, p)
		} else {
			healthy = append(healthy, p)
		}
	}
	o.urgent = append(urgent, o.urgent...)
	o.healthy = append(healthy, o.healthy...)
	o.trim()
}

// run is the background worker: it sends what waits when woken, every sweepEvery, and,
// while the breaker is open, once its backoff has passed (the probe: a success closes it).
func (o *outbox) run() {
	defer close(o.done)
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	gathering := false // armed once per batch: later wakes do not push the send back
	for {
		select {
		case <-o.ctx.Done():
			return
		case <-o.wake:
			if !gathering {
				gathering = true
				gather.Reset(gatherFor)
			}
			continue
		case <-gather.C:
			gathering = false
		case <-sweep.C:
		case <-retry.C:
		}
		for {
			o.mu.Lock()
			stopping, open, at := o.stopping, o.br.open, o.br.retryAt
			o.mu.Unlock()
			if stopping {
				return
			}
			if open && time.Now().Before(at) {
				retry.Reset(time.Until(at))
				break
			}
			// After a failure the loop goes round: an open breaker arms the retry timer,
			// an interrupted send is tried again at once.
			if n, _ := o.send(o.ctx, true, sendWorker); n == 0 {
				break
			}
		}
	}
}

// shutdown stops the worker and sends everything left within ctx, breaker or not; what
// still waits at the end is dropped and counted.
func (o *outbox) shutdown(ctx context.Context) error {
	o.mu.Lock()
	o.stopping = true
	o.mu.Unlock()
	var err error
	for {
		n, serr := o.send(ctx, true, sendShutdown)
		if serr != nil {
			err = serr
			break
		}
		if n == 0 {
			break
		}
	}
	o.cancel(errStopping)
	<-o.done
	o.mu.Lock()
	left := 0
	for _, p := range append(o.urgent, o.healthy...) {
		left++
		o.dropped.Add(int64(len(p.spans)))
	}
	o.urgent, o.healthy = nil, nil
	o.mu.Unlock()
	if left > 0 {
		err = errors.Join(fmt.Errorf("%d traces not exported before the deadline", left), err)
	}
	return errors.Join(err, o.exp.Shutdown(ctx))
}
