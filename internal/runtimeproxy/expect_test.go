package runtimeproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestExpectContinueOnce: a runtime (libcurl sends it for larger bodies) posts its result
// with Expect: 100-continue. It must see exactly one 100 Continue, then the Runtime API's
// final answer, and the Runtime API must get the whole body.
func TestExpectContinueOnce(t *testing.T) {
	got := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // Go's server sends its own 100 Continue here if asked
		got <- string(b)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(up.Close)
	_, proxyURL := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, nil)

	c, err := net.Dial("tcp", strings.TrimPrefix(proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	_, _ = io.WriteString(c, "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first answer line %q (%v), want a 100 Continue", line, err)
	}
	_, _ = br.ReadString('\n') // blank line ending the interim answer
	_, _ = io.WriteString(c, "hello")
	var statuses []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v; statuses so far %q", err, statuses)
		}
		if strings.HasPrefix(line, "HTTP/1.1 ") {
			statuses = append(statuses, strings.TrimSpace(line))
		}
		if strings.HasPrefix(line, "HTTP/1.1 202") {
			break
		}
	}
	if len(statuses) != 1 {
		t.Errorf("after the body the runtime saw %q; want only the final 202 (one 100 Continue in all)", statuses)
	}
	if b := <-got; b != "hello" {
		t.Errorf("upstream got body %q", b)
	}
}
