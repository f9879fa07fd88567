package export

import (
	"fmt"
	"time"
)

// Bounds of the breaker's wait before it tries the backend again.
const (
	probeFirst = 500 * time.Millisecond
	probeMax   = 30 * time.Second
)

// breaker stops invocations from waiting on a backend that failed: after a failed or slow
// export it opens, flushes stop waiting, and only the outbox's background worker tries the
// backend again, after a backoff that doubles up to probeMax. A success closes it. Not safe
// for concurrent use: the outbox guards it.
type breaker struct {
	open     bool
	err      error     // what opened it
	failures int       // consecutive failures
	retryAt  time.Time // when the next background try may start
}

// fail records a failed or slow export at now.
func (b *breaker) fail(err error, now time.Time) {
	b.open, b.err = true, err
	b.failures++
	wait := probeMax
	if b.failures < 16 {
		wait = min(probeFirst<<(b.failures-1), probeMax)
	}
	b.retryAt = now.Add(wait)
}

// succeed records a successful export and reports whether that closed the breaker.
func (b *breaker) succeed() (recovered bool) {
	recovered = b.open
	*b = breaker{}
	return recovered
}

// PausedError is what a flush returns while the breaker is open: it did not wait for the
// backend, and the traces wait in a bounded buffer for the background retry.
type PausedError struct {
	Err     error // the failure that opened the breaker
	Pending int   // traces waiting
}

func (e *PausedError) Error() string {
	return fmt.Sprintf("export paused after a failed or slow export (%v): %d traces kept in a bounded buffer until a background retry succeeds", e.Err, e.Pending)
}

func (e *PausedError) Unwrap() error { return e.Err }
