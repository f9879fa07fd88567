package runtimeproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bodytrace/bodytrace/internal/direct"
	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/lograte"
	"github.com/bodytrace/bodytrace/steps/ready"
)

// Default capture sizes, used when the Config leaves them zero.
const (
	// DefaultCaptureLimit is Lambda's synchronous event limit (6 MiB) plus
	// 1 KiB, so a whole event is captured.
	DefaultCaptureLimit = 6<<20 + 1<<10
	// DefaultHeadLimit covers a function URL's prelude and a small buffered
	// JSON result.
	DefaultHeadLimit = 64 << 10
)

const (
	upstreamBodyLimit = 4 << 10 // Runtime API error answers kept for the observer
)

// Header names the proxy reads.
const (
	headerRequestID    = "Lambda-Runtime-Aws-Request-Id"
	headerResponseMode = "Lambda-Runtime-Function-Response-Mode"
)

// Config configures a Proxy.
type Config struct {
	// Upstream is the host:port of the real Runtime API, the value
	// AWS_LAMBDA_RUNTIME_API had before it was pointed at the proxy.
	Upstream string
	// CaptureLimit caps the bytes of each event kept for Observer.Next:
	// 0 selects DefaultCaptureLimit, a negative value captures nothing.
	CaptureLimit int
	// Scan, when set, returns a writer that sees every body byte the runtime posts to
	// /response as the bytes pass (nothing is kept for it); Response.Scan hands it to the
	// observer. It runs on the forwarding path, so it must be fast and must not block;
	// a panic in it stops the scan, never the forwarding.
	Scan func(r *http.Request) io.Writer
	// HeadLimit caps the bytes of each posted body kept in Response.Head:
	// 0 selects DefaultHeadLimit, a negative value captures nothing.
	HeadLimit int
	// Logger receives forwarding failures and recovered observer panics;
	// nil means slog.Default().
	Logger *slog.Logger
	// Nonce, when set, is answered to GET ready.NoncePath, so the exec wrapper and the Go
	// steps package can tell this proxy from another program on the port.
	Nonce string
}

// Stats are running totals of what passed through a Proxy.
type Stats struct {
	Nexts     uint64 // GET /next calls received from the runtime (counted when they arrive)
	Responses uint64 // /response, /error and /init/error exchanges finished
	Errors    uint64 // observed exchanges that failed (upstream unreachable, cut stream, aborted answer)
	Bytes     uint64 // body bytes forwarded in observed exchanges, both directions
}

// Proxy forwards the Runtime API byte for byte and reports to an Observer.
// It is an http.Handler; use Listen to serve it.
type Proxy struct {
	upstream     string
	captureLimit int
	headLimit    int
	obs          Observer
	scan         func(r *http.Request) io.Writer
	nonce        string
	log          *slog.Logger
	transport    *direct.Transport
	rp           *httputil.ReverseProxy
	buffers      bufferPool

	nexts, responses, errs, bytes atomic.Uint64
	upstreamFailures              atomic.Uint64 // for the log's rate limit

	mu         sync.Mutex
	lastResult map[net.Conn]resultConn // connections whose last exchange was a result
}

// New returns a Proxy forwarding to cfg.Upstream. obs may be nil.
func New(cfg Config, obs Observer) *Proxy {
	p := &Proxy{
		upstream:     strings.TrimPrefix(cfg.Upstream, "http://"),
		captureLimit: limitOr(cfg.CaptureLimit, DefaultCaptureLimit),
		headLimit:    limitOr(cfg.HeadLimit, DefaultHeadLimit),
		obs:          obs,
		scan:         cfg.Scan,
		nonce:        cfg.Nonce,
		log:          cfg.Logger,
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	// Managed Instances run many /next polls at once.
	p.transport = direct.New(p.upstream, 64, streamed)
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: p.transport,
		// An answer of unknown length (chunked) is flushed at every write: ReverseProxy does
		// that by itself. One of known length goes out whole, headers and body in one write,
		// when the handler flushes it (observe): -1 here would send the headers on their own
		// from a timer goroutine, one more segment and wake-up for the runtime on every event.
		FlushInterval:  0,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.upstreamError,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		BufferPool:     &p.buffers,
	}
	return p
}

// streamed tells a streamed result: its first bytes must reach the Runtime API as the
// runtime writes them, not once a buffer fills.
func streamed(req *http.Request) bool {
	return strings.EqualFold(req.Header.Get(headerResponseMode), "streaming") ||
		// aws-lambda-go's lambdaurl streams without the mode header.
		strings.HasPrefix(req.Header.Get("Content-Type"), invocation.HTTPIntegrationContentType)
}

func limitOr(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Stats returns the running totals.
func (p *Proxy) Stats() Stats {
	return Stats{
		Nexts:     p.nexts.Load(),
		Responses: p.responses.Load(),
		Errors:    p.errs.Load(),
		Bytes:     p.bytes.Load(),
	}
}

// Seen reports whether any runtime has called /next through the proxy, that
// is whether the Runtime API is observed.
func (p *Proxy) Seen() bool { return p.nexts.Load() > 0 }

// exchange is the state of one request through the proxy, carried to the
// ReverseProxy hooks in the request context. The hooks run on the serving
// goroutine; only tee is touched by the Transport's goroutine.
type exchange struct {
	route   route
	start   time.Time
	nexts   uint64      // /next requests the proxy had seen when this request arrived
	tee     *requestTee // body posted by the runtime; nil if none
	status  int
	header  http.Header // the Runtime API answer's headers
	answer  *capture    // tee over the Runtime API answer body; nil if not captured
	chunked bool        // the Runtime API answer had no Content-Length
	err     error       // from ErrorHandler
}

type exchangeKey struct{}

// ServeHTTP forwards one request to the Runtime API and its answer back.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.nonce != "" && r.Method == http.MethodGet && r.URL.Path == ready.NoncePath {
		_, _ = io.WriteString(w, p.nonce)
		return
	}
	ex := &exchange{route: parseRoute(r.Method, r.URL.Path), start: time.Now(), nexts: p.nexts.Load()}
	in := r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex))
	if ex.route.kind != "" && ex.route.kind != kindNext && r.ContentLength != 0 {
		ex.tee = newRequestTee(r, p.headLimit)
		if p.scan != nil && ex.route.kind == KindResponse {
			ex.tee.scan = p.scan(r)
		}
		in.Body = ex.tee
		if ex.tee.out != nil {
			in.Trailer = ex.tee.out
		}
	}
	if ex.route.kind == kindNext {
		p.nexts.Add(1)
		p.forgetConn(r)
		if lv, ok := p.obs.(Liveness); ok {
			p.call("", func() { lv.Asked(ex.start) })
		}
	}
	ew := &exactWriter{ResponseWriter: w, ex: ex}
	if ex.route.kind == "" {
		p.rp.ServeHTTP(ew, in)
		return
	}
	aborted := true
	defer func() {
		// ReverseProxy panics with http.ErrAbortHandler when an answer is
		// cut mid-body; report it, then let the server abort the connection.
		var rec any
		if aborted {
			rec = recover()
		}
		p.observe(ex, ew, r, rec != nil)
		if ex.route.kind == KindResponse || ex.route.kind == KindError {
			p.noteResult(r, ex.route.requestID, ex.nexts)
		}
		if rec != nil {
			panic(rec)
		}
	}()
	p.rp.ServeHTTP(ew, in)
	aborted = false
}

// rewrite addresses the outbound request to the Runtime API. ReverseProxy
// has already removed hop-by-hop headers; everything else stays as sent.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = p.upstream
	pr.Out.Host = "" // Host names the Runtime API, as if the runtime had dialled it
	// Rewrite strips forwarding headers; a byte-exact proxy puts back what was sent.
	for _, k := range [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v, ok := pr.In.Header[k]; ok {
			pr.Out.Header[k] = v
		}
	}
	// Expect: 100-continue is answered once, by this server, when the body is first read;
	// forwarded too, the Runtime API's own 100 Continue would reach the runtime as a second
	// one, and a strict client cuts its request on it.
	pr.Out.Header.Del("Expect")
	// Share, not clone, the trailer map: its values arrive only at body EOF.
	pr.Out.Trailer = pr.In.Trailer
}

func (p *Proxy) modifyResponse(res *http.Response) error {
	ex, _ := res.Request.Context().Value(exchangeKey{}).(*exchange)
	if ex == nil {
		return nil
	}
	ex.status = res.StatusCode
	ex.header = res.Header
	ex.chunked = res.ContentLength < 0
	switch {
	case ex.route.kind == kindNext:
		ex.answer = newCapture(res.Body, p.captureLimit, res.ContentLength)
		res.Body = ex.answer
	case ex.route.kind != "" && res.StatusCode >= 400:
		ex.answer = newCapture(res.Body, upstreamBodyLimit, res.ContentLength)
		res.Body = ex.answer
	}
	return nil
}

// upstreamError answers 502 when the Runtime API could not be reached or the
// request could not be forwarded (including a runtime that cut its body).
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	err = fmt.Errorf("forward %s %s to runtime API %s: %w", r.Method, r.URL.Path, p.upstream, err)
	ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
	if ex != nil {
		ex.err = err
	}
	if !errors.Is(err, context.Canceled) {
		// A Runtime API that is gone fails every request: log the 1st, 10th, 100th...
		if n := p.upstreamFailures.Add(1); lograte.Due(n) {
			p.log.Warn("runtime api proxy: upstream failed", "error", err.Error(), "path", r.URL.Path, "failures_so_far", n)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	fmt.Fprintf(w, `{"errorMessage":%q,"errorType":"BodytraceProxy.UpstreamError"}`, err.Error())
}

// observe reports a finished exchange. It flushes first, so a Content-Length
// answer is complete on the runtime's side before the observer runs.
func (p *Proxy) observe(ex *exchange, w *exactWriter, r *http.Request, aborted bool) {
	if !aborted && w.wroteHeader {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
	end := time.Now()
	if ex.route.kind == kindNext {
		n := Next{Header: ex.header, Status: ex.status, Start: ex.start, End: end, Err: ex.err}
		if ex.header != nil {
			n.RequestID = ex.header.Get(headerRequestID)
		}
		if ex.answer != nil {
			n.Body, n.Size, n.Truncated = ex.answer.buf, ex.answer.size, ex.answer.truncated
			if n.Err == nil && ex.answer.err != nil {
				n.Err = fmt.Errorf("read event from runtime API: %w", ex.answer.err)
			}
		}
		if n.Err == nil && aborted {
			n.Err = errors.New("forward event to runtime: connection aborted")
		}
		p.bytes.Add(uint64(n.Size))
		// A poll the runtime gave up before any event came (it exited, or the environment
		// is shutting down) is not a failed exchange.
		if n.Err != nil && !(n.Header == nil && errors.Is(n.Err, context.Canceled)) {
			p.errs.Add(1)
		}
		if p.obs != nil {
			p.call(n.RequestID, func() { p.obs.Next(n) })
		}
		return
	}
	res := Response{
		RequestID: ex.route.requestID,
		Kind:      ex.route.kind,
		Streaming: strings.EqualFold(r.Header.Get(headerResponseMode), "streaming"),
		Header:    r.Header,
		Start:     ex.start,
		End:       end,
		Status:    ex.status,
		Err:       ex.err,
	}
	if ex.tee != nil {
		s := ex.tee.snapshot()
		res.Head, res.Size, res.Chunks, res.FirstByte, res.Trailer = s.head, s.size, s.chunks, s.first, s.trailer
		res.Scan = s.scan
		if !s.end.IsZero() {
			res.End = s.end
		}
		if s.err != nil {
			// The Transport's error wraps this one too; name the cause.
			res.Err = fmt.Errorf("read body from runtime: %w", s.err)
		}
	}
	if ex.answer != nil {
		res.UpstreamBody = ex.answer.buf
	}
	if res.Err == nil && aborted {
		res.Err = errors.New("forward runtime API answer to runtime: connection aborted")
	}
	p.responses.Add(1)
	p.bytes.Add(uint64(res.Size))
	if res.Err != nil {
		p.errs.Add(1)
	}
	if p.obs != nil {
		p.call(res.RequestID, func() { p.obs.Response(res) })
	}
}

// call runs an observer callback; its panic must never reach forwarding.
func (p *Proxy) call(requestID string, f func()) {
	defer func() {
		if rec := recover(); rec != nil {
			p.log.Error("runtime api proxy: observer panicked", "requestId", requestID, "panic", fmt.Sprint(rec))
		}
	}()
	f()
}

// exactWriter keeps the answer's headers exactly those the Runtime API sent:
// Go's server would add Date, sniff a Content-Type, and compute a
// Content-Length for a short chunked answer.
type exactWriter struct {
	http.ResponseWriter
	ex          *exchange
	wroteHeader bool
}

func (w *exactWriter) WriteHeader(code int) {
	if code < 200 || w.wroteHeader {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.wroteHeader = true
	h := w.Header()
	for _, k := range [...]string{"Date", "Content-Type"} {
		if _, ok := h[k]; !ok {
			h[k] = nil // a nil value suppresses the server's own
		}
	}
	w.ResponseWriter.WriteHeader(code)
	if w.ex.chunked && w.ex.status != 0 && bodyAllowed(code) {
		// Headers out now: chunked, as the Runtime API sent it, even if empty.
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

func (w *exactWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data to the runtime.
func (w *exactWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the server's writer.
func (w *exactWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func bodyAllowed(code int) bool {
	return code != http.StatusNoContent && code != http.StatusNotModified
}

// bufferPool recycles ReverseProxy's 32 KiB copy buffers.
type bufferPool struct{ pool sync.Pool }

func (bp *bufferPool) Get() []byte {
	if b, ok := bp.pool.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, 32<<10)
}

func (bp *bufferPool) Put(b []byte) { bp.pool.Put(&b) }
