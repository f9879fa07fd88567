package runtimeproxy

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bodytrace/bodytrace/internal/lograte"
)

// Async returns an Observer that hands each observation to obs on one goroutine of its
// own, in the order they were made, so parsing and bookkeeping never delay the next
// request a runtime sends on the same connection. When queue observations are already
// waiting, a new one is dropped and counted: the runtime is never held back. Stop ends
// the goroutine after the observations already queued.
func Async(obs Observer, queue int, log *slog.Logger) *AsyncObserver {
	if queue < 1 {
		queue = 1
	}
	if log == nil {
		log = slog.Default()
	}
	a := &AsyncObserver{obs: obs, work: make(chan func(), queue), log: log, done: make(chan struct{})}
	go a.run()
	return a
}

// AsyncObserver is the Observer Async returns.
type AsyncObserver struct {
	obs     Observer
	work    chan func()
	log     *slog.Logger
	dropped atomic.Uint64
	stop    sync.Once
	done    chan struct{}
}

// Next queues the observation.
func (a *AsyncObserver) Next(n Next) { a.queue(func() { a.obs.Next(n) }) }

// Response queues the observation.
func (a *AsyncObserver) Response(r Response) { a.queue(func() { a.obs.Response(r) }) }

// Asked queues the liveness observation when the observer takes it (see Liveness).
func (a *AsyncObserver) Asked(at time.Time) {
	if lv, ok := a.obs.(Liveness); ok {
		a.queue(func() { lv.Asked(at) })
	}
}

// HungUp queues the liveness observation when the observer takes it (see Liveness).
func (a *AsyncObserver) HungUp(requestID string, at time.Time) {
	if lv, ok := a.obs.(Liveness); ok {
		a.queue(func() { lv.HungUp(requestID, at) })
	}
}

// Dropped counts observations dropped because the queue was full.
func (a *AsyncObserver) Dropped() uint64 { return a.dropped.Load() }

func (a *AsyncObserver) queue(f func()) {
	select {
	case a.work <- f:
	default:
		if n := a.dropped.Add(1); lograte.Due(n) {
			a.log.Warn("observations dropped: the extension is behind", "dropped_so_far", n)
		}
	}
}

func (a *AsyncObserver) run() {
	defer close(a.done)
	for f := range a.work {
		func() {
			defer func() {
				if v := recover(); v != nil {
					a.log.Error("observer panicked; observation dropped", "panic", v)
				}
			}()
			f()
		}()
	}
}

// Flush returns once the observations queued before the call were handled, or ctx ends.
func (a *AsyncObserver) Flush(ctx context.Context) error {
	reached := make(chan struct{})
	select {
	case a.work <- func() { close(reached) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reached:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop handles what is queued, then ends the goroutine. Observations after Stop panic,
// so stop the proxy first.
func (a *AsyncObserver) Stop() {
	a.stop.Do(func() { close(a.work) })
	<-a.done
}
