package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

var emfLine = regexp.MustCompile(`(?m)^\{"_aws":.*$`)

// TestVerdictAwareSampling: with healthy traces sampled away entirely, every lost body
// still reaches Jaeger, healthy ones do not, and the metric lines written at SHUTDOWN
// count all of them.
func TestVerdictAwareSampling(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-sampling-%d", time.Now().UnixNano())
	env := append(otlpEnv(service), "BODYTRACE_SAMPLE_HEALTHY=0", "BODYTRACE_METRICS=on")
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, env...)
	// 1000 invocations take about 20 s here, and over a minute on a loaded machine: the
	// bound is for a hang, and the Jaeger lookups below get their own.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A mixed run: one in ten bodies lost, the rest healthy and all sampled away.
	var queries []map[string]string
	for i := range 1000 {
		if i%10 == 3 {
			queries = append(queries, map[string]string{"empty": "1"})
		} else {
			queries = append(queries, map[string]string{"bytes": strconv.Itoa(10 + i)})
		}
	}
	for _, q := range queries {
		if _, err := l.Invoke(ctx, event(t, "function-url.json", q)); err != nil {
			t.Fatal(err)
		}
	}
	sums, err := l.WaitSummaries(ctx, len(queries))
	if err != nil {
		t.Fatal(err)
	}
	lookup, cancelLookup := context.WithTimeout(context.Background(), time.Minute)
	defer cancelLookup()
	for i, s := range sums {
		lost := queries[i]["empty"] == "1"
		if lost != (s["verdict"] == "lost:handler") {
			t.Fatalf("invocation %d: verdict %v", i, s["verdict"])
		}
		if lost {
			if i < 100 { // every lost body carries a trace id; fetch a sample of them back
				if _, err := jaeger.Trace(lookup, s["traceId"].(string), 3); err != nil {
					t.Errorf("lost body %d not in Jaeger: %v", i, err)
				}
			} else if s["traceId"] == nil {
				t.Errorf("lost body %d was sampled out", i)
			}
		} else if s["sampledOut"] != true || s["traceId"] != nil {
			t.Errorf("healthy invocation %d: sampledOut %v traceId %v; want sampled out", i, s["sampledOut"], s["traceId"])
		}
	}
	l.Stop() // SHUTDOWN writes the metric lines
	invocations, lostBodies := 0, 0
	for _, line := range emfLine.FindAllString(l.Log.String(), -1) {
		var m struct {
			Invocations, LostBodies int
			Verdict                 string
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		invocations += m.Invocations
		lostBodies += m.LostBodies
	}
	if invocations != len(queries) || lostBodies != len(queries)/10 {
		t.Errorf("metric lines count %d invocations and %d lost bodies, want %d and %d", invocations, lostBodies, len(queries), len(queries)/10)
	}
	// Jaeger holds the lost bodies' traces and no healthy one.
	traces, err := jaeger.Search(context.Background(), service, map[string]string{"bodytrace.verdict": "delivered"})
	if err != nil || len(traces) != 0 {
		t.Errorf("Jaeger holds %d healthy traces (%v); want none", len(traces), err)
	}
}
