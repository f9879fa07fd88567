// Package connbudget bounds the connections an HTTP server holds open, below the
// process's descriptor limit (1,024 on Lambda), so that idle connections opened by anyone
// in the sandbox cannot make accept fail for the runtime that needs the server.
package connbudget

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Listener wraps a net.Listener with a connection budget. Give its ConnState to the
// http.Server that serves it. When a new connection would pass the budget, the oldest
// connection that is not in the middle of a request (no request yet, or idle between
// requests) is closed to make room: a runtime's connection is almost always in a request
// (a /next long poll), so a flood of idle connections pays for itself, never the runtime.
type Listener struct {
	net.Listener
	max int

	mu    sync.Mutex
	conns map[net.Conn]*conn

	evicted atomic.Uint64
}

type conn struct {
	state http.ConnState
	since time.Time
}

// New wraps ln with a budget of limit open connections (at least 1).
func New(ln net.Listener, limit int) *Listener {
	return &Listener{Listener: ln, max: max(1, limit), conns: map[net.Conn]*conn{}}
}

// Accept waits for a connection and, when the budget is spent, closes the oldest
// connection without a request in progress. When every connection is in a request, the
// new one is kept anyway: refusing it could refuse the runtime, and the server's read
// header timeout frees the slow ones.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	var victim net.Conn
	l.mu.Lock()
	if len(l.conns) >= l.max {
		var oldest *conn
		for nc, info := range l.conns {
			if info.state != http.StateNew && info.state != http.StateIdle {
				continue
			}
			if oldest == nil || info.since.Before(oldest.since) {
				victim, oldest = nc, info
			}
		}
		if victim != nil {
			delete(l.conns, victim)
		}
	}
	l.conns[c] = &conn{state: http.StateNew, since: time.Now()}
	l.mu.Unlock()
	if victim != nil {
		l.evicted.Add(1)
		_ = victim.Close()
	}
	return c, nil
}

// ConnState tracks each connection's state; set it as the http.Server's ConnState.
func (l *Listener) ConnState(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		if info, ok := l.conns[c]; ok {
			info.state, info.since = s, time.Now()
		}
	}
}

// Open returns how many connections are held open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Evicted returns how many idle connections were closed to stay within the budget.
func (l *Listener) Evicted() uint64 { return l.evicted.Load() }
