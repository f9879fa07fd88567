package e2e

// The gateway topology (docs/scale.md): many execution environments exporting to one
// OTel-protocol gateway (Jaeger v2 here, standing in for an OpenTelemetry Collector or a
// vendor endpoint), with the SDK's batching and gzip compression; and a gateway that
// throttles (429/503 with Retry-After), which must never slow an invocation past the
// flush bound, must be logged once per outage, and must be recovered from.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// TestGatewayManyEnvironments: three execution environments (three emulators, classic
// mode) at once, all exporting gzip-compressed OTLP/HTTP to the suite's one Jaeger. Each
// environment is driven one invocation at a time (as Lambda does in classic mode), the
// three concurrently; every invocation's trace must be in Jaeger under its request id.
func TestGatewayManyEnvironments(t *testing.T) {
	needParts(t)
	const envs, each = 3, 8
	stamp := time.Now().UnixNano()
	lambdas := make([]*localrun.Lambda, envs)
	for i := range lambdas {
		service := fmt.Sprintf("e2e-gateway-%d-%d", i, stamp)
		lambdas[i] = StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"},
			append(otlpEnv(service), "OTEL_EXPORTER_OTLP_COMPRESSION=gzip")...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	sizes := make([][]int, envs)
	errs := make(chan error, envs*each)
	var wg sync.WaitGroup
	start := time.Now()
	for e, l := range lambdas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				size := 1000*(e+1) + i // distinct across environments
				got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(size)}))
				var res httpResult
				if err == nil {
					err = json.Unmarshal(got, &res)
				}
				if err == nil && len(res.Body) != size {
					err = fmt.Errorf("environment %d asked for %d bytes, got %d", e, size, len(res.Body))
				}
				if err != nil {
					errs <- fmt.Errorf("environment %d invoke %d: %w", e, i, err)
					continue
				}
				sizes[e] = append(sizes[e], size)
			}
		}()
	}
	wg.Wait()
	drive := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	found := 0
	for e, l := range lambdas {
		sums, err := l.WaitSummaries(ctx, each)
		if err != nil {
			t.Fatalf("environment %d: %v", e, err)
		}
		ids := waitStarts(t, ctx, l, each)
		if len(ids) != each || len(sums) != each {
			t.Fatalf("environment %d: %d START lines, %d summaries, %d invocations", e, len(ids), len(sums), each)
		}
		for i, s := range sums {
			if s["requestId"] != ids[i] {
				t.Errorf("environment %d summary %d is for %v, the emulator started %s", e, i, s["requestId"], ids[i])
			}
			traceID, _ := s["traceId"].(string)
			if traceID == "" {
				t.Errorf("environment %d summary %d has no trace id: %v", e, i, s)
				continue
			}
			tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
			tr, err := jaeger.Trace(tctx, traceID, 3) // invoke, request, response
			tcancel()
			if err != nil {
				t.Errorf("environment %d invocation %d (%s): %v", e, i, ids[i], err)
				continue
			}
			roots := tr.Find("invoke")
			if len(roots) != 1 {
				t.Errorf("environment %d invocation %d: %d invoke spans, want 1", e, i, len(roots))
				continue
			}
			root := roots[0]
			if root.Tag("faas.invocation_id") != ids[i] {
				t.Errorf("environment %d invocation %d: trace %s is for request %q, want %s", e, i, traceID, root.Tag("faas.invocation_id"), ids[i])
			}
			if root.Tag("http.response.body.size") != strconv.Itoa(sizes[e][i]) {
				t.Errorf("environment %d invocation %d: body size %q, want %d", e, i, root.Tag("http.response.body.size"), sizes[e][i])
			}
			found++
		}
		if n := len(logLines(l.Log.String(), "flush")); n != 0 {
			t.Errorf("environment %d: %d flush warnings exporting to a healthy gateway", e, n)
		}
	}
	t.Logf("FIGURES gateway: %d environments × %d invocations driven concurrently in %v; %d of %d traces in Jaeger under their request ids (gzip)",
		envs, each, drive.Round(time.Millisecond), found, envs*each)
}

// throttler is an OTLP/HTTP gateway that answers every POST with status and Retry-After
// until ok is set, then 200. It counts the POSTs it answered each way.
type throttler struct {
	status     int
	retryAfter string
	ok         atomic.Bool
	refused    atomic.Int64
	accepted   atomic.Int64
	bytes      atomic.Int64 // request body bytes accepted
}

func (th *throttler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !th.ok.Load() {
		th.refused.Add(1)
		w.Header().Set("Retry-After", th.retryAfter)
		w.WriteHeader(th.status)
		return
	}
	th.accepted.Add(1)
	th.bytes.Add(n)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK) // an empty ExportTraceServiceResponse: full success
}

// TestGatewayThrottling: a gateway answering 429 (then, in a second case, 503) with
// Retry-After: 5. Every invocation answers its body, none is delayed past the flush bound
// (plus a margin), the extension logs one flush warning for the outage, and once the
// gateway answers 200 the throttled invocations' traces, kept meanwhile, reach it (none dropped).
func TestGatewayThrottling(t *testing.T) {
	needParts(t)
	const invocations = 20
	const margin = time.Second
	for _, c := range []struct {
		name   string
		status int
	}{{"429", http.StatusTooManyRequests}, {"503", http.StatusServiceUnavailable}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			th := &throttler{status: c.status, retryAfter: "5"}
			srv := httptest.NewServer(th) // loopback
			t.Cleanup(srv.Close)
			l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"},
				"OTEL_EXPORTER_OTLP_ENDPOINT="+srv.URL, "OTEL_SERVICE_NAME=e2e-throttle-"+c.name,
				"BODYTRACE_SUMMARY=on", "BODYTRACE_FLUSH_TIMEOUT="+faultFlushTimeout.String())
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			// Warm the environment first against a healthy gateway: the baseline.
			th.ok.Store(true)
			_, warmTook := invokeSizes(t, ctx, l, 3)
			baseline := slices.Min(warmTook[1:])
			th.ok.Store(false)
			before, warmBytes := th.accepted.Load(), th.bytes.Load()

			mark := len(l.Log.String())
			var took []time.Duration
			for i := range invocations {
				size := 5000 + i
				start := time.Now()
				got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(size)}))
				took = append(took, time.Since(start))
				var res httpResult
				if err == nil {
					err = json.Unmarshal(got, &res)
				}
				if err != nil || len(res.Body) != size {
					t.Fatalf("throttled invoke %d: %v: caller got %.120s, want a %d-byte body", i, err, got, size)
				}
			}
			worst := slices.Max(took)
			// The warning is relayed on the emulator's schedule: wait for it, bounded.
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			if _, err := l.WaitLog(wctx, `"msg":"flush"`); err != nil {
				t.Errorf("no flush warning during the throttling: %v", err)
			}
			wcancel()
			throttledLog := l.Log.String()[mark:]
			flushes := logLines(throttledLog, "flush")
			refused := th.refused.Load()

			// Recovery: the gateway answers 200 again. The SDK's exporter may still be
			// waiting out a Retry-After from the outage, so drive invocations until spans
			// arrive (bounded) rather than expecting the very next one to carry them.
			th.ok.Store(true)
			recoverStart := time.Now()
			recovered := false
			var after []time.Duration
			for i := 0; time.Since(recoverStart) < 15*time.Second; i++ {
				start := time.Now()
				if _, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(9000 + i)})); err != nil {
					t.Fatalf("invoke after recovery %d: %v", i, err)
				}
				after = append(after, time.Since(start))
				if th.accepted.Load() > before {
					recovered = true
					break
				}
				time.Sleep(250 * time.Millisecond)
			}
			recoveredIn := time.Since(recoverStart)
			recoveredLog := l.Log.String()[mark:]

			t.Logf("FIGURES throttling gateway %d + Retry-After 5: %d invocations, baseline %v, worst %v (added worst %v, bound %v), p50 %v; "+
				"%d POSTs refused; %d flush warnings; recovered=%v after %v (%d invocations, %d POSTs accepted, %d bytes, against %d bytes a warm-up invocation); 'export recovered' lines %d",
				c.status, invocations, baseline.Round(time.Millisecond), worst.Round(time.Millisecond), (worst - baseline).Round(time.Millisecond),
				faultFlushTimeout, percentile(took, 0.5).Round(time.Millisecond), refused, len(flushes), recovered,
				recoveredIn.Round(time.Millisecond), len(after), th.accepted.Load()-before, th.bytes.Load()-warmBytes, warmBytes/3, len(logLines(recoveredLog, "export recovered")))

			if refused == 0 {
				t.Errorf("the gateway refused no POST: the throttle was never exercised")
			}
			// The outage cost no span: the throttled invocations' traces waited in the
			// exporter's buffer and reached the gateway once it answered; the recovery line
			// says so (the emulator relays it on its own schedule: wait for it, bounded).
			rec := logLines(recoveredLog, "export recovered")
			for deadline := time.Now().Add(5 * time.Second); len(rec) == 0 && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				rec = logLines(l.Log.String()[mark:], "export recovered")
			}
			if len(rec) != 1 {
				t.Errorf("%d 'export recovered' lines, want one", len(rec))
			} else if n, _ := rec[0]["spans_dropped_so_far"].(float64); n != 0 {
				t.Errorf("recovery line says %v spans dropped; a short outage must cost none", rec[0]["spans_dropped_so_far"])
			}
			if got, want := th.bytes.Load()-warmBytes, int64(invocations)*(warmBytes/3)/2; got < want {
				t.Errorf("%d bytes reached the gateway after the outage; the %d throttled invocations' traces need about %d", got, invocations, 2*want)
			}
			for i, d := range took {
				if d > faultFlushTimeout+margin {
					t.Errorf("throttled invocation %d took %v, more than the flush bound %v + %v", i, d, faultFlushTimeout, margin)
				}
			}
			if len(flushes) != 1 {
				t.Errorf("%d flush warnings for %d throttled invocations, want exactly one per outage: %v", len(flushes), invocations, flushes)
			}
			for _, f := range flushes {
				if f["bound"] != faultFlushTimeout.String() {
					t.Errorf("flush warning %v does not state the bound %v", f, faultFlushTimeout)
				}
			}
			if !recovered {
				t.Errorf("no spans reached the gateway within %v of it answering 200 again", recoveredIn.Round(time.Millisecond))
			}
			sums, err := l.WaitSummaries(ctx, 3+invocations+len(after))
			if err != nil {
				t.Errorf("summaries: %v", err)
			}
			for i, s := range sums {
				if s["verdict"] != "delivered" {
					t.Errorf("summary %d: verdict %v, want delivered", i, s["verdict"])
				}
			}
		})
	}
}
