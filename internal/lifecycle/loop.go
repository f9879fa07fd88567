package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bodytrace/bodytrace/internal/capture"
	"github.com/bodytrace/bodytrace/internal/extapi"
	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/lograte"
	"github.com/bodytrace/bodytrace/internal/steps"
)

// Extensions is the part of the Extensions API the loop uses.
type Extensions interface {
	Next(ctx context.Context) (extapi.Event, error)
}

// Exporter receives finished records.
type Exporter interface {
	Export(r invocation.Record) string
	// Late adds platform events that arrived after the invocation was exported to its trace.
	Late(requestID string, p invocation.Platform) bool
	Flush(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// Config holds the loop's bounds.
type Config struct {
	// FlushTimeout bounds each flush before the next /next. What a flush waits for is the
	// exporter's business (export.Flush): under the default, only lost and unknown bodies.
	FlushTimeout time.Duration
	// TelemetryWait bounds how long a record with its response waits for platform.runtimeDone.
	TelemetryWait time.Duration
	// ResponseGrace is how long past an invocation's deadline the loop waits for its response.
	ResponseGrace time.Duration
	// LateWriteWait is how long a record whose function reports steps stays open after an
	// empty buffered response, to catch writes after the adapter's snapshot.
	LateWriteWait time.Duration
	// ShutdownMargin is kept free before the SHUTDOWN deadline.
	ShutdownMargin time.Duration
	// Capture samples each event and result, redacted; the zero value captures nothing.
	Capture capture.Config
	// Started is when the extension process started: the init's start when telemetry is absent.
	Started time.Time
}

// Loop joins the sources of one execution environment. Create it with New, hand it to the
// proxy as its observer and to the telemetry listener as its handler, attach what it asks
// of them (ProxySeen, DrainAtShutdown, SyncSteps), then Run it. Start does all of that.
type Loop struct {
	cfg   Config
	ext   Extensions
	exp   Exporter
	log   *slog.Logger
	store *invocation.Store

	proxied   atomic.Pointer[func() bool]                 // a runtime called /next through the proxy
	syncSteps atomic.Pointer[func(context.Context) error] // handles step lines already sent
	drains    []func(context.Context) error               // queued observations, at SHUTDOWN (under mu)
	telemetry atomic.Bool                                 // the Telemetry API is delivering
	coldTaken atomic.Bool                                 // the cold-start invocation has been claimed
	stepsSeen atomic.Bool                                 // the function sends step lines
	stepLines *steps.Counter

	// asked is when the runtime last asked for an event (a /next arrived), unix ns.
	asked atomic.Int64

	mu   sync.Mutex
	init invocation.Init
	// awaitingNext holds streamed records kept open until the runtime asks for its next
	// event (it lives on) or hangs up (its process died after the stream).
	awaitingNext map[string]bool
	waiters      map[string]chan struct{} // closed when the record is finished
	timers       map[string]*time.Timer   // TelemetryWait per record
	stats        Stats
}

// Stats counts what the loop did, for the log at shutdown and for tests.
type Stats struct {
	Finished, LateEvents int
	// Dropped counts records evicted because too many were open.
	Dropped int
	// Strays counts records for request ids no trusted source opened (step lines or
	// telemetry for ids the Runtime API never delivered), dropped without an export.
	Strays int
	// FlushFailures counts flushes that failed, or returned at once because the exporter's
	// circuit breaker was open.
	FlushFailures int
}

// New returns a loop; nothing runs until Run.
func New(cfg Config, ext Extensions, exp Exporter, log *slog.Logger) *Loop {
	if cfg.Started.IsZero() {
		cfg.Started = time.Now()
	}
	if cfg.ShutdownMargin == 0 {
		cfg.ShutdownMargin = 100 * time.Millisecond
	}
	l := &Loop{
		cfg: cfg, ext: ext, exp: exp, log: log,
		stepLines:    steps.NewCounter(log),
		store:        invocation.NewStore(1024, nil),
		waiters:      map[string]chan struct{}{},
		awaitingNext: map[string]bool{},
		timers:       map[string]*time.Timer{},
		init:         invocation.Init{Start: cfg.Started, Source: "extension"},
	}
	l.store.SetMaxOpen(maxOpenRecords, maxStrayRecords, l.evicted)
	return l
}

// ProxySeen tells the loop how to know whether a runtime asks for events through the
// proxy: seen must turn true as soon as /next arrives, before Lambda's INVOKE for that
// event. Until it is attached, the Runtime API counts as not observed.
func (l *Loop) ProxySeen(seen func() bool) { l.proxied.Store(&seen) }

// SyncSteps gives the loop a way to wait (bounded by ctx) until the step lines sent before
// the call were handled; it waits before closing a record whose response arrived.
func (l *Loop) SyncSteps(sync func(ctx context.Context) error) { l.syncSteps.Store(&sync) }

// DrainAtShutdown adds a source whose queued observations SHUTDOWN waits for (bounded by
// ctx) before closing the records.
func (l *Loop) DrainAtShutdown(drain func(ctx context.Context) error) {
	l.mu.Lock()
	l.drains = append(l.drains, drain)
	l.mu.Unlock()
}

// runtimeObserved reports whether a runtime asks for events through the proxy.
func (l *Loop) runtimeObserved() bool {
	seen := l.proxied.Load()
	return seen != nil && (*seen)()
}

// SetTelemetry tells the loop whether the Telemetry API is delivering.
func (l *Loop) SetTelemetry(on bool) { l.telemetry.Store(on) }

// Stats returns the counters.
func (l *Loop) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Run handles Extensions API events until SHUTDOWN or ctx ends. In Lambda Managed
// Instances the extension gets no INVOKE: records then finish on their own as responses
// and telemetry arrive, and Run just waits for SHUTDOWN.
func (l *Loop) Run(ctx context.Context) error {
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go l.sweepEvery(sweepCtx, sweepInterval)
	for {
		ev, err := l.ext.Next(ctx)
		if err != nil {
			l.shutdown(time.Now().Add(2 * time.Second))
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		switch ev.EventType {
		case extapi.Invoke:
			l.invoke(ctx, ev)
		case extapi.Shutdown:
			l.log.Info("shutdown", "reason", ev.ShutdownReason)
			l.shutdown(ev.Deadline())
			return nil
		}
	}
}

// maxOpenRecords bounds the records a trusted source opened (invocation.Record.Anchored):
// far above the invocations one environment runs at a time, so only ids that never
// complete are ever evicted.
const maxOpenRecords = 1024

// maxStrayRecords bounds the records no trusted source opened. Strays evict only each
// other: a flood of forged step lines or telemetry costs its own observations, never an
// invocation in flight.
const maxStrayRecords = 64

// evicted handles a record pushed out by newer ones of its class: a stray is counted and
// dropped; a real one is exported. Its waiter, if any, is released either way: nothing
// may wait for a record that is gone.
func (l *Loop) evicted(r invocation.Record) {
	l.mu.Lock()
	ch := l.waiters[r.RequestID]
	delete(l.waiters, r.RequestID)
	if t, armed := l.timers[r.RequestID]; armed {
		t.Stop()
		delete(l.timers, r.RequestID)
	}
	stray := l.stray(&r)
	if stray {
		l.stats.Strays++
	} else {
		l.stats.Dropped++
	}
	n, strays := l.stats.Dropped, l.stats.Strays
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
	switch {
	case stray && lograte.Due(uint64(strays)):
		l.log.Warn("step lines or telemetry for request ids the Runtime API never delivered; counted and dropped", "requestId", r.RequestID, "strays_so_far", strays)
	case !stray && lograte.Due(uint64(n)):
		l.log.Warn("too many open records; the oldest are closed early", "requestId", r.RequestID, "evicted_so_far", n)
	}
	if !stray {
		l.exp.Export(r)
	}
}

// stray reports whether a record holds nothing a trusted source gave: no INVOKE, no event
// through the proxy and, while the proxy is in the path (so it would have seen the event),
// only step lines, telemetry or rejected responses. Without the proxy, telemetry is all
// there is, so a telemetry record is real. A stray is counted, never exported.
func (l *Loop) stray(r *invocation.Record) bool {
	if r.Anchored() {
		return false
	}
	if !r.Observed.RuntimeAPI && !l.runtimeObserved() {
		return r.Platform.Start == nil && r.Platform.RuntimeDone == nil && r.Platform.Report == nil
	}
	return true
}

// sweepInterval is how often records that can no longer complete are closed.
const sweepInterval = 10 * time.Second

// maxOpen bounds a record without a known deadline: Lambda's longest timeout.
const maxOpen = 15 * time.Minute

func (l *Loop) sweepEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			l.Sweep(now)
		}
	}
}

// Sweep closes the records that can no longer complete at now: past their deadline (plus
// the bounded waits) or, with no deadline known (stray telemetry, a runtime that died),
// open longer than Lambda's longest timeout. Nothing waits forever, nothing piles up.
func (l *Loop) Sweep(now time.Time) {
	grace := l.cfg.ResponseGrace + l.cfg.TelemetryWait
	for _, id := range l.store.Open(func(r *invocation.Record) bool {
		deadline := time.Time{}
		switch {
		case r.Invoke != nil && !r.Invoke.Deadline.IsZero():
			deadline = r.Invoke.Deadline
		case r.Request != nil && !r.Request.Deadline.IsZero():
			deadline = r.Request.Deadline
		}
		if deadline.IsZero() {
			return now.Sub(r.Started) > maxOpen
		}
		return now.After(deadline.Add(grace))
	}) {
		l.finish(id, "swept: past its deadline")
	}
}

// invoke waits, bounded, for the INVOKE's record to finish, then flushes: spans leave
// before this extension's next /next lets Lambda freeze the environment.
func (l *Loop) invoke(ctx context.Context, ev extapi.Event) {
	now := time.Now()
	inv := &invocation.Invoke{At: now, Deadline: ev.Deadline(), InvokedFunctionARN: ev.InvokedFunctionArn}
	if ev.Tracing.Type == "X-Amzn-Trace-Id" {
		inv.XRayTraceID = ev.Tracing.Value
	}
	done := l.waiter(ev.RequestID)
	if !l.update(ev.RequestID, now, func(r *invocation.Record) { r.Invoke = inv }) {
		// A fast function: the proxy saw the whole exchange and closed the record before
		// this INVOKE reached us. Nothing to wait for.
		l.mu.Lock()
		delete(l.waiters, ev.RequestID)
		l.mu.Unlock()
		l.flush(ctx)
		return
	}

	limit := ev.Deadline().Add(l.cfg.ResponseGrace)
	if ev.DeadlineMs == 0 || limit.Before(now) {
		limit = now.Add(l.cfg.ResponseGrace)
	}
	wait, cancel := context.WithDeadline(ctx, limit)
	select {
	case <-done:
	case <-wait.Done():
		l.finish(ev.RequestID, "deadline passed")
	}
	cancel()
	l.flush(ctx)
}

func (l *Loop) flush(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, l.cfg.FlushTimeout)
	defer cancel()
	// The exporter logs when exporting starts failing and when it recovers (its circuit
	// breaker knows, background exports included); the loop only counts.
	if err := l.exp.Flush(fctx); err != nil {
		l.mu.Lock()
		l.stats.FlushFailures++
		l.mu.Unlock()
	}
}

// shutdown finishes every open record and flushes within the deadline.
func (l *Loop) shutdown(deadline time.Time) {
	l.mu.Lock()
	drains := l.drains
	l.mu.Unlock()
	if len(drains) > 0 {
		ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-2*l.cfg.ShutdownMargin))
		for _, drain := range drains {
			_ = drain(ctx)
		}
		cancel()
	}
	for _, id := range l.store.Open(nil) {
		l.finish(id, "shutdown")
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-l.cfg.ShutdownMargin))
	defer cancel()
	if err := l.exp.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		l.log.Warn("shutdown flush", "err", err)
	}
}

// waiter returns a channel closed when the record id is finished.
func (l *Loop) waiter(id string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch, ok := l.waiters[id]
	if !ok {
		ch = make(chan struct{})
		l.waiters[id] = ch
	}
	return ch
}

// update changes the open record id and finishes it when it is ready. A new record is
// marked with the sources in place and, first of all, as the cold start.
func (l *Loop) update(id string, at time.Time, f func(*invocation.Record)) bool {
	ready := false
	ok := l.store.Update(id, at, func(r *invocation.Record) {
		f(r)
		r.Observed.RuntimeAPI = r.Observed.RuntimeAPI || l.runtimeObserved()
		r.Observed.Telemetry = r.Observed.Telemetry || l.telemetry.Load()
		// The first real invocation an execution environment sees is its cold start; a
		// stray arriving first must not claim it.
		if !r.ColdStart && !l.stray(r) {
			r.ColdStart = l.coldTaken.CompareAndSwap(false, true)
		}
		ready = l.ready(r)
	})
	if ok && ready {
		l.finish(id, "")
	}
	return ok
}

// ready reports whether a record has what its sources can give: the response when the
// proxy is in the path, and the runtime's end when telemetry is delivering. A response
// without runtimeDone starts the TelemetryWait timer instead.
func (l *Loop) ready(r *invocation.Record) bool {
	proxy := !r.Observed.RuntimeAPI || r.Response != nil
	platform := !r.Observed.Telemetry || r.Platform.RuntimeDone != nil || r.Platform.Report != nil
	if r.Response != nil && proxy {
		if !platform {
			l.arm(r.RequestID, l.cfg.TelemetryWait, "telemetry wait ran out")
			return false
		}
		if l.lateWindow(r) {
			l.arm(r.RequestID, l.cfg.LateWriteWait, "late-write window closed")
			return false
		}
		if l.awaitNext(r) {
			return false
		}
	}
	return proxy && platform
}

// nextWait bounds how long a streamed record waits for the runtime's next /next. A live
// runtime asks within milliseconds; the bound only runs out for one still busy after its
// stream, and then the record closes as it is.
const nextWait = time.Second

// awaitNext reports whether a record must stay open until the runtime shows it lives on:
// a complete stream seen through the proxy, whose runtime has not asked for its next
// event since. Its process may die right after (a Go handler panicking after its stream),
// and then the caller gets an error although the Runtime API took every byte.
func (l *Loop) awaitNext(r *invocation.Record) bool {
	p := r.Response
	if !r.Observed.RuntimeAPI || p.Mode != invocation.ModeStreaming || p.Cut != "" || p.ErrorType != "" || p.RuntimeGone {
		return false
	}
	if l.asked.Load() >= p.End.UnixNano() {
		return false
	}
	l.mu.Lock()
	l.awaitingNext[r.RequestID] = true
	l.mu.Unlock()
	l.arm(r.RequestID, nextWait, "the runtime did not ask for its next event within the bound")
	return true
}

// lateWindow reports whether a record should stay open a little after its response: the
// function reports steps and handed Lambda an empty buffered body that should have had
// one, so a write may still come after the adapter's snapshot (a late write). Only
// already-broken responses pay this wait.
func (l *Loop) lateWindow(r *invocation.Record) bool {
	p := r.Response
	if l.cfg.LateWriteWait <= 0 || !l.stepsSeen.Load() || p.Mode != invocation.ModeBuffered || !p.HTTP || p.BodyBytes != 0 {
		return false
	}
	if p.StatusCode == http.StatusNoContent || p.StatusCode == http.StatusNotModified || p.StatusCode < 200 {
		return false
	}
	return r.Request == nil || r.Request.Method != http.MethodHead
}

// arm finishes the record after d unless it finishes sooner.
func (l *Loop) arm(id string, d time.Duration, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.timers[id]; ok {
		return
	}
	l.timers[id] = time.AfterFunc(d, func() { l.finish(id, why) })
}

// finish takes the record, attaches the init to the cold start, exports it, and wakes
// its waiter. Safe to call more than once.
func (l *Loop) finish(id, why string) {
	r, ok := l.store.Take(id)
	l.mu.Lock()
	if t, armed := l.timers[id]; armed {
		t.Stop()
		delete(l.timers, id)
	}
	ch := l.waiters[id]
	delete(l.waiters, id)
	delete(l.awaitingNext, id)
	stray := ok && l.stray(&r)
	switch {
	case stray:
		l.stats.Strays++
	case ok:
		l.stats.Finished++
		if r.ColdStart {
			in := l.init
			r.Init = &in
		}
	}
	l.mu.Unlock()
	if ok && !stray {
		if why != "" {
			l.log.Debug("record closed before it was complete", "requestId", id, "why", why)
		}
		l.exp.Export(r)
	}
	if ch != nil {
		close(ch)
	}
}
