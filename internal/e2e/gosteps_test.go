package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
	"github.com/bodytrace/bodytrace/steps/line"
)

// The Go example with the steps package (examples/go-steps), built once per test binary.
var (
	goStepsOnce sync.Once
	goStepsBin  string
	goStepsErr  error
)

// goStepsArt returns the artifacts with the Go function replaced by examples/go-steps. The
// emulator starts it directly as /var/task/bootstrap, as Lambda does on provided.al2023:
// never through the exec wrapper.
func goStepsArt(t *testing.T) localrun.Artifacts {
	t.Helper()
	goStepsOnce.Do(func() {
		// Beside the other artifacts, in the folder TestMain removes.
		goStepsBin, goStepsErr = localrun.Build(filepath.Dir(art.Extension), "./examples/go-steps", "go-steps")
	})
	if goStepsErr != nil {
		t.Fatal(goStepsErr)
	}
	a := art
	a.GoExample = goStepsBin
	return a
}

// stepsEnv gives the extension's step-line listener (and so the function) a free UDP port
// of its own: the default 9141 may be taken by another emulator on the machine.
func stepsEnv(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return "BODYTRACE_STEPS_PORT=" + strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

var goModes = []struct {
	name string
	mi   bool
}{{"classic", false}, {"managed-instances", true}}

// stages returns the summary's stages by name, or nil when the summary has none.
func stages(s map[string]any) map[string]float64 {
	list, ok := s["stages"].([]any)
	if !ok {
		return nil
	}
	out := map[string]float64{}
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			b, _ := m["bytes"].(float64)
			out[fmt.Sprint(m["stage"])] = b
		}
	}
	return out
}

func observed(s map[string]any, source string) bool {
	list, _ := s["observed"].([]any)
	return slices.Contains(list, any(source))
}

// checkStages compares the summary's stages with want when the summary has stages; it
// reports whether it could.
func checkStages(t *testing.T, i int, s map[string]any, want map[string]float64) bool {
	t.Helper()
	got := stages(s)
	if got == nil {
		return false
	}
	for k, v := range want {
		if b, ok := got[k]; !ok || b != v {
			t.Errorf("invoke %d: stage %s = %v (present %v), want %v; stages %v", i, k, b, ok, v, s["stages"])
		}
	}
	return true
}

// TestGoStepsBuffered runs the Go example with the steps package in both emulator modes:
// the import points aws-lambda-go at the proxy, so the request and the buffered response
// are observed and the body bytes equal what the caller received.
func TestGoStepsBuffered(t *testing.T) {
	needParts(t)
	a := goStepsArt(t)
	for _, m := range goModes {
		t.Run(m.name, func(t *testing.T) {
			service := fmt.Sprintf("e2e-gosteps-%s-%d", m.name, time.Now().UnixNano())
			env := append(otlpEnv(service), "OTEL_BSP_SCHEDULE_DELAY=100", stepsEnv(t))
			l := StartLambda(t, tools, a, localrun.Function{Runtime: "go", Handler: "buffered", ManagedInstances: m.mi}, env...)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cases := []struct {
				file, trigger string
				bytes         int
				drop          bool
			}{
				{"function-url.json", "function-url", 10, false},
				{"apigw-v2.json", "api-gateway-v2", 300000, false},
				{"function-url.json", "function-url", 1000, true},
			}
			sawStages := false
			for i, c := range cases {
				q := map[string]string{"bytes": strconv.Itoa(c.bytes)}
				if c.drop {
					q["drop"] = "1"
				}
				got, err := l.Invoke(ctx, event(t, c.file, q))
				if err != nil {
					t.Fatal(err)
				}
				var res httpResult
				if err := json.Unmarshal(got, &res); err != nil {
					t.Fatalf("invoke %d: %v: %.200s", i, err, got)
				}
				want := c.bytes
				if c.drop {
					want = 0
				}
				if len(res.Body) != want || res.StatusCode != 200 {
					t.Fatalf("invoke %d: caller got %d / a %d-byte body, want 200 / %d", i, res.StatusCode, len(res.Body), want)
				}
				sums, err := l.WaitSummaries(ctx, i+1)
				if err != nil {
					t.Fatalf("%v\n%s", err, l.Log)
				}
				s := sums[i]
				b, _ := s["bytes"].(map[string]any)
				if !observed(s, "runtime-api") || s["trigger"] != c.trigger || s["mode"] != "buffered" ||
					b["body"] != float64(len(res.Body)) || b["response"] != float64(len(got)) {
					t.Errorf("invoke %d: summary %v; want runtime-api observed, trigger %s, buffered, body %d, response %d",
						i, s, c.trigger, len(res.Body), len(got))
				}
				wantStages := map[string]float64{"handler": float64(c.bytes), "middleware:auth": float64(c.bytes), "middleware:dropper": float64(want)}
				if checkStages(t, i, s, wantStages) {
					sawStages = true
					if c.drop && s["verdict"] != "lost:middleware:dropper" {
						t.Errorf("invoke %d: verdict %v (%v), want lost:middleware:dropper", i, s["verdict"], s["reason"])
					}
				}
				if !c.drop && s["verdict"] != "delivered" {
					t.Errorf("invoke %d: verdict %v (%v), want delivered", i, s["verdict"], s["reason"])
				}
				tr, err := jaeger.Trace(ctx, s["traceId"].(string), 3)
				if err != nil {
					t.Fatal(err)
				}
				root := tr.Find("invoke")
				if len(root) != 1 || root[0].Tag("bodytrace.observed.runtime_api") != "true" || root[0].Tag("faas.invocation_id") != s["requestId"] {
					t.Errorf("invoke %d: root span %+v", i, root)
				}
			}
			if !sawStages {
				t.Log("the summary has no stages yet: step lines are checked in TestGoStepsNoLayer")
			}
			if strings.Contains(l.Log.String(), `"bodytrace: the bodytrace proxy configured at`) {
				t.Error("the function says the proxy did not answer")
			}
		})
	}
}

// TestGoStepsStream runs the lambdaurl streaming route with the import in both modes.
func TestGoStepsStream(t *testing.T) {
	needParts(t)
	a := goStepsArt(t)
	for _, m := range goModes {
		t.Run(m.name, func(t *testing.T) {
			service := fmt.Sprintf("e2e-gosteps-stream-%s-%d", m.name, time.Now().UnixNano())
			env := append(otlpEnv(service), "OTEL_BSP_SCHEDULE_DELAY=100", stepsEnv(t))
			l := StartLambda(t, tools, a, localrun.Function{Runtime: "go", Handler: "stream", ManagedInstances: m.mi}, env...)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			for i, c := range []struct{ bytes, chunk int }{{1, 1}, {100000, 4096}} {
				got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(c.bytes), "chunk": strconv.Itoa(c.chunk)}))
				if err != nil {
					t.Fatal(err)
				}
				// The emulator hands the caller the raw stream: prelude, 8 NUL bytes, body.
				j := bytes.Index(got, make([]byte, 8))
				if j < 0 || len(got)-j-8 != c.bytes {
					t.Fatalf("invoke %d: caller got %.200q, want a prelude and a %d-byte body", i, got, c.bytes)
				}
				sums, err := l.WaitSummaries(ctx, i+1)
				if err != nil {
					t.Fatalf("%v\n%s", err, l.Log)
				}
				s := sums[i]
				b, _ := s["bytes"].(map[string]any)
				if !observed(s, "runtime-api") || s["mode"] != "streaming" || s["verdict"] != "delivered" ||
					b["body"] != float64(c.bytes) || b["response"] != float64(len(got)) || s["status"] != float64(200) {
					t.Errorf("invoke %d: summary %v; want runtime-api observed, streaming, delivered, body %d, response %d, status 200",
						i, s, c.bytes, len(got))
				}
				checkStages(t, i, s, map[string]float64{"handler": float64(c.bytes), "stream": float64(c.bytes)})
				tr, err := jaeger.Trace(ctx, s["traceId"].(string), 4)
				if err != nil {
					t.Fatal(err)
				}
				if st := tr.Find("stream"); len(st) != 1 || st[0].Tag("bodytrace.bytes.stream") != strconv.Itoa(len(got)) {
					t.Errorf("invoke %d: want one stream span carrying %d bytes, got %d", i, len(got), len(st))
				}
			}
		})
	}
}

var stepLine = regexp.MustCompile(`@bodytrace/step [^\n]*`)

// stepLines returns the step lines the function printed, decoded.
func stepLines(t *testing.T, log string) []line.Step {
	t.Helper()
	var out []line.Step
	for _, l := range stepLine.FindAllString(log, -1) {
		s, err := line.Parse([]byte(l))
		if err != nil {
			t.Errorf("%v: %s", err, l)
			continue
		}
		out = append(out, s)
	}
	return out
}

// TestGoStepsNoLayer runs the function with the import but without the layer: it answers as
// without the import, says nothing about bodytrace, and with BODYTRACE_STEPS_STDOUT=1 prints
// exactly the step lines Wrap and WrapHTTP make, with the emulator's request ids.
func TestGoStepsNoLayer(t *testing.T) {
	needParts(t)
	a := goStepsArt(t)
	for _, m := range goModes {
		t.Run(m.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()

			l := StartLambda(t, tools, a, localrun.Function{Runtime: "go", Handler: "buffered", ManagedInstances: m.mi, NoExtension: true},
				"BODYTRACE_STEPS_STDOUT=1")
			sizes := []int{5, 2048} // the second asks dropper to lose the body
			for i, n := range sizes {
				q := map[string]string{"bytes": strconv.Itoa(n)}
				want := n
				if i == 1 {
					q["drop"], want = "1", 0
				}
				got, err := l.Invoke(ctx, event(t, "apigw-v2.json", q))
				if err != nil {
					t.Fatal(err)
				}
				var res httpResult
				if err := json.Unmarshal(got, &res); err != nil || res.StatusCode != 200 || len(res.Body) != want {
					t.Fatalf("invoke %d: caller got %.200s (%v), want 200 and a %d-byte body", i, got, err, want)
				}
			}
			// The emulator relays its START lines with the function's output, on its own
			// schedule: wait, bounded, for both.
			ids := requestIDs(l.Log.String())
			for deadline := time.Now().Add(10 * time.Second); len(ids) < len(sizes) && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				ids = requestIDs(l.Log.String())
			}
			if len(ids) != len(sizes) {
				t.Fatalf("emulator started %v", ids)
			}
			var want []line.Step
			for i, n := range sizes {
				dropped := int64(n)
				if i == 1 {
					dropped = 0
				}
				want = append(want,
					line.Step{V: 1, RequestID: ids[i], Seq: 0, Stage: "handler", Phase: "out", Kind: "http", Bytes: int64(n), Status: 200, Enc: "identity"},
					line.Step{V: 1, RequestID: ids[i], Seq: 1, Stage: "middleware:auth", Phase: "out", Kind: "http", Bytes: int64(n), Status: 200, Enc: "identity"},
					line.Step{V: 1, RequestID: ids[i], Seq: 2, Stage: "middleware:dropper", Phase: "out", Kind: "http", Bytes: dropped, Status: 200, Enc: "identity"})
			}
			// The emulator forwards the function's stdout on its own schedule (Managed
			// Instances batches it): wait, bounded, for every line before comparing.
			lines := stepLines(t, l.Log.String())
			for deadline := time.Now().Add(10 * time.Second); len(lines) < len(want) && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				lines = stepLines(t, l.Log.String())
			}
			if !slices.Equal(lines, want) {
				t.Errorf("step lines\n got %+v\nwant %+v", lines, want)
			}
			if strings.Contains(l.Log.String(), "bodytrace:") {
				t.Errorf("the function logged about bodytrace without the layer:\n%s", l.Log)
			}

			// The streaming route, without step lines: it answers unchanged.
			ls := StartLambda(t, tools, a, localrun.Function{Runtime: "go", Handler: "stream", ManagedInstances: m.mi, NoExtension: true})
			got, err := ls.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": "5000", "chunk": "1000"}))
			if err != nil {
				t.Fatal(err)
			}
			if j := bytes.Index(got, make([]byte, 8)); j < 0 || len(got)-j-8 != 5000 {
				t.Fatalf("stream: caller got %.200q, want a 5000-byte body", got)
			}
			if n := len(stepLine.FindAllString(ls.Log.String(), -1)); n != 0 {
				t.Errorf("%d step lines printed without the layer and without BODYTRACE_STEPS_STDOUT", n)
			}
		})
	}
}

// TestGoStepsProxyDown attaches the layer but points the function at a proxy address where
// nothing listens: the function fails open (the real Runtime API, one log line saying why)
// and the extension still reports the invocation, as not observed.
func TestGoStepsProxyDown(t *testing.T) {
	needParts(t)
	port, err := localrun.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	service := fmt.Sprintf("e2e-gosteps-down-%d", time.Now().UnixNano())
	env := append(otlpEnv(service), fmt.Sprintf("BODYTRACE_PROXY_ADDR=127.0.0.1:%d", port), stepsEnv(t))
	l := StartLambda(t, tools, goStepsArt(t), localrun.Function{Runtime: "go", Handler: "buffered"}, env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": "100"}))
	if err != nil {
		t.Fatal(err)
	}
	var res httpResult
	if err := json.Unmarshal(got, &res); err != nil || len(res.Body) != 100 {
		t.Fatalf("caller got %.200s (%v), want a 100-byte body", got, err)
	}
	sums, err := l.WaitSummaries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s := sums[0]; s["verdict"] != "unknown" || observed(s, "runtime-api") {
		t.Errorf("summary %v; want unknown, runtime API not observed", s)
	}
	// The function's line is relayed on the emulator's schedule: wait for it, bounded.
	log, err := l.WaitLog(ctx, "bodytrace: the bodytrace proxy configured at")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log, "bodytrace: the bodytrace proxy configured at"); n != 1 {
		t.Errorf("%d fail-open log lines from the function, want 1:\n%s", n, l.Log)
	}
}
