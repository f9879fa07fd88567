package runtimeproxy

import (
	"context"
	"net"
	"net/http"
	"time"
)

// Liveness is an optional interface of an Observer: what the proxy can tell of whether the
// runtime process lives on after a result. A healthy runtime asks for its next event right
// after its result; one whose process died (a panic after a streamed response) hangs up
// instead, and the caller gets an error even though the Runtime API took the whole stream.
type Liveness interface {
	// Asked is called when a /next request arrives, before it is forwarded: the runtime
	// is alive and done with its previous invocation.
	Asked(at time.Time)
	// HungUp is called when the connection that carried the result for requestID closed,
	// from the runtime's side, before the runtime asked for its next event.
	HungUp(requestID string, at time.Time)
}

type connKey struct{}

// connContext lets ServeHTTP find the connection a request came on.
func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// noteResult remembers that c's last exchange was the result for requestID, which arrived
// when the proxy had seen nexts /next requests. The count is the one at the result's arrival,
// not now: the runtime may ask for its next event as soon as it has the answer, before this
// runs, and that /next must count as alive.
func (p *Proxy) noteResult(r *http.Request, requestID string, nexts uint64) {
	c, ok := r.Context().Value(connKey{}).(net.Conn)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastResult == nil {
		p.lastResult = map[net.Conn]resultConn{}
	}
	p.lastResult[c] = resultConn{requestID: requestID, nexts: nexts}
}

// forgetConn drops c's last result when c carries another request.
func (p *Proxy) forgetConn(r *http.Request) {
	c, ok := r.Context().Value(connKey{}).(net.Conn)
	if !ok {
		return
	}
	p.mu.Lock()
	delete(p.lastResult, c)
	p.mu.Unlock()
}

type resultConn struct {
	requestID string
	nexts     uint64 // /next requests seen when the result arrived
}

// connState reports a result connection that closed before any /next came.
func (p *Proxy) connState(c net.Conn, s http.ConnState) {
	if s != http.StateClosed && s != http.StateHijacked {
		return
	}
	p.mu.Lock()
	rc, ok := p.lastResult[c]
	delete(p.lastResult, c)
	p.mu.Unlock()
	if !ok || rc.nexts != p.nexts.Load() {
		return
	}
	if lv, ok := p.obs.(Liveness); ok {
		p.call(rc.requestID, func() { lv.HungUp(rc.requestID, time.Now()) })
	}
}
