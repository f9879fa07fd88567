package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/bodytrace/bodytrace/internal/localrun"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var startLine = regexp.MustCompile(`START RequestId: ([0-9a-f-]+)`)

// waitStarts waits (bounded by ctx) until the emulator has logged n START lines, which it
// relays with the extensions' output on its own schedule, and returns their request ids.
func waitStarts(t *testing.T, ctx context.Context, l *localrun.Lambda, n int) []string {
	t.Helper()
	var ids []string
	for {
		if ids = requestIDs(l.Log.String()); len(ids) >= n {
			return ids
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d START lines after waiting, want %d: %v", len(ids), n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// requestIDs returns the request ids the emulator started, in order.
func requestIDs(log string) []string {
	var ids []string
	for _, m := range startLine.FindAllStringSubmatch(log, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestGoClassicNotObserved runs the Go example as Lambda runs it on provided.al2023: the
// binary is the bootstrap and the exec wrapper never runs, so the proxy sees nothing. The
// extension still emits a trace per INVOKE and says the Runtime API was not observed.
func TestGoClassicNotObserved(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-go-classic-%d", time.Now().UnixNano())
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "go", Handler: "buffered"}, otlpEnv(service)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, n := range []int{10, 2048} {
		got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(n)}))
		if err != nil {
			t.Fatal(err)
		}
		var res httpResult
		if err := json.Unmarshal(got, &res); err != nil || len(res.Body) != n {
			t.Fatalf("invoke %d: caller got %.100s (%v), want a %d-byte body", i, got, err, n)
		}
		sums, err := l.WaitSummaries(ctx, i+1)
		if err != nil {
			t.Fatal(err)
		}
		s := sums[i]
		ids := waitStarts(t, ctx, l, i+1)
		if len(ids) <= i || s["requestId"] != ids[i] {
			t.Fatalf("invoke %d: summary request id %v, emulator started %v", i, s["requestId"], ids)
		}
		if s["verdict"] != "unknown" || !strings.Contains(fmt.Sprint(s["reason"]), "steps") {
			t.Errorf("invoke %d: verdict %v (%v); want unknown naming the steps package", i, s["verdict"], s["reason"])
		}
		tr, err := jaeger.Trace(ctx, s["traceId"].(string), 1)
		if err != nil {
			t.Fatal(err)
		}
		root := tr.Find("invoke")
		if len(root) != 1 || root[0].Tag("faas.invocation_id") != ids[i] || root[0].Tag("bodytrace.observed.runtime_api") != "false" {
			t.Errorf("invoke %d: root span %+v", i, root)
		}
	}
}

// TestManagedInstances runs both examples in the emulator's Lambda Managed Instances mode:
// no INVOKE for extensions, telemetry delivered (without platform.runtimeDone).
func TestManagedInstances(t *testing.T) {
	needParts(t)
	for _, fn := range []localrun.Function{
		{Runtime: "node", Handler: "index.handler", ManagedInstances: true},
		{Runtime: "go", Handler: "buffered", ManagedInstances: true},
	} {
		t.Run(fn.Runtime, func(t *testing.T) {
			service := fmt.Sprintf("e2e-mi-%s-%d", fn.Runtime, time.Now().UnixNano())
			env := append(otlpEnv(service), "OTEL_BSP_SCHEDULE_DELAY=100")
			l := StartLambda(t, tools, art, fn, env...)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sizes := []int{5, 4096, 300000}
			for i, n := range sizes {
				got, err := l.Invoke(ctx, event(t, "apigw-v2.json", map[string]string{"bytes": strconv.Itoa(n)}))
				if err != nil {
					t.Fatal(err)
				}
				var res httpResult
				if err := json.Unmarshal(got, &res); err != nil || len(res.Body) != n {
					t.Fatalf("invoke %d: caller got %.100s (%v), want a %d-byte body", i, got, err, n)
				}
			}
			sums, err := l.WaitSummaries(ctx, len(sizes))
			if err != nil {
				t.Fatalf("%v\n%s", err, l.Log)
			}
			seen := map[string]bool{}
			for i, s := range sums {
				id := s["requestId"].(string)
				if seen[id] {
					t.Fatalf("request %s exported twice", id)
				}
				seen[id] = true
				if !strings.Contains(fmt.Sprint(s["observed"]), "telemetry") {
					t.Errorf("summary %d: observed %v, want telemetry", i, s["observed"])
				}
				// The report may arrive after the summary (telemetry batches come when they
				// come): it joins the trace as a late span, so wait for it, bounded.
				tctx, tcancel := context.WithTimeout(ctx, 15*time.Second)
				tr, err := jaeger.WaitTrace(tctx, s["traceId"].(string), "a platform.report span",
					func(tr localrun.Trace) bool { return len(tr.Find("platform.report")) > 0 })
				tcancel()
				if err != nil {
					t.Fatalf("summary %d: %v", i, err)
				}
				rep := tr.Find("platform.report")
				if len(rep) != 1 || rep[0].Tag("bodytrace.platform.status") != "success" {
					t.Errorf("summary %d: want one platform.report span with status success, got %d", i, len(rep))
				}
				switch fn.Runtime {
				case "node":
					b := s["bytes"].(map[string]any)
					if s["trigger"] != "api-gateway-v2" || s["verdict"] != "delivered" || b["body"] != float64(sizes[i]) {
						t.Errorf("summary %d: %v", i, s)
					}
				case "go":
					if s["verdict"] != "unknown" {
						t.Errorf("summary %d: verdict %v, want unknown (Runtime API not observed)", i, s["verdict"])
					}
				}
			}
			for _, id := range requestIDs(l.Log.String()) {
				if !seen[id] {
					t.Errorf("request %s started but has no record", id)
				}
			}
		})
	}
}
