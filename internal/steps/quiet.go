package steps

import (
	"sync/atomic"
	"syscall"
)

// quietReader reads a pollable descriptor (the step pipe, the step socket) itself, so that
// it knows when every byte written to it has been read and handled: Sync then has nothing
// to wait for, and spares the barrier's round trip through the reader (two thread wake-ups
// per transport on every result the proxy sees).
type quietReader struct {
	raw syscall.RawConn
	// idle is set when a read found nothing, and cleared before each read: while it is
	// set, whatever was read before has been handled (the reader only reads again once it
	// has).
	idle atomic.Bool
}

func newQuietReader(c syscall.Conn) (*quietReader, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &quietReader{raw: raw}, nil
}

// Read reads what the descriptor holds (one datagram from a socket), waiting until there
// is something. It returns an error once the descriptor is closed.
func (r *quietReader) Read(p []byte) (int, error) {
	var n int
	var rerr error
	err := r.raw.Read(func(fd uintptr) bool {
		r.idle.Store(false)
		n, rerr = syscall.Read(int(fd), p)
		if rerr == syscall.EAGAIN {
			r.idle.Store(true)
			return false // wait until readable
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	return max(n, 0), nil
}

// quiet reports whether everything written before the call has been handled: nothing
// waits in the descriptor, then the reader is waiting for more. In that order: a read that
// took the last bytes cleared idle before it took them, and idle is set again only after
// they were handled.
func (r *quietReader) quiet() bool {
	pending, ok := inQueue(r.raw)
	return ok && pending == 0 && r.idle.Load()
}
