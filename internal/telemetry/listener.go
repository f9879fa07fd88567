package telemetry

import (
	"context"
	"errors"
	"fmt"
	"github.com/bodytrace/bodytrace/internal/connbudget"
	"github.com/bodytrace/bodytrace/internal/lograte"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// SandboxHost is the only destination host Lambda delivers telemetry to.
const SandboxHost = "sandbox.localdomain"

// MaxBatchBytes caps the body the listener reads. Lambda's own cap is the
// subscription's maxBytes (at most 1 MiB); this leaves room for its framing.
const MaxBatchBytes = 8 << 20

// Handler receives each decoded batch, in the order Lambda delivered them, on one
// goroutine of the listener's, after Lambda has had its answer: a slow handler costs
// queued batches, never the platform's time. (The emulator's Managed Instances mode
// stops delivering telemetry, and then invocations, when a batch waits on a
// subscriber that has not answered the one before.)
type Handler func(events []Event)

// queuedBatches bounds the batches answered but not yet handled; past it a batch is
// dropped and counted rather than held.
const queuedBatches = 256

// Stats counts what the listener received.
type Stats struct {
	Batches   uint64 // batches decoded and handed to the Handler
	Events    uint64 // events in those batches
	Malformed uint64 // bodies that were not a JSON array, plus elements skipped in arrays
	Oversized uint64 // bodies over MaxBatchBytes, refused with 413
	Dropped   uint64 // batches answered but dropped because the handler was that far behind
}

// maxConns is the telemetry listener's connection budget: Lambda delivers on one or two.
const maxConns = 64

// Listener is the HTTP server Lambda POSTs telemetry batches to.
type Listener struct {
	ln      net.Listener
	srv     *http.Server
	handler Handler
	logger  *slog.Logger
	served  chan struct{} // closed when Serve returns
	queue   chan queued   // batches answered, waiting for the handler
	handled chan struct{} // closed when the handler goroutine has emptied the closed queue

	batches, events, malformed, oversized, dropped atomic.Uint64
	warnings                                       atomic.Uint64 // problems logged or not, for warn's rate limit
}

// DefaultAddr returns the address to give Listen: on Lambda the address
// sandbox.localdomain resolves to (as AWS's own extension samples bind),
// elsewhere, where the name does not resolve, 127.0.0.1 (the emulator
// delivers there). The port is 0, any free one; [Listener.URI] reports it.
func DefaultAddr(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if addrs, err := net.DefaultResolver.LookupHost(ctx, SandboxHost); err == nil && len(addrs) > 0 {
		return net.JoinHostPort(addrs[0], "0")
	}
	return "127.0.0.1:0"
}

// Listen binds addr now, so the caller knows it is listening before it
// subscribes, and serves in a goroutine until Close. logger nil discards.
func Listen(addr string, h Handler, logger *slog.Logger) (*Listener, error) {
	if h == nil {
		return nil, fmt.Errorf("listen for telemetry on %s: nil handler", addr)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for telemetry on %s: %w", addr, err)
	}
	// Anyone in the sandbox can connect: bound the connections held open (the proxy keeps
	// most of the descriptor budget) and how long an idle one may stay.
	budget := connbudget.New(ln, maxConns)
	ln = budget
	l := &Listener{ln: ln, handler: h, logger: logger, served: make(chan struct{}),
		queue: make(chan queued, queuedBatches), handled: make(chan struct{})}
	go func() {
		defer close(l.handled)
		for q := range l.queue {
			if q.synced != nil {
				close(q.synced)
				continue
			}
			l.handle(q.events)
		}
	}()
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(l.serve),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		ConnState:         budget.ConnState,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(l.served)
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("telemetry listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return l, nil
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// URI returns the destination to give Subscribe:
// http://sandbox.localdomain:<bound port>. Lambda accepts no other host; the
// emulator delivers to 127.0.0.1 on that port whatever the host.
func (l *Listener) URI() string {
	port := 0
	if a, ok := l.ln.Addr().(*net.TCPAddr); ok {
		port = a.Port
	}
	return "http://" + net.JoinHostPort(SandboxHost, strconv.Itoa(port))
}

// queued is a batch waiting for the handler, or a Sync marker.
type queued struct {
	events []Event
	synced chan struct{} // closed when every batch queued before it was handled
}

// Sync returns once the handler has taken every batch answered before the call, or when
// ctx ends: at SHUTDOWN, telemetry already delivered must reach its records first.
func (l *Listener) Sync(ctx context.Context) error {
	q := queued{synced: make(chan struct{})}
	select {
	case l.queue <- q:
	case <-ctx.Done():
		return fmt.Errorf("sync telemetry: %w", ctx.Err())
	}
	select {
	case <-q.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sync telemetry: %w", ctx.Err())
	}
}

// Close stops accepting batches and waits, up to ctx, for the handler to take every
// batch already answered.
func (l *Listener) Close(ctx context.Context) error {
	err := l.srv.Shutdown(ctx)
	<-l.served
	close(l.queue) // no serve is running now: Shutdown waited for them
	select {
	case <-l.handled:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("%d telemetry batches not handled: %w", len(l.queue), ctx.Err()))
	}
	if err != nil {
		return fmt.Errorf("close telemetry listener: %w", err)
	}
	return nil
}

// Stats returns the counters so far.
func (l *Listener) Stats() Stats {
	return Stats{
		Batches:   l.batches.Load(),
		Events:    l.events.Load(),
		Malformed: l.malformed.Load(),
		Oversized: l.oversized.Load(),
		Dropped:   l.dropped.Load(),
	}
}

// serve answers one delivery: 200 once the batch is queued for the Handler,
// 400 for a body that is not a JSON array, 413 over MaxBatchBytes.
// Lambda retries non-2xx deliveries, so only answers that retrying cannot
// fix are errors.
func (l *Listener) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBatchBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			l.oversized.Add(1)
			l.warn("telemetry batch too large", "limit", MaxBatchBytes)
			http.Error(w, "batch too large", http.StatusRequestEntityTooLarge)
			return
		}
		l.warn("telemetry batch unreadable", "err", err)
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	events, skipped, err := parseBatch(body)
	if err != nil {
		l.malformed.Add(1)
		l.warn("telemetry batch malformed", "bytes", len(body), "err", err)
		http.Error(w, "body is not a JSON array", http.StatusBadRequest)
		return
	}
	if skipped > 0 {
		l.malformed.Add(uint64(skipped))
		l.warn("telemetry events skipped", "skipped", skipped, "kept", len(events))
	}
	l.batches.Add(1)
	l.events.Add(uint64(len(events)))
	select {
	case l.queue <- queued{events: events}:
	default:
		l.dropped.Add(1)
		l.warn("telemetry batch dropped: the handler is behind", "events", len(events), "queued", queuedBatches)
	}
	w.WriteHeader(http.StatusOK)
}

// warn logs the 1st, 10th, 100th... problem with what Lambda delivered: visible, but a
// flood of bad batches cannot flood the log.
func (l *Listener) warn(msg string, args ...any) {
	if lograte.Due(l.warnings.Add(1)) {
		l.logger.Warn(msg, append(args, "problems_so_far", l.warnings.Load())...)
	}
}

// handle calls the Handler, containing a panic so that a bug in it costs one
// batch, not the extension.
func (l *Listener) handle(events []Event) {
	defer func() {
		if p := recover(); p != nil {
			l.logger.Error("telemetry handler panicked", "panic", fmt.Sprint(p), "events", len(events))
		}
	}()
	l.handler(events)
}
