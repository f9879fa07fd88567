package runtimeproxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestIdleFloodLeavesRoomForTheRuntime is issue 18's third case: 1,100 idle connections
// (more than Lambda's 1,024 descriptors) are opened against the proxy, then a runtime that
// opens a connection per request (Connection: close, like a bash/curl custom runtime)
// fetches an event and posts its response. It must get both through, the proxy must stay
// within its connection budget, and the upstream must see pooled keep-alive connections
// rather than one per runtime request.
func TestIdleFloodLeavesRoomForTheRuntime(t *testing.T) {
	var upstreamConns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, "/next") {
			w.Header().Set(headerRequestID, "req-1")
			_, _ = io.WriteString(w, `{"hello":"world"}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			upstreamConns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)

	p := New(Config{Upstream: up.Listener.Addr().String(), Logger: quietLogger()}, nil)
	srv, err := Listen("127.0.0.1:0", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	var idle []net.Conn
	t.Cleanup(func() {
		for _, c := range idle {
			c.Close()
		}
	})
	for range 1100 {
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatalf("dial idle connection %d: %v", len(idle), err)
		}
		idle = append(idle, c)
	}
	// The budget is enforced as the server accepts: wait until it has seen them all.
	deadline := time.Now().Add(waitLimit)
	for {
		open, evicted := srv.Conns()
		if open+int(evicted) >= 1100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy accepted %d of 1,100 idle connections", open+int(evicted))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if open, evicted := srv.Conns(); open > MaxConns || evicted < 1100-MaxConns {
		t.Errorf("open %d (budget %d), closed %d idle ones", open, MaxConns, evicted)
	}

	client := &http.Client{Timeout: waitLimit, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 20 {
		req, _ := http.NewRequest(http.MethodGet, "http://"+srv.Addr()+"/2018-06-01/runtime/invocation/next", nil)
		req.Close = true
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("exchange %d: /next: %v", i, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != `{"hello":"world"}` {
			t.Fatalf("exchange %d: /next answered %q", i, b)
		}
		req, _ = http.NewRequest(http.MethodPost, "http://"+srv.Addr()+"/2018-06-01/runtime/invocation/req-1/response", strings.NewReader(fmt.Sprint(i)))
		req.Close = true
		res, err = client.Do(req)
		if err != nil {
			t.Fatalf("exchange %d: /response: %v", i, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("exchange %d: /response answered %d", i, res.StatusCode)
		}
	}
	// Without keep-alive upstream every request is a connection (40). A pooled connection
	// goes back to the pool a moment after its body is read, so a loaded machine may dial a
	// few more than one: the bound tells pooling from none, not the pool's timing.
	if n := upstreamConns.Load(); n > 10 {
		t.Errorf("the upstream saw %d connections for 40 Connection: close requests; want pooled keep-alive (at most 10)", n)
	}
}
