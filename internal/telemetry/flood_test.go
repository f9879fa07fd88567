package telemetry_test

// Telemetry floods and bad input, through the real listener into the real lifecycle
// loop: every case must cost a bounded amount, be counted, warn in a rate-limited way,
// and leave no record behind that nothing will ever close.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/extapi"
	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/lifecycle"
	"github.com/bodytrace/bodytrace/internal/runtimeproxy"
	"github.com/bodytrace/bodytrace/internal/telemetry"
	"github.com/bodytrace/bodytrace/steps/line"
)

const bound = 10 * time.Second // failure guard only; nothing asserts durations

// FuzzParseBatch: any body Lambda (or anything else reaching the port) posts is either
// rejected or parsed, never a panic, with allocations bounded by the body's size; every
// parsed event can be decoded, asked for its request id and its log line without panic.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		`[]`,
		`[{"time":"2026-11-25T13:00:43.613Z","type":"platform.start","record":{"requestId":"r1","version":"$LATEST"}}]`,
		`[{"time":"2026-11-25T13:00:43.613Z","type":"function","record":"@bodytrace/step {\"v\":1,\"rid\":\"r1\",\"stage\":\"handler\",\"bytes\":3}"}]`,
		`[{"time":"2026-11-25T13:00:43.613Z","type":"function","record":{"timestamp":"2026-11-25T13:00:43.613Z","level":"INFO","requestId":"r1","message":{"a":1}}}]`,
		`[{"time":"2026-11-25T13:00:43.613Z","type":"platform.runtimeDone","record":{"requestId":"r","status":"success","metrics":{"durationMs":1,"producedBytes":-1},"spans":[{"name":"responseLatency","start":"12:01:23:521Z","durationMs":1e309}]}}]`,
		`[{"time":"not a time","type":"platform.report"}, 1, "x", null, {"type":""}, {"time":"2026-11-25T13:00:43Z","type":"platform.future","record":[]}]`,
		"[{\"time\":\"2026-11-25T13:00:43Z\",\"type\":\"function\",\"record\":\"\xff\xfe\"}]",
		`{"not":"an array"}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		events, err := telemetry.ParseBatch(data)
		runtime.ReadMemStats(&after)
		// RawMessage copies of each element and of each record: a few times the input.
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(16*len(data)+64<<10); got > limit {
			t.Errorf("ParseBatch of %d bytes allocated %d bytes, want at most %d", len(data), got, limit)
		}
		if err != nil {
			if events != nil {
				t.Errorf("error %v with %d events", err, len(events))
			}
			return
		}
		for _, ev := range events {
			if ev.Type == "" {
				t.Errorf("event without a type kept: %+v", ev)
			}
			_, _ = ev.Decode()
			_ = ev.RequestID()
			_, _ = ev.LogLine()
		}
	})
}

// warnCounter is a slog handler counting records at Warn and above by message.
type warnCounter struct {
	mu  sync.Mutex
	msg map[string]int
}

func newWarnCounter() *warnCounter { return &warnCounter{msg: map[string]int{}} }

func (w *warnCounter) Enabled(context.Context, slog.Level) bool { return true }
func (w *warnCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		w.mu.Lock()
		w.msg[r.Message]++
		w.mu.Unlock()
	}
	return nil
}
func (w *warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnCounter) WithGroup(string) slog.Handler      { return w }

func (w *warnCounter) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.msg {
		n += c
	}
	return n
}

func (w *warnCounter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprint(w.msg)
}

// stubExtensions is the Extensions API: it hands out the events sent to it.
type stubExtensions struct{ events chan extapi.Event }

func (s *stubExtensions) Next(ctx context.Context) (extapi.Event, error) {
	select {
	case ev := <-s.events:
		return ev, nil
	case <-ctx.Done():
		return extapi.Event{}, ctx.Err()
	}
}

// countingExporter counts what the loop exports, by request id.
type countingExporter struct {
	mu  sync.Mutex
	ids map[string]int
	n   atomic.Int64
}

func (e *countingExporter) Export(r invocation.Record) string {
	e.mu.Lock()
	e.ids[r.RequestID]++
	e.mu.Unlock()
	e.n.Add(1)
	return ""
}
func (e *countingExporter) Late(string, invocation.Platform) bool { return false }
func (e *countingExporter) Flush(context.Context) error           { return nil }
func (e *countingExporter) Shutdown(context.Context) error        { return nil }

func (e *countingExporter) count(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ids[id]
}

// rig is the telemetry listener feeding a running lifecycle loop, as in the extension.
type rig struct {
	loop  *lifecycle.Loop
	ln    *telemetry.Listener
	ext   *stubExtensions
	exp   *countingExporter
	warns *warnCounter
	done  chan error
}

// newRig runs a loop with telemetry on and, when proxied, the Runtime API observed (the
// Node.js runtime through the wrapper); SHUTDOWN is sent at cleanup unless stop was called.
func newRig(t *testing.T, proxied bool) *rig {
	t.Helper()
	w := newWarnCounter()
	log := slog.New(w)
	r := &rig{ext: &stubExtensions{events: make(chan extapi.Event)}, exp: &countingExporter{ids: map[string]int{}}, warns: w, done: make(chan error, 1)}
	r.loop = lifecycle.New(lifecycle.Config{
		FlushTimeout: time.Second, TelemetryWait: 50 * time.Millisecond, ResponseGrace: 100 * time.Millisecond,
	}, r.ext, r.exp, log)
	r.loop.ProxySeen(func() bool { return proxied })
	r.loop.SetTelemetry(true)
	ln, err := telemetry.Listen("127.0.0.1:0", r.loop.Telemetry, log)
	if err != nil {
		t.Fatal(err)
	}
	r.ln = ln
	go func() { r.done <- r.loop.Run(context.Background()) }()
	t.Cleanup(func() {
		r.stop(t)
		_ = ln.Close(context.Background())
	})
	return r
}

// stop sends SHUTDOWN and waits for Run: every open record is exported then. As in the
// extension, telemetry already answered reaches the loop first.
func (r *rig) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := r.ln.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case r.ext.events <- extapi.Event{EventType: extapi.Shutdown, ShutdownReason: "spindown", DeadlineMs: time.Now().Add(bound).UnixMilli()}:
	case <-time.After(bound):
		t.Fatal("the loop did not ask for the next event")
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(bound):
		t.Fatal("Run did not return after SHUTDOWN")
	}
	r.done = nil
}

func (r *rig) post(t *testing.T, body []byte) int {
	t.Helper()
	resp, err := http.Post("http://"+r.ln.Addr().String()+"/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func stamp(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }

func startEvent(id string, at time.Time) string {
	return fmt.Sprintf(`{"time":%q,"type":"platform.start","record":{"requestId":%q,"version":"$LATEST"}}`, stamp(at), id)
}

func runtimeDoneEvent(id string, at time.Time, produced int) string {
	return fmt.Sprintf(`{"time":%q,"type":"platform.runtimeDone","record":{"requestId":%q,"status":"success","metrics":{"durationMs":2.5,"producedBytes":%d}}}`, stamp(at), id, produced)
}

func reportEvent(id string, at time.Time) string {
	return fmt.Sprintf(`{"time":%q,"type":"platform.report","record":{"requestId":%q,"status":"success","metrics":{"durationMs":3.1,"billedDurationMs":4,"memorySizeMB":128,"maxMemoryUsedMB":70}}}`, stamp(at), id)
}

func functionLine(line string, at time.Time) string {
	return fmt.Sprintf(`{"time":%q,"type":"function","record":%q}`, stamp(at), line)
}

func batch(events ...string) []byte { return []byte("[" + strings.Join(events, ",") + "]") }

// TestFloodLargeBatch posts 10,000 events in one batch (the platform events of 2,500
// invocations the loop knows of, each complete) and checks all are delivered and each
// invocation exported once.
func TestFloodLargeBatch(t *testing.T) {
	r := newRig(t, false)
	const invocations = 2500
	now := time.Now()
	var evs []string
	for i := range invocations {
		id := fmt.Sprintf("flood-%05d", i)
		evs = append(evs, startEvent(id, now), functionLine("handling "+id, now), runtimeDoneEvent(id, now, 10), reportEvent(id, now))
	}
	body := batch(evs...)
	if code := r.post(t, body); code != http.StatusOK {
		t.Fatalf("10k-event batch (%d bytes) answered %d", len(body), code)
	}
	st := r.ln.Stats()
	if st.Batches != 1 || st.Events != 4*invocations || st.Malformed != 0 {
		t.Errorf("listener stats %+v, want 1 batch of %d events", st, 4*invocations)
	}
	r.stop(t)
	if n := r.exp.n.Load(); n != invocations {
		t.Errorf("%d records exported, want %d (one per invocation)", n, invocations)
	}
	for i := range invocations {
		if c := r.exp.count(fmt.Sprintf("flood-%05d", i)); c != 1 {
			t.Fatalf("flood-%05d exported %d times", i, c)
		}
	}
	if w := r.warns.total(); w != 0 {
		t.Errorf("warnings for a valid batch: %v", r.warns)
	}
}

// TestFloodOversizedBatch: a body over MaxBatchBytes is refused with 413, counted once.
func TestFloodOversizedBatch(t *testing.T) {
	r := newRig(t, false)
	body := batch(functionLine(strings.Repeat("x", telemetry.MaxBatchBytes), time.Now()))
	if code := r.post(t, body); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized batch answered %d, want 413", code)
	}
	if st := r.ln.Stats(); st.Oversized != 1 || st.Batches != 0 {
		t.Errorf("stats %+v, want 1 oversized", st)
	}
}

// badBodies are bodies a broken sender could post; each must be answered and counted.
var badBodies = map[string][]byte{
	"not JSON":           []byte(`{"time":`),
	"object, not array":  []byte(`{"type":"platform.start"}`),
	"truncated array":    []byte(`[{"time":"2026-11-25T13:00:43Z","type":"platform.start","record":{`),
	"deep nesting":       bytes.Repeat([]byte("["), 100000),
	"invalid UTF-8 only": {0xff, 0xfe, 0xfd},
	"empty":              {},
}

// TestFloodMalformedCounted: each malformed body is refused with 400 and counted.
func TestFloodMalformedCounted(t *testing.T) {
	r := newRig(t, true)
	for name, body := range badBodies {
		if code := r.post(t, body); code != http.StatusBadRequest {
			t.Errorf("%s: answered %d, want 400", name, code)
		}
	}
	if st := r.ln.Stats(); st.Malformed != uint64(len(badBodies)) || st.Batches != 0 {
		t.Errorf("stats %+v, want %d malformed, no batch", st, len(badBodies))
	}
}

// TestFloodMalformedWarningsRateLimited posts 1,000 malformed batches and 1,000 batches
// with skipped elements: the warnings must be rate-limited, as step lines' are (1st,
// 10th, 100th...), not one per batch.
func TestFloodMalformedWarningsRateLimited(t *testing.T) {
	r := newRig(t, true)
	const n = 1000
	for i := range n {
		if code := r.post(t, badBodies["not JSON"]); code != http.StatusBadRequest {
			t.Fatalf("batch %d answered %d", i, code)
		}
		if code := r.post(t, []byte(`[1, "x", null]`)); code != http.StatusOK {
			t.Fatalf("batch %d with skipped elements answered %d", i, code)
		}
	}
	if st := r.ln.Stats(); st.Malformed != 4*n {
		t.Errorf("Malformed = %d, want %d (bodies plus skipped elements)", st.Malformed, 4*n)
	}
	if w := r.warns.total(); w > 10 {
		t.Fatalf("%d warnings for %d bad batches (%v); want them rate-limited (1st, 10th, 100th...)", w, 2*n, r.warns)
	}
}

// TestUnknownEventTypes: event types this version does not know are delivered, ignored
// by the loop, and create no record.
func TestUnknownEventTypes(t *testing.T) {
	r := newRig(t, true)
	now := time.Now()
	var evs []string
	for i := range 1000 {
		evs = append(evs,
			fmt.Sprintf(`{"time":%q,"type":"platform.future%d","record":{"requestId":"unknown-type-%d"}}`, stamp(now), i%7, i),
			fmt.Sprintf(`{"time":%q,"type":"platform.start","record":"not an object %d"}`, stamp(now), i),
			fmt.Sprintf(`{"time":%q,"type":"function","record":12345}`, stamp(now)))
	}
	if code := r.post(t, batch(evs...)); code != http.StatusOK {
		t.Fatalf("answered %d", code)
	}
	r.stop(t)
	if n := r.exp.n.Load(); n != 0 {
		t.Errorf("%d records from events of unknown types or undecodable records, want 0", n)
	}
	// The loop drops these silently: nothing counts them (see the report: lifecycle.Stats
	// has no counter for undecodable or unknown events).
}

// TestOutOfOrderEvents: report before start, runtimeDone before the runtime even asked
// for the event (/next), and the response last. The record must join them all and be
// exported once.
func TestOutOfOrderEvents(t *testing.T) {
	r := newRig(t, true)
	id := "ooo-1"
	now := time.Now()
	if code := r.post(t, batch(reportEvent(id, now.Add(30*time.Millisecond)), runtimeDoneEvent(id, now.Add(20*time.Millisecond), 42))); code != 200 {
		t.Fatalf("answered %d", code)
	}
	if code := r.post(t, batch(startEvent(id, now))); code != 200 {
		t.Fatalf("answered %d", code)
	}
	h := http.Header{}
	h.Set("Lambda-Runtime-Aws-Request-Id", id)
	event := []byte(`{"version":"2.0","rawPath":"/x","requestContext":{"http":{"method":"GET"}}}`)
	r.loop.Next(runtimeproxy.Next{RequestID: id, Header: h, Body: event, Size: int64(len(event)), Status: 200, Start: now, End: now})
	if r.exp.n.Load() != 0 {
		t.Fatal("exported before the response arrived, with the proxy in the path")
	}
	result := `{"statusCode":200,"body":"` + strings.Repeat("b", 21) + `"}`
	r.loop.Response(runtimeproxy.Response{RequestID: id, Kind: runtimeproxy.KindResponse, Header: http.Header{},
		Head: []byte(result), Size: int64(len(result)), Chunks: 1, Start: now, FirstByte: now, End: now, Status: 202})
	deadline := time.Now().Add(bound)
	for r.exp.count(id) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Late duplicates of each kind change nothing.
	r.post(t, batch(startEvent(id, now), runtimeDoneEvent(id, now, 1), reportEvent(id, now)))
	r.stop(t)
	if c := r.exp.count(id); c != 1 {
		t.Errorf("exported %d times, want once", c)
	}
	if st := r.loop.Stats(); st.LateEvents < 1 {
		t.Errorf("Stats %+v: the late duplicates were not counted", st)
	}
}

// TestHugeStepLineInFunctionLog: a 1 MB step line and lines with invalid UTF-8 in the
// function log are rejected by length or content, counted, and warned about rate-limited.
func TestHugeStepLineInFunctionLog(t *testing.T) {
	r := newRig(t, true)
	now := time.Now()
	huge := line.Marker + `{"v":1,"rid":"r","stage":"handler","note":"` + strings.Repeat("n", 1<<20) + `"}`
	var evs []string
	for range 3 {
		evs = append(evs, functionLine(huge, now))
	}
	for range 200 {
		evs = append(evs,
			// Raw invalid UTF-8 inside the JSON string (Lambda passes the function's bytes on).
			`{"time":"`+stamp(now)+`","type":"function","record":"`+line.Marker+`{\"v\":1,\"rid\":\"`+"\xff\xfe"+`\",\"stage\":\"h\"}"}`,
			fmt.Sprintf(`{"time":%q,"type":"function","record":{"timestamp":%q,"level":"INFO","requestId":"r","message":"%s{\"v\":1"}}`, stamp(now), stamp(now), line.Marker))
	}
	body := batch(evs...)
	if code := r.post(t, body); code != http.StatusOK {
		t.Fatalf("batch of %d bytes answered %d", len(body), code)
	}
	r.stop(t)
	// JSON decoding turns the invalid bytes into U+FFFD before the step parser sees them:
	// those lines are valid steps for the request id "\uFFFD\uFFFD", which this
	// environment never ran (a stray record: see TestStrayRequestIDsEvicted).
	if n := r.exp.n.Load(); n > 1 || (n == 1 && r.exp.count("\uFFFD\uFFFD") != 1) {
		t.Errorf("%d records (%v), want at most the one for the U+FFFD request id", n, r.exp.ids)
	}
	// 203 rejections (3 oversized, 200 truncated): warned at the 1st, 10th and 100th only.
	if w := r.warns.msg["step line ignored"]; w != 3 {
		t.Errorf("%d step-line warnings for 203 bad lines, want 3 (%v)", w, r.warns)
	}
}

// TestStrayRequestIDsEvicted sends telemetry and step lines for request ids this
// environment never handed to its runtime (a wrong rid printed by a function, events of
// an invocation the proxy missed). The records they open must not accumulate: the loop
// keeps its records in an invocation.Store whose open map has no bound.
func TestStrayRequestIDsEvicted(t *testing.T) {
	r := newRig(t, true)
	const stray = 5000
	now := time.Now()
	var evs []string
	for i := range stray {
		evs = append(evs, startEvent(fmt.Sprintf("stray-start-%d", i), now))
	}
	if code := r.post(t, batch(evs...)); code != http.StatusOK {
		t.Fatalf("answered %d", code)
	}
	for i := range stray {
		r.loop.Step(line.Step{V: 1, RequestID: fmt.Sprintf("stray-step-%d", i), Stage: "handler", Bytes: 1})
	}
	// Long after any bound a record waits for (TelemetryWait, ResponseGrace), at SHUTDOWN
	// the loop exports every record still open: those are the ones it kept.
	time.Sleep(300 * time.Millisecond)
	r.stop(t)
	kept := r.exp.n.Load()
	if kept > 1024 {
		t.Fatalf("%d of %d stray records were still open at SHUTDOWN and exported then; want at most the store's bound of 1024", kept, 2*stray)
	}
}
