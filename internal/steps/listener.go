package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/bodytrace/bodytrace/internal/lograte"
	"github.com/bodytrace/bodytrace/steps/line"
)

// Handler receives each accepted step. It runs on the listener's goroutine: keep it fast.
type Handler func(line.Step)

// Stats counts what a Listener or a Counter saw.
type Stats struct {
	Accepted, Rejected uint64
}

// Counter counts accepted and rejected lines, and logs the first rejection of each run
// of them so a broken emitter does not flood the log.
type Counter struct {
	accepted, rejected atomic.Uint64
	log                *slog.Logger
}

// NewCounter returns a counter that logs to log (nil: discard).
func NewCounter(log *slog.Logger) *Counter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Counter{log: log}
}

// Feed parses one line, counts it, and hands an accepted step to h.
func (c *Counter) Feed(text []byte, h Handler) {
	s, err := line.Parse(text)
	if err != nil {
		// Log the 1st, 10th, 100th ... rejection: visible, bounded.
		if n := c.rejected.Add(1); lograte.Due(n) {
			c.log.Warn("step line ignored", "err", err, "rejected_so_far", n)
		}
		return
	}
	c.accepted.Add(1)
	h(s)
}

// Stats returns the counts.
func (c *Counter) Stats() Stats {
	return Stats{Accepted: c.accepted.Load(), Rejected: c.rejected.Load()}
}

// Listener receives step lines as UDP datagrams on loopback.
type Listener struct {
	conn *net.UDPConn
	in   *quietReader
	*Counter
	wg       sync.WaitGroup
	barriers barriers

	mu  sync.Mutex
	out *net.UDPConn // sends Sync's barrier datagrams
}

// syncMarker starts a barrier (a datagram, a line); it is never a step line.
const syncMarker = "@bodytrace/sync "

// barriers pairs each Sync's marker, written into the transport behind the steps sent
// before it, with the Sync waiting for the reader to reach it.
type barriers struct {
	mu    sync.Mutex
	waits map[uint64]chan struct{}
	seq   uint64
}

// add returns a new barrier's marker and the channel closed when the reader reaches it;
// forget must follow.
func (b *barriers) add() (marker []byte, seq uint64, reached chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waits == nil {
		b.waits = map[uint64]chan struct{}{}
	}
	b.seq++
	reached = make(chan struct{})
	b.waits[b.seq] = reached
	return fmt.Appendf(nil, "%s%d", syncMarker, b.seq), b.seq, reached
}

func (b *barriers) forget(seq uint64) {
	b.mu.Lock()
	delete(b.waits, seq)
	b.mu.Unlock()
}

// reached reports whether text is a barrier marker, waking its Sync.
func (b *barriers) reached(text []byte) bool {
	rest, ok := bytes.CutPrefix(text, []byte(syncMarker))
	if !ok {
		return false
	}
	seq, _ := strconv.ParseUint(string(rest), 10, 64)
	b.mu.Lock()
	if ch, ok := b.waits[seq]; ok {
		close(ch)
		delete(b.waits, seq)
	}
	b.mu.Unlock()
	return true
}

// wait waits for a barrier written with write, bounded by ctx.
func (b *barriers) wait(ctx context.Context, write func(marker []byte) error) error {
	marker, seq, reached := b.add()
	defer b.forget(seq)
	if err := write(marker); err != nil {
		return fmt.Errorf("sync step lines: %w", err)
	}
	select {
	case <-reached:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Listen binds addr (e.g. 127.0.0.1:9141) now and serves until Close.
func Listen(addr string, h Handler, c *Counter) (*Listener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for step lines on %s: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("listen for step lines on %s: %w", addr, err)
	}
	in, err := newQuietReader(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("listen for step lines on %s: %w", addr, err)
	}
	l := &Listener{conn: conn, in: in, Counter: c}
	l.wg.Add(1)
	go l.serve(h)
	return l, nil
}

func (l *Listener) serve(h Handler) {
	defer l.wg.Done()
	buf := make([]byte, line.MaxLine+1)
	for {
		n, err := l.in.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if l.barriers.reached(buf[:n]) {
			continue
		}
		l.Feed(buf[:n], h)
	}
}

// Sync returns once every datagram queued before the call has been handled, or ctx ends:
// at once when none is queued and the reader waits for more, else when a barrier datagram
// sent now is read back (loopback UDP keeps a socket's order). The loop calls it before
// closing a record, so steps sent just before the runtime's response are not mistaken for
// late ones.
func (l *Listener) Sync(ctx context.Context) error {
	if l.in.quiet() {
		return nil
	}
	l.mu.Lock()
	if l.out == nil {
		out, err := net.DialUDP("udp", nil, l.conn.LocalAddr().(*net.UDPAddr))
		if err != nil {
			l.mu.Unlock()
			return fmt.Errorf("sync step lines: %w", err)
		}
		l.out = out
	}
	out := l.out
	l.mu.Unlock()
	return l.barriers.wait(ctx, func(marker []byte) error {
		_, err := out.Write(marker)
		return err
	})
}

// Addr is the bound address.
func (l *Listener) Addr() string { return l.conn.LocalAddr().String() }

// Close stops the listener and waits for its goroutine.
func (l *Listener) Close() error {
	err := l.conn.Close()
	l.wg.Wait()
	l.mu.Lock()
	if l.out != nil {
		l.out.Close()
	}
	l.mu.Unlock()
	return err
}
