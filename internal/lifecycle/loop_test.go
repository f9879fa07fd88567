package lifecycle

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/extapi"
	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/runtimeproxy"
	"github.com/bodytrace/bodytrace/internal/telemetry"
)

// bound is the generous limit for anything the tests wait on; never a measured duration.
const bound = 10 * time.Second

// fakeExtensions hands the loop the events sent on events, and tells asked each time
// the loop asks for one.
type fakeExtensions struct {
	events chan extapi.Event
	asked  chan struct{}
	calls  *callLog
}

func (f *fakeExtensions) Next(ctx context.Context) (extapi.Event, error) {
	f.calls.add("next")
	f.asked <- struct{}{}
	select {
	case ev := <-f.events:
		return ev, nil
	case <-ctx.Done():
		return extapi.Event{}, ctx.Err()
	}
}

// callLog is the order in which the loop called its seams.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (c *callLog) add(s string) {
	c.mu.Lock()
	c.calls = append(c.calls, s)
	c.mu.Unlock()
}

func (c *callLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.calls, " ")
}

// recordingExporter keeps what the loop exported.
type recordingExporter struct {
	calls    *callLog
	exported chan invocation.Record
	lateOK   bool

	mu       sync.Mutex
	records  []invocation.Record
	late     map[string]invocation.Report
	lateDone map[string]invocation.RuntimeDone
}

func (e *recordingExporter) Export(r invocation.Record) string {
	e.calls.add("export:" + r.RequestID)
	e.mu.Lock()
	e.records = append(e.records, r)
	e.mu.Unlock()
	e.exported <- r
	return "trace-" + r.RequestID
}

func (e *recordingExporter) Late(id string, p invocation.Platform) bool {
	e.calls.add("late:" + id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lateOK && p.Report != nil {
		e.late[id] = *p.Report
	}
	if e.lateOK && p.RuntimeDone != nil {
		e.lateDone[id] = *p.RuntimeDone
	}
	return e.lateOK
}

func (e *recordingExporter) Flush(context.Context) error {
	e.calls.add("flush")
	return nil
}

func (e *recordingExporter) Shutdown(context.Context) error {
	e.calls.add("shutdown")
	return nil
}

func (e *recordingExporter) all() []invocation.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]invocation.Record(nil), e.records...)
}

type harness struct {
	loop *Loop
	ext  *fakeExtensions
	exp  *recordingExporter
	log  *callLog
	done chan error // Run's result, when started
}

func newHarness(t *testing.T, cfg Config, proxied bool) *harness {
	t.Helper()
	calls := &callLog{}
	h := &harness{
		ext:  &fakeExtensions{events: make(chan extapi.Event), asked: make(chan struct{}, 100), calls: calls},
		exp:  &recordingExporter{calls: calls, exported: make(chan invocation.Record, 100), late: map[string]invocation.Report{}, lateDone: map[string]invocation.RuntimeDone{}},
		log:  calls,
		done: make(chan error, 1),
	}
	if cfg.FlushTimeout == 0 {
		cfg.FlushTimeout = time.Second
	}
	if cfg.ResponseGrace == 0 {
		cfg.ResponseGrace = 500 * time.Millisecond
	}
	if cfg.TelemetryWait == 0 {
		cfg.TelemetryWait = time.Minute // only expires where a test sets it small
	}
	h.loop = New(cfg, h.ext, h.exp, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	h.loop.ProxySeen(func() bool { return proxied })
	return h
}

// run starts the loop; the test's end cancels it and waits for Run to return.
func (h *harness) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.done <- h.loop.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(bound):
			t.Error("Run did not return after its context ended")
		}
	})
	h.waitAsked(t)
}

func (h *harness) waitAsked(t *testing.T) {
	t.Helper()
	select {
	case <-h.ext.asked:
	case <-time.After(bound):
		t.Fatalf("the loop did not ask for the next event; calls: %s", h.log)
	}
}

func (h *harness) send(t *testing.T, ev extapi.Event) {
	t.Helper()
	select {
	case h.ext.events <- ev:
	case <-time.After(bound):
		t.Fatal("the loop did not take the event")
	}
}

// invoke sends INVOKE and waits until the loop has opened its record.
func (h *harness) invoke(t *testing.T, id string) {
	t.Helper()
	h.send(t, extapi.Event{EventType: extapi.Invoke, RequestID: id, DeadlineMs: time.Now().Add(time.Hour).UnixMilli(),
		Tracing: extapi.Tracing{Type: "X-Amzn-Trace-Id", Value: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}})
	waitUntil(t, "record "+id+" open or finished", func() bool {
		return len(h.loop.store.Open(func(r *invocation.Record) bool { return r.RequestID == id })) == 1 || h.exported(id) > 0
	})
}

func (h *harness) exported(id string) int {
	n := 0
	for _, r := range h.exp.all() {
		if r.RequestID == id {
			n++
		}
	}
	return n
}

func (h *harness) next(t *testing.T) invocation.Record {
	t.Helper()
	select {
	case r := <-h.exp.exported:
		return r
	case <-time.After(bound):
		t.Fatalf("nothing exported; calls: %s", h.log)
		return invocation.Record{}
	}
}

// noMoreExports checks, after the loop has stopped, that nothing else was exported.
func (h *harness) noMoreExports(t *testing.T) {
	t.Helper()
	select {
	case r := <-h.exp.exported:
		t.Errorf("unexpected export of %s", r.RequestID)
	default:
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func proxyNext(id string, event []byte) runtimeproxy.Next {
	now := time.Now()
	h := http.Header{}
	h.Set("Lambda-Runtime-Aws-Request-Id", id)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	h.Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(now.Add(time.Hour).UnixMilli()))
	return runtimeproxy.Next{RequestID: id, Header: h, Body: event, Size: int64(len(event)), Status: 200, Start: now, End: now}
}

func buffered(id, result string) runtimeproxy.Response {
	now := time.Now()
	return runtimeproxy.Response{RequestID: id, Kind: runtimeproxy.KindResponse, Header: http.Header{},
		Head: []byte(result), Size: int64(len(result)), Chunks: 1, Start: now, FirstByte: now, End: now, Status: 202}
}

// Telemetry API records, as Lambda sends them (see internal/telemetry/testdata).
func tel(t *testing.T, records ...string) []telemetry.Event {
	t.Helper()
	evs, err := telemetry.ParseBatch([]byte("[" + strings.Join(records, ",") + "]"))
	if err != nil || len(evs) != len(records) {
		t.Fatalf("telemetry batch: %v (%d of %d events)", err, len(evs), len(records))
	}
	return evs
}

func stamp() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func initStart(typ string) string {
	return fmt.Sprintf(`{"time":%q,"type":"platform.initStart","record":{"initializationType":%q,"phase":"init","runtimeVersion":"nodejs:22","functionName":"fn","functionVersion":"$LATEST"}}`, stamp(), typ)
}

func initRuntimeDone(status string) string {
	return fmt.Sprintf(`{"time":%q,"type":"platform.initRuntimeDone","record":{"initializationType":"on-demand","phase":"init","status":%q}}`, stamp(), status)
}

func platformStart(id string) string {
	return fmt.Sprintf(`{"time":%q,"type":"platform.start","record":{"requestId":%q,"version":"$LATEST"}}`, stamp(), id)
}

func runtimeDone(id, status string, produced int) string {
	return fmt.Sprintf(`{"time":%q,"type":"platform.runtimeDone","record":{"requestId":%q,"status":%q,"metrics":{"durationMs":12.5,"producedBytes":%d},"spans":[{"name":"responseLatency","start":%q,"durationMs":3.5},{"name":"responseDuration","start":%q,"durationMs":0.25}]}}`,
		stamp(), id, status, produced, stamp(), stamp())
}

func report(id, status string, maxMem int) string {
	return fmt.Sprintf(`{"time":%q,"type":"platform.report","record":{"requestId":%q,"status":%q,"metrics":{"durationMs":15.2,"billedDurationMs":16,"memorySizeMB":128,"maxMemoryUsedMB":%d}}}`,
		stamp(), id, status, maxMem)
}

// (1) and (6): standard Lambda, proxy in the path, no telemetry.
func TestLoopProxyWithoutTelemetry(t *testing.T) {
	started := time.Now().Add(-time.Second)
	h := newHarness(t, Config{Started: started}, true)
	h.run(t)

	for i, id := range []string{"req-1", "req-2"} {
		h.invoke(t, id)
		n := proxyNext(id, readEvent(t, "function-url.json"))
		h.loop.Next(n)
		h.loop.Response(buffered(id, `{"statusCode":200,"headers":{"content-type":"text/plain"},"body":"hello"}`))
		r := h.next(t)
		h.waitAsked(t)

		if r.RequestID != id {
			t.Fatalf("exported %s, want %s", r.RequestID, id)
		}
		if r.Invoke == nil || r.Invoke.XRayTraceID == "" || r.Request == nil || r.Response == nil {
			t.Fatalf("record lacks a part: invoke %v request %v response %v", r.Invoke, r.Request, r.Response)
		}
		if r.Request.Trigger != invocation.TriggerFunctionURL || r.Request.XRayTraceID == "" || r.Request.Deadline.IsZero() {
			t.Errorf("request = %+v", r.Request)
		}
		if r.Response.Mode != invocation.ModeBuffered || r.Response.StatusCode != 200 || r.Response.BodyBytes != 5 {
			t.Errorf("response = %+v", r.Response)
		}
		if !r.Observed.RuntimeAPI || r.Observed.Telemetry {
			t.Errorf("Observed = %+v, want runtime API only", r.Observed)
		}
		if r.Platform.RuntimeDone != nil {
			t.Error("RuntimeDone set without telemetry")
		}
		if v := r.Judge(); v.Verdict != invocation.VerdictDelivered {
			t.Errorf("verdict = %+v", v)
		}
		// (6) the first record is the cold start and carries the init.
		if cold := i == 0; r.ColdStart != cold || (r.Init != nil) != cold {
			t.Errorf("%s: ColdStart %v Init %v, want cold start %v", id, r.ColdStart, r.Init, cold)
		}
		if i == 0 {
			if r.Init.Source != "extension" || !r.Init.Start.Equal(started) || !r.Init.End.Equal(n.Start) {
				t.Errorf("init = %+v, want source extension from %v to the first /next %v", r.Init, started, n.Start)
			}
		}
	}
	want := "next export:req-1 flush next export:req-2 flush next"
	if got := h.log.String(); got != want {
		t.Errorf("calls = %q\nwant %q", got, want)
	}
}

// (2) a Go function under RIE: no proxy, no telemetry.
func TestLoopNothingObserved(t *testing.T) {
	h := newHarness(t, Config{}, false)
	h.run(t)
	h.send(t, extapi.Event{EventType: extapi.Invoke, RequestID: "req-go", DeadlineMs: time.Now().Add(time.Hour).UnixMilli()})
	r := h.next(t)
	h.waitAsked(t)
	v := r.Judge()
	if r.RequestID != "req-go" || v.Verdict != invocation.VerdictUnknown || !strings.Contains(v.Reason, "AWS_LAMBDA_EXEC_WRAPPER") ||
		!strings.Contains(v.Reason, "github.com/bodytrace/bodytrace/steps") {
		t.Errorf("record %s verdict %+v, want unknown naming AWS_LAMBDA_EXEC_WRAPPER and the steps package", r.RequestID, v)
	}
	if r.Observed.RuntimeAPI || r.Observed.Telemetry {
		t.Errorf("Observed = %+v", r.Observed)
	}
	if !r.ColdStart || r.Init == nil {
		t.Errorf("first record: ColdStart %v Init %v", r.ColdStart, r.Init)
	}
	if got, want := h.log.String(), "next export:req-go flush next"; got != want {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

// (3) telemetry on: TelemetryWait bounds the wait for runtimeDone.
func TestLoopTelemetryWait(t *testing.T) {
	t.Run("runtimeDone never comes", func(t *testing.T) {
		h := newHarness(t, Config{TelemetryWait: 20 * time.Millisecond}, true)
		h.loop.SetTelemetry(true)
		h.loop.Next(proxyNext("req-w", readEvent(t, "apigw-v2.json")))
		h.loop.Response(buffered("req-w", `{"statusCode":200,"body":"abc"}`))
		r := h.next(t)
		if r.RequestID != "req-w" || r.Response == nil || r.Platform.RuntimeDone != nil || !r.Observed.Telemetry {
			t.Errorf("record = %+v, want the response, telemetry observed, no runtimeDone", r)
		}
		// runtimeDone after the export is late, not a second export.
		h.loop.Telemetry(tel(t, runtimeDone("req-w", "success", 40)))
		if st := h.loop.Stats(); st.LateEvents != 1 || st.Finished != 1 {
			t.Errorf("Stats = %+v, want 1 finished, 1 late", st)
		}
		h.noMoreExports(t)
	})
	t.Run("runtimeDone before the response", func(t *testing.T) {
		h := newHarness(t, Config{TelemetryWait: 20 * time.Millisecond}, true)
		h.loop.SetTelemetry(true)
		h.loop.Next(proxyNext("req-a", readEvent(t, "apigw-v2.json")))
		h.loop.Telemetry(tel(t, platformStart("req-a"), runtimeDone("req-a", "success", 40)))
		if n := h.exported("req-a"); n != 0 {
			t.Fatalf("exported before the response arrived")
		}
		h.loop.Response(buffered("req-a", `{"statusCode":200,"body":"abc"}`))
		r := h.next(t)
		assertRuntimeDone(t, r, 40)
	})
	t.Run("runtimeDone after the response, within the wait", func(t *testing.T) {
		h := newHarness(t, Config{TelemetryWait: time.Hour}, true)
		h.loop.SetTelemetry(true)
		h.loop.Next(proxyNext("req-b", readEvent(t, "apigw-v2.json")))
		h.loop.Response(buffered("req-b", `{"statusCode":200,"body":"abc"}`))
		if n := h.exported("req-b"); n != 0 {
			t.Fatalf("exported before runtimeDone or the wait")
		}
		h.loop.Telemetry(tel(t, runtimeDone("req-b", "success", 31)))
		r := h.next(t)
		assertRuntimeDone(t, r, 31)
	})
}

func assertRuntimeDone(t *testing.T, r invocation.Record, produced int64) {
	t.Helper()
	rd := r.Platform.RuntimeDone
	if rd == nil {
		t.Fatalf("record %s exported without runtimeDone", r.RequestID)
	}
	if rd.Status != "success" || rd.DurationMs != 12.5 || rd.ProducedBytes == nil || *rd.ProducedBytes != produced ||
		rd.ResponseLatencyMs == nil || *rd.ResponseLatencyMs != 3.5 || rd.ResponseDurationMs == nil || *rd.ResponseDurationMs != 0.25 {
		t.Errorf("runtimeDone = %+v", rd)
	}
	if r.Response == nil || r.Response.BodyBytes != 3 {
		t.Errorf("response = %+v", r.Response)
	}
}

// (4) platform.report after the record was exported joins its trace through Late.
func TestLoopLateReport(t *testing.T) {
	for _, lateOK := range []bool{true, false} {
		t.Run(fmt.Sprintf("exporter remembers: %v", lateOK), func(t *testing.T) {
			h := newHarness(t, Config{}, true)
			h.exp.lateOK = lateOK
			h.loop.SetTelemetry(true)
			h.loop.Next(proxyNext("req-l", readEvent(t, "alb.json")))
			h.loop.Response(buffered("req-l", `{"statusCode":200,"body":"abc"}`))
			h.loop.Telemetry(tel(t, runtimeDone("req-l", "success", 30)))
			if r := h.next(t); r.Platform.Report != nil {
				t.Fatalf("report present before it was sent")
			}
			h.loop.Telemetry(tel(t, report("req-l", "success", 77)))
			if !strings.Contains(h.log.String(), "late:req-l") {
				t.Fatalf("Late not called; calls: %s", h.log)
			}
			if lateOK {
				rp := h.exp.late["req-l"]
				if rp.MaxMemoryUsedMB != 77 || rp.BilledDurationMs != 16 || rp.MemorySizeMB != 128 || rp.DurationMs != 15.2 {
					t.Errorf("late report = %+v", rp)
				}
			}
			wantLate := 0
			if !lateOK {
				wantLate = 1
			}
			if st := h.loop.Stats(); st.LateEvents != wantLate {
				t.Errorf("LateEvents = %d, want %d", st.LateEvents, wantLate)
			}
			h.noMoreExports(t)
		})
	}
}

// (4b) platform.runtimeDone after the telemetry wait ran out (slow telemetry under load)
// joins the exported invocation's trace through Late, with its producedBytes.
func TestLoopLateRuntimeDone(t *testing.T) {
	h := newHarness(t, Config{TelemetryWait: time.Millisecond}, true)
	h.exp.lateOK = true
	h.loop.SetTelemetry(true)
	h.loop.Next(proxyNext("req-d", readEvent(t, "alb.json")))
	h.loop.Response(buffered("req-d", `{"statusCode":200,"body":"abc"}`))
	if r := h.next(t); r.Platform.RuntimeDone != nil {
		t.Fatalf("runtimeDone present before it was sent")
	}
	h.loop.Telemetry(tel(t, runtimeDone("req-d", "success", 30)))
	h.exp.mu.Lock()
	rd, ok := h.exp.lateDone["req-d"]
	h.exp.mu.Unlock()
	if !ok || rd.ProducedBytes == nil || *rd.ProducedBytes != 30 {
		t.Fatalf("late runtimeDone = %+v (%v); calls: %s", rd, ok, h.log)
	}
	if st := h.loop.Stats(); st.LateEvents != 0 {
		t.Errorf("LateEvents = %d, want 0: the late runtimeDone reached its trace", st.LateEvents)
	}
	h.noMoreExports(t)
}

// (5) Lambda Managed Instances: no INVOKE, concurrent request ids, report without runtimeDone.
func TestLoopManagedInstances(t *testing.T) {
	h := newHarness(t, Config{}, true)
	h.loop.SetTelemetry(true)
	h.loop.Telemetry(tel(t, initStart("lambda-managed-instances"), initRuntimeDone("success")))
	h.run(t)

	ids := []string{"mi-0", "mi-1", "mi-2", "mi-3", "mi-4", "mi-5", "mi-6", "mi-7"}
	// The first Next opens the cold-start record, before the concurrent ones.
	h.loop.Next(proxyNext(ids[0], readEvent(t, "function-url.json")))
	var wg sync.WaitGroup
	for i, id := range ids {
		starts, reports := tel(t, platformStart(id)), tel(t, report(id, "success", 60+i)) // t.Fatal only here
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				h.loop.Next(proxyNext(id, fmt.Appendf(nil, `{"version":"2.0","rawPath":"/%s","requestContext":{"domainName":"x.lambda-url.us-east-1.on.aws","http":{"method":"POST"}}}`, id)))
			}
			h.loop.Telemetry(starts)
			h.loop.Response(buffered(id, fmt.Sprintf(`{"statusCode":200,"body":%q}`, strings.Repeat("x", 10+i))))
			h.loop.Telemetry(reports)
		}()
	}
	wg.Wait()
	// One more, still open at SHUTDOWN: the runtime took it, nothing else came.
	h.loop.Next(proxyNext("mi-open", readEvent(t, "apigw-v1.json")))

	got := map[string]invocation.Record{}
	for range ids {
		r := h.next(t)
		if _, dup := got[r.RequestID]; dup {
			t.Errorf("%s exported twice", r.RequestID)
		}
		got[r.RequestID] = r
	}
	for i, id := range ids {
		r, ok := got[id]
		if !ok {
			t.Errorf("%s not exported", id)
			continue
		}
		if r.Invoke != nil {
			t.Errorf("%s has an INVOKE", id)
		}
		if r.Response == nil || r.Response.BodyBytes != int64(10+i) {
			t.Errorf("%s response = %+v, want a %d-byte body", id, r.Response, 10+i)
		}
		if r.Platform.Report == nil || r.Platform.Report.MaxMemoryUsedMB != int64(60+i) || r.Platform.Start == nil {
			t.Errorf("%s platform = %+v, want its own report and start", id, r.Platform)
		}
		wantPath := "/" + id
		if i == 0 {
			wantPath = "/bytes"
		}
		if r.Request == nil || r.Request.Path != wantPath {
			t.Errorf("%s request = %+v, want path %s", id, r.Request, wantPath)
		}
		if v := r.Judge(); v.Verdict != invocation.VerdictDelivered {
			t.Errorf("%s verdict = %+v", id, v)
		}
		// (6) only the first is the cold start, with the telemetry's init.
		if cold := i == 0; r.ColdStart != cold || (r.Init != nil) != cold {
			t.Errorf("%s ColdStart %v Init %v, want cold %v", id, r.ColdStart, r.Init, cold)
		} else if cold && (r.Init.Source != "telemetry" || r.Init.Type != "lambda-managed-instances" || r.Init.Status != "success") {
			t.Errorf("init = %+v", r.Init)
		}
	}

	h.send(t, extapi.Event{EventType: extapi.Shutdown, ShutdownReason: "spindown", DeadlineMs: time.Now().Add(bound).UnixMilli()})
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run = %v after SHUTDOWN", err)
		}
	case <-time.After(bound):
		t.Fatal("Run did not return after SHUTDOWN")
	}
	h.done <- nil // for the cleanup
	r := h.next(t)
	if r.RequestID != "mi-open" || r.Response != nil {
		t.Errorf("at SHUTDOWN exported %s (response %v), want the open mi-open", r.RequestID, r.Response)
	}
	if v := r.Judge(); v.Verdict != invocation.VerdictUnknown {
		t.Errorf("mi-open verdict = %+v", v)
	}
	calls := h.log.String()
	if !strings.HasSuffix(calls, "export:mi-open shutdown") {
		t.Errorf("calls end %q, want the open record exported then shutdown", calls[max(0, len(calls)-60):])
	}
	if strings.Contains(calls, "flush") {
		t.Errorf("flush called without an INVOKE: %s", calls)
	}
	h.noMoreExports(t)
	if st := h.loop.Stats(); st.Finished != len(ids)+1 {
		t.Errorf("Finished = %d, want %d", st.Finished, len(ids)+1)
	}
}

// A fast runtime can post its response before the loop has read the INVOKE for it
// (Lambda sends both at once). The loop must not then wait for the deadline.
func TestLoopResponseBeforeInvoke(t *testing.T) {
	h := newHarness(t, Config{}, true)
	h.run(t)
	h.loop.Next(proxyNext("req-fast", readEvent(t, "apigw-v2.json")))
	h.loop.Response(buffered("req-fast", `{"statusCode":200,"body":"abc"}`))
	if r := h.next(t); r.RequestID != "req-fast" {
		t.Fatalf("exported %s", r.RequestID)
	}
	// The deadline is an hour away; the loop must ask for the next event long before.
	h.send(t, extapi.Event{EventType: extapi.Invoke, RequestID: "req-fast", DeadlineMs: time.Now().Add(time.Hour).UnixMilli()})
	select {
	case <-h.ext.asked:
	case <-time.After(bound):
		t.Fatalf("the loop waited for a record the proxy had already closed (regression of e298f68); calls: %s", h.log)
	}
	if n := h.exported("req-fast"); n != 1 {
		t.Errorf("req-fast exported %d times, want 1", n)
	}
}

// An INVOKE whose response never comes is closed at deadline + ResponseGrace.
func TestLoopDeadline(t *testing.T) {
	h := newHarness(t, Config{ResponseGrace: 10 * time.Millisecond}, true)
	h.run(t)
	h.send(t, extapi.Event{EventType: extapi.Invoke, RequestID: "req-slow", DeadlineMs: time.Now().UnixMilli()})
	h.loop.Next(proxyNext("req-slow", readEvent(t, "direct.json")))
	r := h.next(t)
	h.waitAsked(t)
	if r.RequestID != "req-slow" || r.Response != nil {
		t.Errorf("record = %+v", r)
	}
	if v := r.Judge(); v.Verdict != invocation.VerdictUnknown || !strings.Contains(v.Reason, "no response") {
		t.Errorf("verdict = %+v", v)
	}
}

// TestSweep closes records that can no longer complete: past their deadline, or open
// longer than Lambda's longest timeout when no deadline is known; others stay open.
func TestSweep(t *testing.T) {
	h := newHarness(t, Config{TelemetryWait: time.Millisecond, ResponseGrace: time.Millisecond}, true)
	h.loop.SetTelemetry(true)
	now := time.Now()
	past := now.Add(-time.Second)
	h.loop.Next(runtimeproxy.Next{RequestID: "past-deadline", Header: http.Header{"Lambda-Runtime-Deadline-Ms": {strconv.FormatInt(past.UnixMilli(), 10)}}, End: past})
	h.loop.Next(runtimeproxy.Next{RequestID: "future-deadline", Header: http.Header{"Lambda-Runtime-Deadline-Ms": {strconv.FormatInt(now.Add(time.Minute).UnixMilli(), 10)}}, End: now})
	h.loop.Telemetry(tel(t,
		`{"time":"`+now.Add(-20*time.Minute).UTC().Format(time.RFC3339Nano)+`","type":"platform.start","record":{"requestId":"stray-old"}}`,
		`{"time":"`+now.UTC().Format(time.RFC3339Nano)+`","type":"platform.start","record":{"requestId":"stray-new"}}`))
	h.loop.Sweep(now)
	got := map[string]bool{}
	for _, r := range h.exp.all() {
		got[r.RequestID] = true
	}
	// With the proxy in the path, telemetry for an id it never delivered is a stray:
	// closed by the sweep like the rest, counted, never exported.
	if !got["past-deadline"] || len(got) != 1 {
		t.Fatalf("exported %v; want past-deadline only", got)
	}
	if st := h.loop.Stats(); st.Strays != 1 {
		t.Errorf("strays = %d, want 1 (stray-old swept)", st.Strays)
	}
}
