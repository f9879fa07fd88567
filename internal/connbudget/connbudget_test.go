package connbudget

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Over its budget the listener closes the oldest connection that has no request in
// progress, never one in the middle of a request.
func TestBudgetClosesIdleBeforeActive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	budget := New(ln, 3)
	release := make(chan struct{})
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release // a long poll, like /next
			_, _ = io.WriteString(w, "ok")
		}),
		ConnState: budget.ConnState,
	}
	go srv.Serve(budget)
	defer srv.Close()
	defer close(release)

	// One connection in a request, then idle ones past the budget.
	active, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer active.Close()
	if _, err := io.WriteString(active, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return budget.Open() == 1 })
	time.Sleep(20 * time.Millisecond) // the request is read: the connection is active
	for range 10 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	waitFor(t, func() bool { return budget.Evicted() >= 8 })
	if n := budget.Open(); n > 3 {
		t.Errorf("%d connections open, budget 3", n)
	}
	release <- struct{}{}
	_ = active.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 512)
	n, err := active.Read(b)
	if err != nil || !strings.Contains(string(b[:n]), "ok") {
		t.Errorf("the connection in a request was cut: %q, %v", b[:n], err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
	}
}
