package runtimeproxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type livenessRecorder struct {
	Observer
	asked  chan time.Time
	hungUp chan string
}

func (l *livenessRecorder) Asked(at time.Time)            { l.asked <- at }
func (l *livenessRecorder) HungUp(id string, _ time.Time) { l.hungUp <- id }

// The proxy tells the observer when a /next arrives, and when the connection that carried
// a result closes before any /next came (the runtime's process ended after its result).
func TestLiveness(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer up.Close()
	rec := &livenessRecorder{Observer: newRecorder(), asked: make(chan time.Time, 4), hungUp: make(chan string, 4)}
	_, proxyURL := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, rec)
	addr := strings.TrimPrefix(proxyURL, "http://")

	post := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
		b := make([]byte, 512)
		_ = c.SetReadDeadline(time.Now().Add(waitLimit))
		if n, err := c.Read(b); err != nil || !strings.Contains(string(b[:n]), "202") {
			t.Fatalf("answer %q, %v", b[:n], err)
		}
		return c
	}
	// The runtime hangs up after its result: reported.
	post().Close()
	select {
	case id := <-rec.hungUp:
		if id != "req-1" {
			t.Errorf("hung up on %q, want req-1", id)
		}
	case <-time.After(waitLimit):
		t.Fatal("no hang-up reported")
	}
	// The runtime asks for its next event, then closes the result connection: alive.
	c := post()
	n, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	_, _ = io.WriteString(n, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-rec.asked:
	case <-time.After(waitLimit):
		t.Fatal("the /next was not reported")
	}
	c.Close()
	select {
	case id := <-rec.hungUp:
		t.Errorf("hang-up reported for %s although the runtime asked for its next event", id)
	case <-time.After(200 * time.Millisecond):
	}
}
