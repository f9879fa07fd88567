package lifecycle

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/extapi"
	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/runtimeproxy"
	"github.com/bodytrace/bodytrace/steps/line"
)

// TestStrayFloodCannotEvictLiveInvocation is issue 18's first case: 1,100 step lines for
// random request ids arrive while an invocation runs. The live record must stay open, its
// response must finish it (releasing the INVOKE's wait at once, not at the deadline), and
// the strays must cost only a counter: no export, no summary.
func TestStrayFloodCannotEvictLiveInvocation(t *testing.T) {
	h := newHarness(t, Config{}, true)
	h.run(t)
	h.loop.Next(proxyNext("live", readEvent(t, "direct.json")))
	h.invoke(t, "live")
	for i := range 1100 {
		h.loop.Step(line.Step{V: 1, RequestID: fmt.Sprintf("forged-%d", i), Stage: "handler", Phase: "out", Bytes: 1})
	}
	if open := h.loop.store.Open(func(r *invocation.Record) bool { return r.RequestID == "live" }); len(open) != 1 {
		t.Fatal("the live invocation's record was evicted by stray step lines")
	}
	if n := len(h.loop.store.Open(nil)); n > maxStrayRecords+1 {
		t.Errorf("%d records open, want at most the stray budget %d plus the live one", n, maxStrayRecords)
	}
	h.loop.Response(buffered("live", `{"ok":true}`))
	r := h.next(t)
	if r.RequestID != "live" || r.Judge().Verdict != invocation.VerdictDelivered {
		t.Fatalf("exported %s with verdict %+v, want live delivered", r.RequestID, r.Judge())
	}
	h.waitAsked(t) // the INVOKE's wait ended with the response, an hour before its deadline
	if st := h.loop.Stats(); st.Strays != 1100-maxStrayRecords || st.Dropped != 0 {
		t.Errorf("stats = %+v, want %d strays counted and nothing real dropped", st, 1100-maxStrayRecords)
	}
	if n := len(h.exp.all()); n != 1 {
		t.Errorf("%d records exported, want only the live one", n)
	}
}

// A record evicted from the anchored class (more invocations open than the bound) must
// release the INVOKE waiting for it: nothing may wait for a record that is gone.
func TestEvictionReleasesWaiter(t *testing.T) {
	h := newHarness(t, Config{}, true)
	h.exp.exported = make(chan invocation.Record, 2*maxOpenRecords) // shutdown exports every open record
	h.run(t)
	h.send(t, extapi.Event{EventType: extapi.Invoke, RequestID: "waiting", DeadlineMs: time.Now().Add(time.Hour).UnixMilli()})
	waitUntil(t, "record waiting open", func() bool { return len(h.loop.store.Open(nil)) == 1 })
	for i := range maxOpenRecords {
		h.loop.Next(proxyNext(fmt.Sprintf("real-%d", i), readEvent(t, "direct.json")))
	}
	h.waitAsked(t)
	if h.exported("waiting") != 1 {
		t.Errorf("the evicted record was exported %d times, want 1", h.exported("waiting"))
	}
}

// A stray arriving before the first invocation must not take its cold start.
func TestStrayDoesNotClaimColdStart(t *testing.T) {
	h := newHarness(t, Config{}, true)
	h.loop.Step(line.Step{V: 1, RequestID: "forged", Stage: "handler", Phase: "out", Bytes: 1})
	h.loop.Next(proxyNext("first", readEvent(t, "direct.json")))
	h.loop.Response(buffered("first", `{}`))
	r := h.next(t)
	if r.RequestID != "first" || !r.ColdStart {
		t.Errorf("record %s ColdStart=%v, want the first real invocation to be the cold start", r.RequestID, r.ColdStart)
	}
}

// A result the Runtime API refused after it accepted one (a double /response, or one
// posted by another process for a live id) must not replace what the caller got; a
// forged /response for an id the Runtime API never delivered costs only a counter.
func TestRefusedResponseIsNotADelivery(t *testing.T) {
	h := newHarness(t, Config{TelemetryWait: time.Hour}, true)
	h.loop.SetTelemetry(true) // the record stays open for runtimeDone, so the second result reaches it
	h.loop.Next(proxyNext("live", readEvent(t, "direct.json")))
	h.loop.Response(buffered("live", `{"body":"the caller got this"}`))
	refused := buffered("live", `{}`)
	refused.Status, refused.UpstreamBody = 400, []byte(`{"errorType":"InvalidStateTransition"}`)
	h.loop.Response(refused)
	forged := buffered("never-delivered", `{"x":1}`)
	forged.Status = 400
	h.loop.Response(forged)
	h.loop.Telemetry(tel(t, `{"time":"`+stamp()+`","type":"platform.runtimeDone","record":{"requestId":"live","status":"timeout"}}`))
	r := h.next(t)
	v := r.Judge()
	if r.RequestID != "live" || r.Refused != 1 || r.Response.Upstream != 202 || v.Verdict != invocation.VerdictDelivered {
		t.Fatalf("record %s refused=%d upstream=%d verdict %+v; want live delivered with one refused result noted", r.RequestID, r.Refused, r.Response.Upstream, v)
	}
	if !strings.Contains(v.Reason, "telemetry says timeout") {
		t.Errorf("reason %q does not note the forged timeout", v.Reason)
	}
	h.loop.Sweep(time.Now().Add(time.Hour))
	if n := len(h.exp.all()); n != 1 || h.loop.Stats().Strays != 1 {
		t.Errorf("%d exported, %d strays; want the forged /response counted as a stray only", n, h.loop.Stats().Strays)
	}
}

// An init failure gets a summary: with no invocation open, a record of its own.
func TestInitFailureIsExported(t *testing.T) {
	h := newHarness(t, Config{}, true)
	h.loop.Response(runtimeproxy.Response{Kind: runtimeproxy.KindInitError, Status: 202, Start: time.Now(), End: time.Now(),
		Header: http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.ExitError"}}})
	r := h.next(t)
	v := r.Judge()
	if v.Verdict != "lost:platform" || !strings.Contains(v.Reason, "init failed") || r.Init == nil || r.Init.Status != "error" {
		t.Errorf("verdict %+v init %+v; want lost:platform for the failed init", v, r.Init)
	}
}

func streamed(id, body string) runtimeproxy.Response {
	now := time.Now()
	return runtimeproxy.Response{RequestID: id, Kind: runtimeproxy.KindResponse, Streaming: true,
		Header: http.Header{"Lambda-Runtime-Function-Response-Mode": {"streaming"}, "Content-Type": {"application/octet-stream"}},
		Head:   []byte(body), Size: int64(len(body)), Chunks: 1, Start: now, FirstByte: now, End: now, Status: 202}
}

// A complete stream waits for the runtime to show it lives on: its next /next closes the
// record as delivered; a hang-up with no /next after it means the process died (the caller
// got an error), and a hang-up followed by a /next within the grace is a client that
// closes its connections, alive.
func TestStreamWaitsForTheRuntimesNextRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		after   func(l *Loop, id string)
		verdict string
	}{
		{"asks for its next event", func(l *Loop, id string) { l.Asked(time.Now()) }, invocation.VerdictDelivered},
		{"hangs up", func(l *Loop, id string) { l.HungUp(id, time.Now()) }, "lost:platform"},
		{"hangs up, then asks", func(l *Loop, id string) { l.HungUp(id, time.Now()); l.Asked(time.Now()) }, invocation.VerdictDelivered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, true)
			h.loop.Next(proxyNext("s", readEvent(t, "direct.json")))
			h.loop.Response(streamed("s", "hello"))
			if h.exported("s") != 0 {
				t.Fatal("the stream's record closed before the runtime showed it lives on")
			}
			tc.after(h.loop, "s")
			r := h.next(t)
			if v := r.Judge(); v.Verdict != tc.verdict {
				t.Errorf("verdict %+v, want %s", v, tc.verdict)
			}
		})
	}
}
