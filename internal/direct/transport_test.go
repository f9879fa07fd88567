package direct

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	waitLimit = 10 * time.Second
	accepted  = "{\"status\":\"OK\"}\n"
	nextURL   = "http://runtime/2018-06-01/runtime/invocation/next"
	resultURL = "http://runtime/2018-06-01/runtime/invocation/req-1/response"
)

// client sends every request through a Transport to addr, as the proxy does.
func client(t *testing.T, addr string) *http.Client {
	t.Helper()
	tr := New(addr, 4, nil)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitLimit}
}

// oneShotUpstream is a server that answers one request per connection, then closes
// the connection without saying so (no Connection: close): what a Runtime API that drops
// idle connections looks like to the proxy's next request.
// Each connection is counted on closedc once closed.
func oneShotUpstream(t *testing.T) (addr string, closedc chan struct{}, bodies chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	closedc = make(chan struct{}, 16)
	bodies = make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { c.Close(); closedc <- struct{}{} }()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				b, _ := io.ReadAll(req.Body)
				bodies <- string(b)
				_, _ = io.WriteString(c, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"+accepted)
			}()
		}
	}()
	return ln.Addr().String(), closedc, bodies
}

// TestClosedIdleConnection: the server closed the connection kept from the last exchange;
// the next result must still arrive whole, on a new connection, and never be written into
// the closed one.
func TestClosedIdleConnection(t *testing.T) {
	t.Run("seen closed", func(t *testing.T) { postThreeResults(t) })
	// Closed between the look and the write: the result goes again, on a new connection.
	t.Run("closed unseen", func(t *testing.T) {
		idleAlive = func(*upstreamConn) bool { return true }
		t.Cleanup(func() { idleAlive = alive })
		postThreeResults(t)
	})
}

func postThreeResults(t *testing.T) {
	addr, closedc, bodies := oneShotUpstream(t)
	c := client(t, addr)
	for i := range 3 {
		body := strings.Repeat("x", 100+i)
		resp, err := c.Post(resultURL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || string(got) != accepted {
			t.Fatalf("result %d: answer %d %q, want 202 %q", i, resp.StatusCode, got, accepted)
		}
		select {
		case b := <-bodies:
			if b != body {
				t.Fatalf("result %d: Runtime API got %d bytes, want %d", i, len(b), len(body))
			}
		case <-time.After(waitLimit):
			t.Fatalf("result %d: the Runtime API got nothing", i)
		}
		select { // the Runtime API closed this connection: the next result needs another
		case <-closedc:
		case <-time.After(waitLimit):
			t.Fatalf("result %d: the Runtime API kept its connection", i)
		}
	}
}

// TestCancelledPoll: the caller gives up a /next that waits for an event (the runtime hung
// up on the proxy). The Transport must end that poll (the server sees the connection
// close) and serve the next /next normally.
func TestCancelledPoll(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	closed := make(chan struct{}, 1)
	polled := make(chan struct{}, 1)
	go func() {
		first := true
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn, hold bool) {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				if hold { // never answer: wait for the proxy to give up the poll
					polled <- struct{}{}
					_, err := br.ReadByte()
					if errors.Is(err, io.EOF) {
						closed <- struct{}{}
					}
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: req-2\r\nContent-Length: 2\r\n\r\n{}")
			}(c, first)
			first = false
		}
	}()
	c := client(t, ln.Addr().String())

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, nextURL, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Do(req)
		errc <- err
	}()
	select { // the poll is parked at the Runtime API
	case <-polled:
	case <-time.After(waitLimit):
		t.Fatal("the /next never reached the Runtime API")
	}
	cancel()
	// As http.Transport does: the caller hanging up is not a Runtime API failure, and the
	// proxy logs only the latter.
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled /next ended with %v, want context.Canceled", err)
	}
	select {
	case <-closed:
	case <-time.After(waitLimit):
		t.Fatal("the Transport kept polling for a caller that gave up")
	}
	resp, err := c.Get(nextURL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != "{}" || resp.Header.Get("Lambda-Runtime-Aws-Request-Id") != "req-2" {
		t.Fatalf("second /next: %d %q %v", resp.StatusCode, got, resp.Header)
	}
}

// TestCancelledBody: an answer cut short because the caller hung up ends with
// context.Canceled, which ReverseProxy does not log as a read error; the Runtime API did
// nothing wrong.
func TestCancelledBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		// Half the event, then nothing more until the proxy gives up.
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\":")
		_, _ = br.ReadByte()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, nextURL, nil)
	res, err := New(ln.Addr().String(), 1, nil).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(res.Body, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := res.Body.Read(buf)
		done <- err
	}()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("the cut-short body ended with %v, want context.Canceled itself", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the body read went on after the caller hung up")
	}
}
