package steps

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/steps/line"
)

// syncer is a transport under test: how to send it one line, and its Sync.
type syncer struct {
	send     func(t *testing.T, text []byte)
	sync     func(ctx context.Context) error
	barriers *barriers
}

// transports starts both transports with handler h.
func transports(t *testing.T, h Handler) map[string]syncer {
	t.Helper()
	fifo, err := ListenFIFO(filepath.Join(t.TempDir(), "steps-1"), h, NewCounter(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fifo.Close() })
	w := writer(t, fifo.Path())
	udp, err := Listen("127.0.0.1:0", h, NewCounter(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	conn, err := net.Dial("udp", udp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return map[string]syncer{
		"pipe": {
			send:     func(t *testing.T, text []byte) { mustWrite(t, w, append(text, '\n')) },
			sync:     fifo.Sync,
			barriers: &fifo.barriers,
		},
		"datagram": {
			send:     func(t *testing.T, text []byte) { mustWrite(t, conn, text) },
			sync:     udp.Sync,
			barriers: &udp.barriers,
		},
	}
}

func mustWrite(t *testing.T, w interface{ Write([]byte) (int, error) }, b []byte) {
	t.Helper()
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestSyncWaitsForHandling: the last line has left the pipe or socket but its handler is
// still running. Nothing is queued, yet Sync must wait: the line is not handled.
func TestSyncWaitsForHandling(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	h := func(line.Step) {
		entered <- struct{}{}
		<-release
	}
	for name, tr := range transports(t, h) {
		t.Run(name, func(t *testing.T) {
			tr.send(t, line.Format(line.Step{RequestID: "r", Stage: "handler"}))
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the line never reached its handler")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := tr.sync(ctx); err == nil {
				t.Error("Sync returned nil while the handler still ran")
			}
			release <- struct{}{}
		})
	}
}

// TestSyncQuiet: once every line is handled and the reader waits for more, Sync returns
// without a barrier; with a line still queued it writes one.
func TestSyncQuiet(t *testing.T) {
	handled := make(chan struct{}, 4)
	for name, tr := range transports(t, func(line.Step) { handled <- struct{}{} }) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tr.send(t, line.Format(line.Step{RequestID: "r", Stage: "handler"}))
			if err := tr.sync(ctx); err != nil { // the line may still be queued: a barrier, maybe
				t.Fatal(err)
			}
			select {
			case <-handled:
			default:
				t.Fatal("Sync returned before the line was handled")
			}
			// The reader goes back to waiting just after handling: Syncs until one finds it so.
			deadline := time.Now().Add(10 * time.Second)
			for {
				before := barrierCount(tr.barriers)
				if err := tr.sync(ctx); err != nil {
					t.Fatal(err)
				}
				if barrierCount(tr.barriers) == before {
					return // no barrier written: the quiet path
				}
				if time.Now().After(deadline) {
					t.Fatal("every Sync wrote a barrier, with nothing queued")
				}
			}
		})
	}
}

func barrierCount(b *barriers) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}
