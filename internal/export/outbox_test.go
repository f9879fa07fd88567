package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/bodytrace/bodytrace/internal/invocation"
)

// standIn is a backend under the test's control: each export waits for the gate (when
// set), then fails with fail (when set) or keeps the spans.
type standIn struct {
	mu       sync.Mutex
	gate     chan struct{}
	fail     error
	arrived  int // exports begun
	answered int // exports that kept their spans
	traces   map[string]bool
	entered  chan struct{} // one value per export begun
}

func newStandIn() *standIn {
	return &standIn{traces: map[string]bool{}, entered: make(chan struct{}, 1024)}
}

func (s *standIn) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	s.mu.Lock()
	s.arrived++
	gate := s.gate
	s.mu.Unlock()
	s.entered <- struct{}{}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.answered++
	for _, sp := range spans {
		s.traces[sp.SpanContext().TraceID().String()] = true
	}
	return nil
}

func (s *standIn) Shutdown(context.Context) error { return nil }

func (s *standIn) has(traceID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.traces[traceID]
}

func (s *standIn) set(f func(s *standIn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// lostRecord is an invocation whose body was lost: the runtime timed out.
func lostRecord(t *testing.T, id string) invocation.Record {
	t.Helper()
	r := bufferedRecord(id, 0)
	r.Response = nil
	r.Platform.RuntimeDone.Status = "timeout"
	if v := r.Judge(); healthy(v) {
		t.Fatalf("lostRecord judged %v", v.Verdict)
	}
	return r
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not true after 10s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newFlushExporter(t *testing.T, s *standIn, f Flush, bound time.Duration) *Exporter {
	t.Helper()
	e := New(Config{SpanExporter: s, Flush: f, FlushTimeout: bound})
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e
}

// TestVerdictFlushHoldsOnlyLostBodies: under FlushVerdict a healthy trace leaves in the
// background and Flush returns while the backend still holds it; a lost body's trace is
// in the backend when Flush returns.
func TestVerdictFlushHoldsOnlyLostBodies(t *testing.T) {
	s := newStandIn()
	gate := make(chan struct{})
	s.set(func(s *standIn) { s.gate = gate })
	e := newFlushExporter(t, s, FlushVerdict, 30*time.Second)

	healthyID := e.Export(bufferedRecord("ok-1", 1024))
	<-s.entered // the background send has begun and is held by the backend
	if err := e.Flush(context.Background()); err != nil {
		t.Fatalf("Flush with only a healthy trace: %v", err)
	}
	if s.has(healthyID) {
		t.Fatal("the healthy trace was answered while the backend held it")
	}

	lostID := e.Export(lostRecord(t, "lost-1"))
	flushed := make(chan error, 1)
	go func() { flushed <- e.Flush(context.Background()) }()
	close(gate) // the backend answers: the held healthy send, then the lost body's
	if err := <-flushed; err != nil {
		t.Fatalf("Flush with a lost body: %v", err)
	}
	if !s.has(lostID) {
		t.Fatal("Flush returned before the lost body's trace reached the backend")
	}
	eventually(t, "the healthy trace reaches the backend", func() bool { return s.has(healthyID) })
}

// TestEndFlushSendsEveryTrace: FlushEnd (today's behaviour) sends healthy traces before
// Flush returns.
func TestEndFlushSendsEveryTrace(t *testing.T) {
	s := newStandIn()
	e := newFlushExporter(t, s, FlushEnd, time.Second)
	id := e.Export(bufferedRecord("ok-1", 1024))
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !s.has(id) {
		t.Fatal("FlushEnd returned before the healthy trace reached the backend")
	}
}

// TestBreaker: a failed export opens the breaker; the next flushes return at once
// without calling the backend while lost bodies wait; a background retry closes it and
// delivers what waited, and flushes wait again.
func TestBreaker(t *testing.T) {
	for _, f := range Flushes {
		t.Run(string(f), func(t *testing.T) {
			s := newStandIn()
			down := errors.New("connection refused")
			s.set(func(s *standIn) { s.fail = down })
			e := newFlushExporter(t, s, f, time.Second)

			first := e.Export(lostRecord(t, "lost-0"))
			if err := e.Flush(context.Background()); !errors.Is(err, down) {
				t.Fatalf("first Flush against a down backend = %v, want %v", err, down)
			}
			s.set(func(s *standIn) { s.arrived = 0 })
			var ids []string
			for i := range 5 {
				ids = append(ids, e.Export(lostRecord(t, "lost-"+strconv.Itoa(i+1))))
				err := e.Flush(context.Background())
				var paused *PausedError
				if !errors.As(err, &paused) || !errors.Is(err, down) {
					t.Fatalf("Flush %d with the breaker open = %v, want a PausedError wrapping %v", i, err, down)
				}
			}
			s.mu.Lock()
			calls := s.arrived
			s.mu.Unlock()
			// Only the background retry may call the backend meanwhile (its first wait is probeFirst).
			if calls > 1 {
				t.Errorf("%d exports attempted while the breaker was open; flushes must not call the backend", calls)
			}
			if w := e.Waiting(); w != 6 {
				t.Errorf("Waiting() = %d, want the 6 lost bodies' traces kept", w)
			}

			s.set(func(s *standIn) { s.fail = nil })
			eventually(t, "the background retry delivers every waiting trace", func() bool { return e.Waiting() == 0 })
			for _, id := range append(ids, first) {
				if !s.has(id) {
					t.Errorf("trace %s lost across the outage", id)
				}
			}
			if err := e.Flush(context.Background()); err != nil {
				t.Errorf("Flush after recovery: %v", err)
			}
			if d := e.Dropped(); d != 0 {
				t.Errorf("Dropped() = %d after a short outage", d)
			}
		})
	}
}

// TestBreakerOpensOnSlowExport: an export that does not answer within the bound fails and
// opens the breaker; the next flush does not wait.
func TestBreakerOpensOnSlowExport(t *testing.T) {
	s := newStandIn()
	s.set(func(s *standIn) { s.gate = make(chan struct{}) }) // never answers
	e := newFlushExporter(t, s, FlushVerdict, 50*time.Millisecond)
	e.Export(lostRecord(t, "lost-1"))
	if err := e.Flush(context.Background()); !errors.Is(err, errSlow) {
		t.Fatalf("Flush against a backend that never answers = %v, want %v", err, errSlow)
	}
	e.Export(lostRecord(t, "lost-2"))
	var paused *PausedError
	if err := e.Flush(context.Background()); !errors.As(err, &paused) {
		t.Fatalf("Flush after a slow export = %v, want a PausedError", err)
	}
}

// TestOutboxBounded: while the backend is down, waiting traces are bounded, the oldest
// healthy ones go first, and what is given up is counted.
func TestOutboxBounded(t *testing.T) {
	s := newStandIn()
	s.set(func(s *standIn) { s.fail = errors.New("down") })
	e := newFlushExporter(t, s, FlushEnd, time.Second)
	_ = e.Flush(context.Background())
	e.Export(lostRecord(t, "lost-first"))
	_ = e.Flush(context.Background()) // opens the breaker
	for i := range maxHealthy + 40 {
		e.Export(bufferedRecord("ok-"+strconv.Itoa(i), 10))
	}
	for i := range maxUrgent + 10 {
		e.Export(lostRecord(t, "lost-"+strconv.Itoa(i)))
	}
	if w := e.Waiting(); w > maxUrgent+maxHealthy {
		t.Fatalf("Waiting() = %d, over the bound %d", w, maxUrgent+maxHealthy)
	}
	if e.Dropped() == 0 {
		t.Fatal("traces over the bound were not counted as dropped")
	}
	e.out.mu.Lock()
	urgent, healthyN := len(e.out.urgent)+e.out.urgentInFlight, len(e.out.healthy)
	e.out.mu.Unlock()
	if urgent < maxUrgent-1 || healthyN > maxHealthy {
		t.Errorf("%d lost and %d healthy traces waiting; want the lost bodies kept up to %d", urgent, healthyN, maxUrgent)
	}
}

// TestShutdownSendsEverything: SHUTDOWN sends what waits, the breaker open or not.
func TestShutdownSendsEverything(t *testing.T) {
	s := newStandIn()
	s.set(func(s *standIn) { s.fail = errors.New("down") })
	e := New(Config{SpanExporter: s, Flush: FlushVerdict, FlushTimeout: time.Second})
	lost := e.Export(lostRecord(t, "lost-1"))
	_ = e.Flush(context.Background())
	ok := e.Export(bufferedRecord("ok-1", 10))
	s.set(func(s *standIn) { s.fail = nil })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.has(lost) || !s.has(ok) {
		t.Fatalf("after SHUTDOWN the backend has lost=%v healthy=%v; want both", s.has(lost), s.has(ok))
	}
}

// TestInterruptedSendIsRetried: a send cut by a freeze (or SHUTDOWN) goes back to the
// front of its queue without counting as a failure of the backend.
func TestInterruptedSendIsRetried(t *testing.T) {
	o := newOutbox(newStandIn(), FlushVerdict, time.Second, nil)
	defer o.shutdown(context.Background())
	o.mu.Lock()
	o.urgent = []pending{{urgent: true}}
	batch := o.takeLocked(true)
	o.mu.Unlock()
	o.settle(batch, fmt.Errorf("read: connection reset"), true, 5*time.Second)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.br.open || len(o.urgent) != 1 || o.urgent[0].attempts != 0 || o.urgentInFlight != 0 {
		t.Fatalf("after an interrupted send: breaker open %v, %d urgent waiting (attempts %v), %d in flight",
			o.br.open, len(o.urgent), o.urgent, o.urgentInFlight)
	}
}

// TestRunningTimeoutLeavesOutFreezes stops this very process (SIGSTOP, then SIGCONT from a
// child) for longer than the bound: the bound counts running time only, so the context
// is not cancelled, and the freeze is reported.
func TestRunningTimeoutLeavesOutFreezes(t *testing.T) {
	ctx, stop := runningTimeout(context.Background(), 300*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	cmd := exec.Command("sh", "-c", "kill -STOP "+strconv.Itoa(os.Getpid())+"; sleep 0.8; kill -CONT "+strconv.Itoa(os.Getpid()))
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	err := ctx.Err()
	r := stop()
	if err != nil {
		t.Errorf("cancelled (%v) by a freeze longer than the bound", context.Cause(ctx))
	}
	if !r.froze || r.ran >= 300*time.Millisecond {
		t.Errorf("measured %+v: want the freeze reported and left out of the running time", r)
	}

	// A freeze before the timer's goroutine first runs still shows.
	_, stop = runningTimeout(context.Background(), 300*time.Millisecond)
	if err := exec.Command("sh", "-c", "kill -STOP "+strconv.Itoa(os.Getpid())+"; sleep 0.5; kill -CONT "+strconv.Itoa(os.Getpid())).Run(); err != nil {
		t.Fatal(err)
	}
	if r := stop(); !r.froze {
		t.Errorf("a freeze right after the start was not reported: %+v", r)
	}

	ctx, stop = runningTimeout(context.Background(), 30*time.Millisecond)
	defer stop()
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), errSlow) {
		t.Errorf("cause %v, want errSlow", context.Cause(ctx))
	}
}

// TestUrgent: which traces FlushVerdict sends before the next event.
func TestUrgent(t *testing.T) {
	notObserved := bufferedRecord("go-no-steps", 0)
	notObserved.Response, notObserved.Observed.RuntimeAPI = nil, false
	noResponse := bufferedRecord("no-response", 0)
	noResponse.Response, noResponse.Platform = nil, invocation.Platform{}
	for _, tc := range []struct {
		name string
		r    invocation.Record
		want bool
	}{
		{"delivered", bufferedRecord("ok", 1024), false},
		{"lost", lostRecord(t, "lost"), true},
		{"unknown: no response for this request", noResponse, true},
		{"unknown: the Runtime API is not in the path (every invocation)", notObserved, false},
	} {
		v := tc.r.Judge()
		if got := urgent(&tc.r, v); got != tc.want {
			t.Errorf("%s (%s: %s): urgent = %v", tc.name, v.Verdict, v.Reason, got)
		}
	}
}

// TestUrgentLeavesWithoutFlush: where no flush comes per invocation (Lambda Managed
// Instances), the worker's sweep sends a lost body's trace within sweepEvery.
func TestUrgentLeavesWithoutFlush(t *testing.T) {
	s := newStandIn()
	e := newFlushExporter(t, s, FlushVerdict, time.Second)
	id := e.Export(lostRecord(t, "lost-1"))
	eventually(t, "the lost body's trace sent by the sweep", func() bool { return s.has(id) })
}

// TestRefusedForGoodIsDropped: a batch the backend refuses with an error the protocol does
// not call retryable is tried maxAttempts times, then dropped and counted.
func TestRefusedForGoodIsDropped(t *testing.T) {
	s := newStandIn()
	s.set(func(s *standIn) { s.fail = errors.New("HTTP 400: bad request") })
	e := newFlushExporter(t, s, FlushEnd, time.Second)
	e.Export(lostRecord(t, "lost-1"))
	_ = e.Flush(context.Background())
	eventually(t, "the refused trace dropped after its attempts", func() bool { return e.Waiting() == 0 })
	s.mu.Lock()
	calls := s.arrived
	s.mu.Unlock()
	if calls != maxAttempts || e.Dropped() == 0 {
		t.Fatalf("%d sends, %d spans dropped; want %d sends and the spans counted", calls, e.Dropped(), maxAttempts)
	}
}
