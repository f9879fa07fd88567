package telemetry

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collector is a Handler that keeps what it is given.
type collector struct {
	mu     sync.Mutex
	events []Event
}

func (c *collector) handle(events []Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, events...)
}

func startListener(t *testing.T, h Handler) *Listener {
	t.Helper()
	l, err := Listen("127.0.0.1:0", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return l
}

func post(t *testing.T, l *Listener, method string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+l.Addr().String()+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestListenerDeliversTestdataBatches(t *testing.T) {
	var c collector
	l := startListener(t, c.handle)
	files, _ := filepath.Glob("testdata/batch-*.json")
	if len(files) < 4 {
		t.Fatalf("found %d batch files", len(files))
	}
	wantEvents := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		events, _ := ParseBatch(b)
		wantEvents += len(events)
		if code := post(t, l, http.MethodPost, b); code != http.StatusOK {
			t.Errorf("%s: status %d", f, code)
		}
	}
	equal(t, "stats", l.Stats(), Stats{Batches: uint64(len(files)), Events: uint64(wantEvents)})
	drain(t, l)
	equal(t, "events handled", len(c.events), wantEvents)

	// The Managed Instances report reached the handler whole.
	var found bool
	for _, e := range c.events {
		if e.Type == TypeReport && e.RequestID() == "c399a402-b045-4bd6-b4a9-d11c24161154" {
			v, err := e.Decode()
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "errorType", v.(Report).ErrorType, "Runtime.Unknown")
			found = true
		}
	}
	if !found {
		t.Error("error report not delivered")
	}
}

func TestListenerRejects(t *testing.T) {
	tests := []struct {
		name   string
		method string
		body   []byte
		code   int
		want   Stats
	}{
		{"not json", http.MethodPost, []byte("{[nope"), http.StatusBadRequest, Stats{Malformed: 1}},
		{"object", http.MethodPost, []byte(`{"type":"function"}`), http.StatusBadRequest, Stats{Malformed: 1}},
		{"bad elements", http.MethodPost, []byte(`[1,{"time":"2022-10-12T00:03:50Z","type":"function","record":"ok"}]`),
			http.StatusOK, Stats{Batches: 1, Events: 1, Malformed: 1}},
		{"too large", http.MethodPost, bytes.Repeat([]byte(" "), MaxBatchBytes+1), http.StatusRequestEntityTooLarge, Stats{Oversized: 1}},
		{"get", http.MethodGet, nil, http.StatusMethodNotAllowed, Stats{}},
		{"put is accepted", http.MethodPut, []byte(`[]`), http.StatusOK, Stats{Batches: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collector
			l := startListener(t, c.handle)
			equal(t, "status", post(t, l, tt.method, tt.body), tt.code)
			equal(t, "stats", l.Stats(), tt.want)
		})
	}
}

func TestListenerSurvivesHandlerPanic(t *testing.T) {
	var calls atomic.Int64
	l := startListener(t, func([]Event) {
		calls.Add(1)
		panic("handler bug")
	})
	for range 2 {
		if code := post(t, l, http.MethodPost, []byte(`[]`)); code != http.StatusOK {
			t.Errorf("status %d", code)
		}
	}
	drain(t, l)
	equal(t, "calls", calls.Load(), int64(2))
}

// drain waits, bounded, until the handler has taken every batch answered so far.
func drain(t *testing.T, l *Listener) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestListenerAnswersWhileHandlerIsBusy: Lambda gets its answer whether or not the handler
// is keeping up (the emulator's Managed Instances mode stalls invocations behind a
// subscriber that has not answered); batches past the queue are dropped and counted, and
// the ones queued are handled in order once the handler is free.
func TestListenerAnswersWhileHandlerIsBusy(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	l := startListener(t, func(events []Event) {
		<-release
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			got = append(got, e.RequestID())
		}
	})
	client := &http.Client{Timeout: 5 * time.Second} // a handler holding the answer fails here, not hangs
	n := queuedBatches + 3
	for i := range n {
		body := fmt.Sprintf(`[{"time":"2022-10-12T00:03:50Z","type":"platform.start","record":{"requestId":"r%04d"}}]`, i)
		resp, err := client.Post("http://"+l.Addr().String()+"/", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("batch %d: status %d", i, resp.StatusCode)
		}
	}
	st := l.Stats()
	// The first batch is with the handler; queuedBatches wait; the rest are dropped.
	if st.Batches != uint64(n) || st.Dropped != uint64(n-1-queuedBatches) {
		t.Errorf("stats %+v, want %d batches, %d dropped", st, n, n-1-queuedBatches)
	}
	close(release)
	drain(t, l)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != queuedBatches+1 {
		t.Fatalf("handled %d batches, want %d", len(got), queuedBatches+1)
	}
	for i, id := range got {
		if want := fmt.Sprintf("r%04d", i); id != want {
			t.Fatalf("batch %d handled as %s, want %s (in order)", i, id, want)
		}
	}
}

func TestListenerURI(t *testing.T) {
	l := startListener(t, func([]Event) {})
	port := l.Addr().(*net.TCPAddr).Port
	equal(t, "URI", l.URI(), "http://sandbox.localdomain:"+strconv.Itoa(port))
}

func TestListenErrors(t *testing.T) {
	if _, err := Listen("127.0.0.1:0", nil, nil); err == nil {
		t.Error("nil handler accepted")
	}
	l := startListener(t, func([]Event) {})
	_, err := Listen(l.Addr().String(), func([]Event) {}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "listen for telemetry on ") {
		t.Errorf("second bind: err = %v", err)
	}
}

func TestDefaultAddrListens(t *testing.T) {
	// Outside Lambda sandbox.localdomain does not resolve and this is
	// 127.0.0.1:0; either way it must be bindable.
	addr := DefaultAddr(context.Background())
	l, err := Listen(addr, func([]Event) {}, nil)
	if err != nil {
		t.Fatalf("Listen(%q): %v", addr, err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
