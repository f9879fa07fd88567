package steps

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/steps/line"
)

// TestListenerSync sends step lines and malformed datagrams, then Sync: every line sent
// before Sync must have been handled when it returns.
func TestListenerSync(t *testing.T) {
	var mu sync.Mutex
	var got []line.Step
	c := NewCounter(nil)
	l, err := Listen("127.0.0.1:0", func(s line.Step) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	}, c)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, err := net.Dial("udp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 200
	for i := range n {
		_, _ = conn.Write(line.Format(line.Step{RequestID: "r", Seq: i, Stage: "handler", Bytes: int64(i)}))
		if i%50 == 0 {
			_, _ = conn.Write([]byte("@bodytrace/step {broken"))
		}
	}
	// No waiting: every datagram above is already in the socket's queue, as a function's
	// steps are by the time its response reaches the proxy; Sync must come after them.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if st := c.Stats(); st.Accepted != n || st.Rejected != 4 {
		t.Fatalf("after Sync: stats %+v, want %d accepted and 4 rejected", st, n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, s := range got {
		if s.Seq != i {
			t.Fatalf("step %d has seq %d: loopback order lost", i, s.Seq)
		}
	}
	if c.Stats().Accepted != n {
		t.Errorf("barrier datagrams were counted as steps: %+v", c.Stats())
	}
}

func TestListenerSyncBounded(t *testing.T) {
	l, err := Listen("127.0.0.1:0", func(line.Step) {}, NewCounter(nil))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.Sync(ctx); err == nil {
		t.Fatal("Sync on a closed listener returned nil; want an error or the context's end")
	}
}

func TestListenBusyAddress(t *testing.T) {
	l, err := Listen("127.0.0.1:0", func(line.Step) {}, NewCounter(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Listen(l.Addr(), func(line.Step) {}, NewCounter(nil)); err == nil {
		t.Fatal("second Listen on the same address succeeded")
	}
}
