package export

import (
	"context"
	"errors"
	"time"
)

// Lambda freezes an execution environment between invocations, and the wall clock keeps
// running while it is frozen: a send started before a freeze finds its wall-clock deadline
// passed on thaw and is cancelled even when the backend answered meanwhile. A send is
// therefore bounded by its running time, which leaves out the gaps a freeze makes.
const (
	runningTick = 10 * time.Millisecond
	// freezeGap is a gap between ticks that only a stopped process explains.
	freezeGap = 200 * time.Millisecond
)

// errSlow is the cause of a send cancelled by its running-time bound.
var errSlow = errors.New("no answer within the bound")

// running is what a stopped runningTimeout measured.
type running struct {
	froze bool          // a freeze happened meanwhile
	ran   time.Duration // time spent running, frozen gaps left out
}

// runningTimeout returns a context cancelled (cause errSlow) once d of running time has
// passed, not counting frozen gaps, and a stop function that releases it and reports what
// it measured.
func runningTimeout(parent context.Context, d time.Duration) (context.Context, func() running) {
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	result := make(chan running, 1)
	// Read now, not in the goroutine: a freeze before it first runs must still show.
	start := time.Now()
	go func() {
		t := time.NewTicker(min(runningTick, max(d/4, time.Millisecond)))
		defer t.Stop()
		last, r := start, running{}
		// add counts the time since the last look, unless it is a freeze's gap.
		add := func(now time.Time) {
			gap := now.Sub(last)
			last = now
			if gap > freezeGap {
				r.froze = true
				return
			}
			r.ran += gap
		}
		for {
			select {
			case <-done:
				add(time.Now()) // the send may have ended on thaw, before a tick
				result <- r
				return
			case now := <-t.C:
				if add(now); r.ran >= d {
					cancel(errSlow)
				}
			}
		}
	}()
	return ctx, func() running {
		close(done)
		r := <-result
		cancel(context.Canceled)
		return r
	}
}
