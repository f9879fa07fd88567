package export

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bodytrace/bodytrace/internal/invocation"
)

func record(id string, body int64, traceParent string) invocation.Record {
	return invocation.Record{RequestID: id, Observed: invocation.Observed{RuntimeAPI: true},
		Request:  &invocation.Request{Trigger: invocation.TriggerFunctionURL, Method: "GET", TraceParent: traceParent},
		Response: &invocation.Response{Mode: invocation.ModeBuffered, HTTP: true, StatusCode: 200, BodyBytes: body, WireBytes: body + 50}}
}

// TestSamplingKeepsEveryLostBody: with healthy traces sampled at 10%, every lost body is
// exported and about a tenth of the healthy ones; all are counted and summarised.
func TestSamplingKeepsEveryLostBody(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	var summary, metrics bytes.Buffer
	ratio := 0.1
	e := New(Config{SpanExporter: mem, Summary: &summary, Metrics: &metrics, SampleHealthy: &ratio, Function: Function{Name: "fn"}})
	const n = 2000
	for i := range n {
		body := int64(100)
		if i%10 == 0 {
			body = 0 // lost:handler
		}
		e.Export(record(strings.Repeat("r", 1+i%7)+string(rune('a'+i%26))+itoa(i), body, ""))
	}
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if metrics.Len() != 0 {
		t.Errorf("metrics written at the first flush, before a minute passed: %q", metrics.String())
	}
	lost, healthyKept := 0, 0
	for _, s := range mem.GetSpans() {
		if s.Name != "fn" { // the root span, named after the function
			continue
		}
		for _, a := range s.Attributes {
			if a.Key == keyVerdict {
				if strings.HasPrefix(a.Value.AsString(), "lost:") {
					lost++
				} else {
					healthyKept++
				}
			}
		}
	}
	if lost != n/10 {
		t.Errorf("%d lost bodies exported, want all %d", lost, n/10)
	}
	if healthyKept < 120 || healthyKept > 240 {
		t.Errorf("%d of %d healthy traces kept, want about 10%%", healthyKept, n-n/10)
	}
	lines := strings.Split(strings.TrimSpace(summary.String()), "\n")
	out := 0
	for _, l := range lines {
		if strings.Contains(l, `"sampledOut":true`) {
			out++
		}
	}
	if len(lines) != n || out != n-n/10-healthyKept {
		t.Errorf("%d summary lines (%d sampled out), want %d (%d)", len(lines), out, n, n-n/10-healthyKept)
	}
	// The metrics count every invocation, sampled or not; SHUTDOWN writes them.
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	total, lostMetric := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(metrics.String()), "\n") {
		var m emfLine
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.AWS.CloudWatchMetrics[0].Namespace != "bodytrace" || m.FunctionName != "fn" {
			t.Fatalf("EMF line %q: %v", l, err)
		}
		total += m.Invocations
		lostMetric += m.LostBodies
	}
	if total != n || lostMetric != n/10 {
		t.Errorf("metrics: %d invocations, %d lost; want %d and %d", total, lostMetric, n, n/10)
	}
}

// TestMetricsOncePerMinute: the first flush after a minute writes the counts, the next
// flushes within the minute write nothing, and nothing counted is lost.
func TestMetricsOncePerMinute(t *testing.T) {
	var metrics bytes.Buffer
	e := New(Config{Metrics: &metrics})
	e.metricsAt = time.Now().Add(-2 * metricsEvery)
	e.Export(record("a", 0, ""))
	_ = e.Flush(context.Background())
	first := metrics.Len()
	e.Export(record("b", 0, ""))
	_ = e.Flush(context.Background())
	if first == 0 || metrics.Len() != first {
		t.Fatalf("metrics bytes after flushes: %d then %d; want a line at the first and none within the minute", first, metrics.Len())
	}
	_ = e.Shutdown(context.Background())
	if !strings.Contains(metrics.String()[first:], `"LostBodies":1`) {
		t.Fatalf("SHUTDOWN did not write the last count: %q", metrics.String())
	}
}

// TestParentBasedOnlyForHealthy: the caller's "not sampled" flag drops a healthy trace
// when parent-based sampling is asked for, never a lost body.
func TestParentBasedOnlyForHealthy(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	e := New(Config{SpanExporter: mem, ParentBased: true})
	unsampled := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
	sampled := "00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-01"
	healthyUnsampled := e.Export(record("healthy-unsampled", 10, unsampled))
	if got := e.Export(record("healthy-sampled", 10, sampled)); got == "" {
		t.Error("a healthy invocation whose caller sampled it was dropped")
	}
	if got := e.Export(record("lost-unsampled", 0, unsampled)); got == "" {
		t.Error("a lost body was dropped because its caller did not sample it")
	}
	if healthyUnsampled != "" {
		t.Error("a healthy invocation the caller did not sample was exported")
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// validateEMF checks one line against the Embedded Metric Format's rules: an _aws object
// with a millisecond Timestamp and CloudWatchMetrics directives; each directive's
// Namespace, DimensionSets of at most 30 keys and Metrics (at most 100) with valid units;
// every dimension a top-level string member and every metric a top-level number.
func validateEMF(t *testing.T, line string) {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal([]byte(line), &root); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		t.Fatal("no _aws object")
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || ts < 1e12 {
		t.Fatalf("Timestamp %v is not epoch milliseconds", aws["Timestamp"])
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		t.Fatal("no CloudWatchMetrics directives")
	}
	units := map[string]bool{"Count": true, "None": true, "Milliseconds": true, "Bytes": true}
	for _, d := range directives {
		dir := d.(map[string]any)
		if ns, _ := dir["Namespace"].(string); ns == "" || len(ns) > 1024 {
			t.Fatalf("Namespace %q", ns)
		}
		for _, set := range dir["Dimensions"].([]any) {
			keys := set.([]any)
			if len(keys) == 0 || len(keys) > 30 {
				t.Fatalf("dimension set of %d keys", len(keys))
			}
			for _, k := range keys {
				if _, ok := root[k.(string)].(string); !ok {
					t.Fatalf("dimension %v is not a top-level string member", k)
				}
			}
		}
		metrics := dir["Metrics"].([]any)
		if len(metrics) == 0 || len(metrics) > 100 {
			t.Fatalf("%d metrics", len(metrics))
		}
		for _, m := range metrics {
			md := m.(map[string]any)
			name, _ := md["Name"].(string)
			if _, ok := root[name].(float64); !ok {
				t.Fatalf("metric %q is not a top-level number", name)
			}
			if u, ok := md["Unit"].(string); ok && !units[u] {
				t.Fatalf("unit %q", u)
			}
		}
	}
}

func TestEMFLinesFollowTheFormat(t *testing.T) {
	var metrics bytes.Buffer
	e := New(Config{Metrics: &metrics, Function: Function{Name: "shop"}})
	e.Export(record("a", 0, ""))
	e.Export(record("b", 10, ""))
	r := record("c", 10, "")
	r.Request = nil
	e.Export(r)
	_ = e.Shutdown(context.Background())
	lines := strings.Split(strings.TrimSpace(metrics.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one per verdict and trigger: %q", len(lines), metrics.String())
	}
	for _, l := range lines {
		validateEMF(t, l)
	}
}
