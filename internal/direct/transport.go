// Package direct is an HTTP/1.1 client transport for one loopback address (the Lambda
// Runtime API) that makes each round trip on the caller's goroutine.
package direct

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Transport makes each round trip to its address on the caller's goroutine: it writes the
// request and reads the answer itself, on a kept-alive connection. Go's
// http.Transport hands each request to a writer goroutine and each answer from a reader
// goroutine, per connection: two goroutine hand-offs per exchange, each a thread wake-up
// when the CPUs are idle, on both the event's and the result's way (BenchmarkProxySmall;
// history.md has what it saved per invocation). It carries what the runtime sends or is
// sent at once: requests without a body or with a small one (/next, buffered results,
// errors). A large or streamed body goes through the fallback (an http.Transport), which
// reads an early answer while the body is still being written.
type Transport struct {
	addr     string
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	fallback *http.Transport
	maxIdle  int
	stream   func(*http.Request) bool

	mu   sync.Mutex
	idle []*upstreamConn
}

// New returns a Transport to the Runtime API at addr (host:port), keeping up to maxIdle
// connections. Its fallback, an http.Transport with the same bounds, carries the requests
// it does not: bodies over BodyLimit, and those of unknown length that stream tells are
// streams (their first bytes must go as they are written, not once a buffer fills; nil:
// none is). Neither ever uses the environment's proxy settings or asks for compression.
func New(addr string, maxIdle int, stream func(*http.Request) bool) *Transport {
	if stream == nil {
		stream = func(*http.Request) bool { return false }
	}
	dial := (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	fallback := &http.Transport{
		Proxy:       nil, // HTTP_PROXY and friends must never apply to the Runtime API
		DialContext: dial,
		// No ResponseHeaderTimeout: /next is a long poll that may block for hours.
		DisableCompression:  true, // never add Accept-Encoding
		ForceAttemptHTTP2:   false,
		MaxIdleConns:        maxIdle,
		MaxIdleConnsPerHost: maxIdle,
		IdleConnTimeout:     90 * time.Second,
		WriteBufferSize:     32 << 10,
		ReadBufferSize:      32 << 10,
	}
	return &Transport{addr: addr, dial: dial, fallback: fallback, maxIdle: maxIdle, stream: stream}
}

// BodyLimit is the largest request body the caller's goroutine writes before it reads the
// answer: it fits the socket's buffer, so the write finishes whatever the server does
// meanwhile.
const BodyLimit = 64 << 10

// upstreamConn is a kept connection with its buffers.
type upstreamConn struct {
	net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// longAgo is a deadline in the past: it ends a blocked read or write at once.
var longAgo = time.Unix(1, 0)

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && (req.ContentLength > BodyLimit || req.ContentLength < 0 && t.stream(req)) {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A small body is read whole first: it can be sent again on another connection when a
	// kept one turns out closed. A chunked one (aws-lambda-go posts every result so) is
	// read up to the limit; a longer one goes on through fallback, whole.
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(io.LimitReader(req.Body, BodyLimit+1)); err != nil {
			req.Body.Close()
			return nil, fmt.Errorf("read request body: %w", err)
		}
		if len(body) > BodyLimit {
			req.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(body), req.Body), req.Body}
			return t.fallback.RoundTrip(req)
		}
		req.Body.Close()
	}
	for fresh := false; ; fresh = true {
		res, retry, err := t.try(ctx, req, body, fresh)
		if err == nil || !retry || fresh || ctx.Err() != nil {
			return res, err
		}
	}
}

// try makes one round trip, on a kept connection unless fresh. retry tells that it failed
// on a kept connection before any answer came: the server had closed it, and the
// request can go again.
func (t *Transport) try(ctx context.Context, req *http.Request, body []byte, fresh bool) (res *http.Response, retry bool, err error) {
	c, reused, err := t.conn(ctx, fresh)
	if err != nil {
		return nil, false, err
	}
	// A cancelled request (the runtime hung up) ends whatever the connection is doing.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(longAgo) })
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	werr := req.Write(c.bw)
	if werr == nil {
		werr = c.bw.Flush()
	}
	// Nothing at all to read: the server closed the connection without an answer.
	_, perr := c.br.Peek(1)
	unanswered := errors.Is(perr, io.EOF) || errors.Is(perr, syscall.ECONNRESET)
	res, rerr := readAnswer(c.br, req)
	if rerr != nil {
		stop()
		c.Close()
		if cerr := ctx.Err(); cerr != nil {
			// The deadline set when the caller hung up ended the exchange: say that, as
			// http.Transport does, not "i/o timeout" (the Runtime API did nothing wrong).
			return nil, false, fmt.Errorf("%w (%v)", cerr, rerr)
		}
		if werr != nil {
			return nil, reused, werr
		}
		return nil, reused && unanswered, rerr
	}
	// An answer that came while the request was still being written (the write then
	// failed) is the server's last word on this connection.
	keep := werr == nil && !res.Close && !req.Close
	res.Body = &upstreamBody{ReadCloser: res.Body, ctx: ctx, t: t, c: c, stop: stop, keep: keep}
	return res, false, nil
}

// readAnswer reads the server's final answer, skipping interim (1xx) ones.
func readAnswer(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		res, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			return res, nil
		}
		res.Body.Close()
	}
}

// upstreamBody gives the connection back once its answer is read to the end.
type upstreamBody struct {
	io.ReadCloser
	ctx  context.Context
	t    *Transport
	c    *upstreamConn
	stop func() bool
	keep bool
	done bool
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release(err == io.EOF)
		if cerr := b.ctx.Err(); err != io.EOF && cerr != nil {
			// Cut short because the caller hung up: the error ReverseProxy knows not to log.
			err = cerr
		}
	}
	return n, err
}

func (b *upstreamBody) Close() error {
	b.release(false)
	return nil
}

// release ends the exchange: the connection goes back to the pool when the answer was read
// whole and both sides keep it alive, else it is closed.
func (b *upstreamBody) release(whole bool) {
	if b.done {
		return
	}
	b.done = true
	// stop is false once the request was cancelled: the connection's deadline is spent.
	if b.stop() && whole && b.keep {
		b.t.put(b.c)
		return
	}
	b.c.Close()
}

// conn returns a live kept connection (reused), or a new one: always when fresh.
func (t *Transport) conn(ctx context.Context, fresh bool) (c *upstreamConn, reused bool, err error) {
	for !fresh {
		t.mu.Lock()
		n := len(t.idle)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		c := t.idle[n-1]
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		if idleAlive(c) {
			return c, true, nil
		}
		c.Close()
	}
	nc, err := t.dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, false, err
	}
	return &upstreamConn{Conn: nc, br: bufio.NewReaderSize(nc, 32<<10), bw: bufio.NewWriterSize(nc, 32<<10)}, false, nil
}

// idleAlive is alive; tests replace it to reuse a connection the server closed.
var idleAlive = alive

// alive tells whether an idle connection can carry a request: the server has not
// closed it, and has sent nothing unasked. One non-blocking peek at the socket.
func alive(c *upstreamConn) bool {
	if c.br.Buffered() > 0 {
		return false
	}
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	live := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		live = errors.Is(rerr, syscall.EAGAIN) // nothing to read, and not closed
		return true                            // never wait: the answer is now
	})
	return err == nil && live
}

// put keeps a connection for the next request, or closes it when enough are kept.
func (t *Transport) put(c *upstreamConn) {
	_ = c.SetDeadline(time.Time{})
	t.mu.Lock()
	if len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, c)
		c = nil
	}
	t.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// CloseIdleConnections closes the kept connections, the fallback's too.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
	t.fallback.CloseIdleConnections()
}
