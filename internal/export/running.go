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

// runningTimeout returns a context cancelled (cause errSlow) once d of running time has
// passed, not counting frozen gaps, and a stop function that releases it and reports
// whether a freeze happened meanwhile.
func runningTimeout(parent context.Context, d time.Duration) (context.Context, func() (froze bool)) {
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	result := make(chan bool, 1)
	go func() {
		t := time.NewTicker(min(runningTick, max(d/4, time.Millisecond)))
		defer t.Stop()
		last, ran, froze := time.Now(), time.Duration(0), false
		for {
			select {
			case <-done:
				if time.Since(last) > freezeGap {
					froze = true // stopped after the last tick: the send's end came on thaw
				}
				result <- froze
				return
			case now := <-t.C:
				gap := now.Sub(last)
				last = now
				if gap > freezeGap {
					froze = true
					continue
				}
				if ran += gap; ran >= d {
					cancel(errSlow)
				}
			}
		}
	}()
	return ctx, func() bool {
		close(done)
		froze := <-result
		cancel(context.Canceled)
		return froze
	}
}
