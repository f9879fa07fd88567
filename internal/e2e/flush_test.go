package e2e

// The flush strategy against a backend at a distance: a loopback stand-in in front of
// Jaeger that answers each export after a set delay, or holds it. Healthy invocations must
// not wait for it; lost bodies' traces must reach it before the extension's next /next
// (the emulator answers the caller only after that /next); nothing may be lost across
// freezes of the extension between invocations.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// containsTrace reports whether one of the OTLP requests carried the trace id (hex).
func containsTrace(t *testing.T, bodies [][]byte, traceID string) bool {
	t.Helper()
	raw, err := hex.DecodeString(traceID)
	if err != nil || len(raw) != 16 {
		t.Fatalf("trace id %q", traceID)
	}
	for _, b := range bodies {
		if bytes.Contains(b, raw) {
			return true
		}
	}
	return false
}

func invokeBody(t *testing.T, ctx context.Context, l *localrun.Lambda, q map[string]string) {
	t.Helper()
	got, err := l.Invoke(ctx, event(t, "function-url.json", q))
	if err != nil {
		t.Fatalf("invoke %v: %v", q, err)
	}
	var res httpResult
	if err := json.Unmarshal(got, &res); err != nil {
		t.Fatalf("invoke %v: caller got %.120s: %v", q, got, err)
	}
	if n, _ := strconv.Atoi(q["bytes"]); q["empty"] == "" && len(res.Body) != n {
		t.Fatalf("invoke %v: caller got a %d-byte body", q, len(res.Body))
	}
}

// TestFlushRemoteBackend: with the default strategy, healthy invocations answer while the
// backend holds every export (a flush that waited would hold each for the 30 s bound);
// then, the backend answering after 30 ms, each lost body's trace has been answered by the
// backend when its invocation returns; at SHUTDOWN every healthy trace arrives too.
func TestFlushRemoteBackend(t *testing.T) {
	needParts(t)
	remote, err := localrun.StartRemote(jaeger.OTLPHTTP, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	service := fmt.Sprintf("e2e-flush-remote-%d", time.Now().UnixNano())
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"},
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+remote.Addr, "OTEL_SERVICE_NAME="+service,
		"BODYTRACE_SUMMARY=on", "BODYTRACE_FLUSH_TIMEOUT=30s")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	remote.Hold()
	const healthy = 5
	for i := range healthy {
		// Bounded well below the flush bound: an invocation that waited for the held
		// export would fail here instead of answering.
		ictx, icancel := context.WithTimeout(ctx, 15*time.Second)
		invokeBody(t, ictx, l, map[string]string{"bytes": strconv.Itoa(100 + i)})
		icancel()
	}
	if n := remote.Answered(); n != 0 {
		t.Fatalf("the held backend answered %d exports", n)
	}
	if remote.Arrived() == 0 {
		t.Fatal("no export reached the backend while healthy invocations ran: healthy traces must leave in the background")
	}
	remote.Release()

	const lost = 3
	var answeredAtReturn [][][]byte
	for range lost {
		invokeBody(t, ctx, l, map[string]string{"empty": "1"})
		answeredAtReturn = append(answeredAtReturn, remote.Bodies())
	}
	sums, err := l.WaitSummaries(ctx, healthy+lost)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lost {
		s := sums[healthy+i]
		id, _ := s["traceId"].(string)
		if s["verdict"] != "lost:handler" || id == "" {
			t.Fatalf("lost invocation %d: summary %v", i, s)
		}
		if !containsTrace(t, answeredAtReturn[i], id) {
			t.Errorf("lost invocation %d returned before the backend had answered its trace %s", i, id)
		}
	}
	l.Stop()
	for i, s := range sums[:healthy] {
		id, _ := s["traceId"].(string)
		if s["verdict"] != "delivered" || id == "" {
			t.Fatalf("healthy invocation %d: summary %v", i, s)
		}
		if _, err := jaeger.Trace(ctx, id, 3); err != nil {
			t.Errorf("healthy invocation %d: %v", i, err)
		}
	}
	if w := logLines(l.Log.String(), "flush"); len(w) != 0 {
		t.Errorf("flush warnings with a slow but working backend: %v", w)
	}
}

// TestFlushAcrossFreezes stops the extension (SIGSTOP) after every invocation for longer
// than its flush bound, as Lambda freezes an idle environment, then resumes it (SIGCONT),
// with the backend 30 ms away. Every trace, lost body or healthy, must reach the backend,
// and a freeze must not read as an outage. `make bench` runs the 1,000-invocation version.
func TestFlushAcrossFreezes(t *testing.T) {
	needParts(t)
	remote, err := localrun.StartRemote(jaeger.OTLPHTTP, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	const bound = time.Second // the default; an export running over half of it opens the breaker
	service := fmt.Sprintf("e2e-flush-freeze-%d", time.Now().UnixNano())
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"},
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+remote.Addr, "OTEL_SERVICE_NAME="+service,
		"BODYTRACE_SUMMARY=on", "BODYTRACE_FLUSH_TIMEOUT="+bound.String())
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	const n = 16
	pid := 0
	for i := range n {
		q := map[string]string{"bytes": strconv.Itoa(50 + i)}
		if i%4 == 1 {
			q = map[string]string{"empty": "1"}
		}
		invokeBody(t, ctx, l, q)
		if pid == 0 {
			if pid, err = l.ExtensionPid(); err != nil {
				t.Fatal(err)
			}
		}
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(bound + 200*time.Millisecond) // the freeze: longer than the flush bound
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
	}
	sums, err := l.WaitSummaries(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	l.Stop()
	lostN := 0
	for i, s := range sums {
		id, _ := s["traceId"].(string)
		want := "delivered"
		if i%4 == 1 {
			want = "lost:handler"
			lostN++
		}
		if s["verdict"] != want || id == "" {
			t.Fatalf("invocation %d: summary %v, want %s with a trace id", i, s, want)
		}
		if _, err := jaeger.Trace(ctx, id, 3); err != nil {
			t.Errorf("invocation %d (%s) lost across freezes: %v", i, want, err)
		}
	}
	t.Logf("FIGURES invocations=%d lost_bodies=%d exports=%d", n, lostN, remote.Answered())
	if w := logLines(l.Log.String(), "flush"); len(w) != 0 {
		t.Errorf("a freeze read as an outage: %v", w)
	}
}

// TestBreakerBadCertificate: with every trace flushed before the next event
// (BODYTRACE_FLUSH=end), an endpoint whose certificate is not trusted fails the first
// export; the breaker then keeps the next invocations from calling it at all (a few
// background retries aside), where each used to pay a TLS handshake and its failure.
func TestBreakerBadCertificate(t *testing.T) {
	needParts(t)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS() // a self-signed certificate the extension does not trust
	defer srv.Close()
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"},
		"OTEL_EXPORTER_OTLP_ENDPOINT="+srv.URL, "OTEL_SERVICE_NAME=e2e-bad-cert",
		"BODYTRACE_SUMMARY=on", "BODYTRACE_FLUSH=end")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 20
	for i := range n {
		invokeBody(t, ctx, l, map[string]string{"bytes": strconv.Itoa(10 + i)})
	}
	if _, err := l.WaitSummaries(ctx, n); err != nil {
		t.Fatal(err)
	}
	got := conns.Load()
	t.Logf("FIGURES invocations=%d tls_connections=%d", n, got)
	// The warm-up connection, the first export, and a few background retries (backoff
	// from 0.5 s); one per invocation without the breaker.
	if got > 6 {
		t.Errorf("%d connections to the endpoint for %d invocations: the breaker did not stop the flushes", got, n)
	}
	w := logLines(l.Log.String(), "flush")
	if len(w) != 1 || !strings.Contains(fmt.Sprint(w[0]["err"]), "certificate") {
		t.Errorf("flush warnings %v, want one naming the certificate", w)
	}
}
