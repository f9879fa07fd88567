package runtimeproxy

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// stuckObserver holds every call until released, recording the order.
type stuckObserver struct {
	release chan struct{}
	mu      sync.Mutex
	order   []string
}

func (b *stuckObserver) Next(n Next) {
	<-b.release
	b.mu.Lock()
	b.order = append(b.order, "next:"+n.RequestID)
	b.mu.Unlock()
}

func (b *stuckObserver) Response(r Response) {
	<-b.release
	b.mu.Lock()
	b.order = append(b.order, "response:"+r.RequestID)
	b.mu.Unlock()
}

// TestAsyncNeverBlocks: a stuck observer must not hold the caller, order is kept, and
// what does not fit in the queue is dropped and counted.
func TestAsyncNeverBlocks(t *testing.T) {
	b := &stuckObserver{release: make(chan struct{})}
	a := Async(b, 4, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() {
		for i := range 10 {
			a.Next(Next{RequestID: fmt.Sprint(i)})
			a.Response(Response{RequestID: fmt.Sprint(i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("observations blocked the caller while the observer was stuck")
	}
	close(b.release)
	a.Stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	// Four are queued and at most one more was taken by the stuck observer; the rest were
	// dropped. What was handled begins with the first four sent and keeps the sending
	// order: a fifth may be any later one, sent once the worker had made room.
	if got := uint64(len(b.order)) + a.Dropped(); got != 20 {
		t.Fatalf("handled %d + dropped %d != 20", len(b.order), a.Dropped())
	}
	var sent []string
	for i := range 10 {
		sent = append(sent, fmt.Sprintf("next:%d", i), fmt.Sprintf("response:%d", i))
	}
	if len(b.order) < 4 || len(b.order) > 5 || strings.Join(b.order[:4], ",") != strings.Join(sent[:4], ",") {
		t.Fatalf("handled %v; want the first four sent, then at most one more", b.order)
	}
	if len(b.order) == 5 && !slices.Contains(sent[4:], b.order[4]) {
		t.Fatalf("handled %v; the fifth was never sent after the first four", b.order)
	}
}

func TestAsyncRecoversPanics(t *testing.T) {
	var got []string
	a := Async(observerFunc{next: func(n Next) {
		if n.RequestID == "boom" {
			panic("observer bug")
		}
		got = append(got, n.RequestID)
	}}, 8, slog.New(slog.DiscardHandler))
	a.Next(Next{RequestID: "a"})
	a.Next(Next{RequestID: "boom"})
	a.Next(Next{RequestID: "b"})
	a.Stop()
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("got %v; want a and b around the panic", got)
	}
}

type observerFunc struct{ next func(Next) }

func (o observerFunc) Next(n Next)       { o.next(n) }
func (o observerFunc) Response(Response) {}

func TestAsyncFlush(t *testing.T) {
	var mu sync.Mutex
	n := 0
	a := Async(observerFunc{next: func(Next) { time.Sleep(time.Millisecond); mu.Lock(); n++; mu.Unlock() }}, 64, slog.New(slog.DiscardHandler))
	defer a.Stop()
	for range 20 {
		a.Next(Next{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 20 {
		t.Fatalf("Flush returned with %d of 20 observations handled", n)
	}
}
