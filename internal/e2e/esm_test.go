package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// esmCase is one invocation of examples/node-esm (fixtures of Node.js semantics, not a
// framework): the export it runs, the event's case and headers, and the right verdict.
type esmCase struct {
	handler, name string
	headers       map[string]string
	verdict       string
	healthy       bool
	// handlerBytes is the body the helper's "handler" step must report (the helper saw the
	// export's result or stream); -1: no such check.
	handlerBytes int
}

var esmCases = []esmCase{
	{handler: "handler", name: "json", verdict: "delivered", healthy: true, handlerBytes: 1024},
	{handler: "handler", name: "thenable", verdict: "delivered", healthy: true, handlerBytes: -1},
	{handler: "handler", name: "tojson", verdict: "delivered", healthy: true, handlerBytes: -1},
	{handler: "handler", name: "thrower", verdict: "lost:platform", handlerBytes: -1},
	{handler: "handler", name: "late", verdict: "lost:late-write:fixture-defer", handlerBytes: 0},
	{handler: "stream", name: "from", verdict: "delivered", healthy: true, handlerBytes: 1024},
	// "<p>" + 1024 bytes + "</p>": the prelude the function wrote is not body.
	{handler: "stream", name: "prelude", verdict: "delivered", healthy: true, handlerBytes: 1031},
	{handler: "stream", name: "prelude", headers: map[string]string{"if-none-match": `"fixture"`}, verdict: "empty-by-design", healthy: true, handlerBytes: 0},
	{handler: "stream", name: "thrower", verdict: "lost:streaming", handlerBytes: -1},
	{handler: "dropped", name: "from", verdict: "lost:middleware:fixture-wrapper", handlerBytes: -1},
}

// esmEvent is the function URL event for c, asking for 1024 body bytes.
func esmEvent(t *testing.T, c esmCase) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event(t, "function-url.json", map[string]string{"bytes": "1024"}), &ev); err != nil {
		t.Fatal(err)
	}
	ev["case"] = c.name
	for k, v := range c.headers {
		ev["headers"].(map[string]any)[k] = v
	}
	raw, _ := json.Marshal(ev)
	return raw
}

// TestNodeESM runs the ES module fixtures (examples/node-esm/index.mjs) on Lambda's Node.js
// runtimes (22 and 24, aws-lambda-ric 4.0.2, which import()s every handler) with and without
// the layer: each caller's result must be byte-identical (the layer changes nothing the
// function returns, throws or streams), and with the layer each verdict must be right:
// healthy results, streams whose prelude the function writes itself (as OpenNext does) and a
// streamed 304 included, and the package that dropped the streaming marker named.
func TestNodeESM(t *testing.T) {
	needParts(t)
	if art.NodeHelper == "" {
		t.Fatal("layer/node/bodytrace.cjs is missing")
	}
	dir := filepath.Join(localrun.Root(), "examples", "node-esm")
	modules := filepath.Join(dir, "node_modules")
	for _, major := range localrun.NodeVersions {
		t.Run("node"+major, func(t *testing.T) {
			for _, handler := range []string{"handler", "stream", "dropped"} {
				var cases []esmCase
				for _, c := range esmCases {
					if c.handler == handler {
						cases = append(cases, c)
					}
				}
				// Lambda sets LAMBDA_TASK_ROOT, which aws-lambda-ric 4 requires; the emulator leaves it to us.
				fn := localrun.Function{Runtime: "node", Handler: "index." + handler, Node: major, Dir: dir, NodeModules: modules, Env: []string{"LAMBDA_TASK_ROOT=/var/task"}}
				base := fn
				base.NoExtension = true
				without := esmResults(t, base, cases)
				l := StartLambda(t, tools, art, fn, "BODYTRACE_SUMMARY=on")
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				for i, c := range cases {
					got, err := esmAnswer(c)(l.Invoke(ctx, esmEvent(t, c)))
					if err != nil {
						t.Fatalf("%s/%s: %v", handler, c.name, err)
					}
					if racy := bytes.Equal(got, emulatorPartial) || bytes.Equal(without[i], emulatorPartial); racy {
						t.Logf("%s/%s: the emulator answered a stream that ended in an error with 502 partial on one side: %.120q / %.120q", handler, c.name, got, without[i])
					} else if !bytes.Equal(got, without[i]) {
						t.Errorf("%s/%s: the caller got %q with the layer and %q without", handler, c.name, got, without[i])
					}
					sums, err := l.WaitSummaries(ctx, i+1)
					if err != nil {
						t.Fatalf("%s/%s: %v", handler, c.name, err)
					}
					s := sums[i]
					verdict, _ := s["verdict"].(string)
					reason, _ := s["reason"].(string)
					recordAccuracy(t, accuracyRow{
						Stack: "bodytrace fixture (ES module, Node.js semantics)", Versions: "aws-lambda-ric@4.0.2", Node: major,
						Case: fmt.Sprintf("index.%s %s%s", handler, c.name, headerNote(c.headers)), Healthy: c.healthy,
						CallerGot: fmt.Sprintf("%d B", len(got)), Expected: c.verdict, Verdict: verdict, Reason: reason,
					})
					if testing.Verbose() {
						t.Logf("%s/%s: %v", handler, c.name, s)
					}
					if verdict != c.verdict {
						t.Errorf("%s/%s: verdict %q (%s), want %q; caller got %.200q; stages %v", handler, c.name, verdict, reason, c.verdict, got, s["stages"])
					}
					if c.handlerBytes >= 0 && !hasStage(s, "handler", c.handlerBytes) {
						t.Errorf("%s/%s: want a handler stage of %d bytes from the helper, stages %v", handler, c.name, c.handlerBytes, s["stages"])
					}
				}
				cancel()
			}
		})
	}
}

// esmResults runs the cases without the layer and returns what each caller got.
// emulatorPartial stands for the emulator's "502 partial" answer. For a stream that ends in
// an error the emulator answers either that or the bytes streamed with the error trailers,
// with or without the layer, as its goroutines race: neither says anything about bodytrace.
var emulatorPartial = []byte("<emulator: 502 partial>")

// esmAnswer folds the emulator's racy answer to an erroring stream into emulatorPartial.
func esmAnswer(c esmCase) func([]byte, error) ([]byte, error) {
	return func(got []byte, err error) ([]byte, error) {
		if c.handler == "stream" && c.name == "thrower" && err != nil && strings.Contains(err.Error(), "502 Bad Gateway: partial") {
			return emulatorPartial, nil
		}
		return got, err
	}
}

func esmResults(t *testing.T, fn localrun.Function, cases []esmCase) [][]byte {
	t.Helper()
	l := StartLambda(t, tools, art, fn)
	defer l.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out [][]byte
	for _, c := range cases {
		got, err := esmAnswer(c)(l.Invoke(ctx, esmEvent(t, c)))
		if err != nil {
			t.Fatalf("%s without the layer: %v", c.name, err)
		}
		out = append(out, got)
	}
	return out
}

// hasStage tells whether the summary s lists stage with bytes.
func hasStage(s map[string]any, stage string, bytes int) bool {
	for _, st := range asSlice(s["stages"]) {
		if m, ok := st.(map[string]any); ok && m["stage"] == stage && m["bytes"] == float64(bytes) {
			return true
		}
	}
	return false
}

func headerNote(h map[string]string) string {
	var parts []string
	for k, v := range h {
		parts = append(parts, k+": "+v)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// TestNodeHelperPathNotHelper sets BODYTRACE_NODE_HELPER to a file that is not the helper
// (issue 18: preloaded, it stopped the runtime and every invoke answered 502): the function
// answers as without the layer, and the wrapper says once that it ignored the setting.
func TestNodeHelperPathNotHelper(t *testing.T) {
	needParts(t)
	dir := filepath.Join(localrun.Root(), "examples", "node-esm")
	for _, major := range localrun.NodeVersions {
		t.Run("node"+major, func(t *testing.T) {
			c := esmCase{handler: "handler", name: "json"}
			fn := localrun.Function{Runtime: "node", Handler: "index.handler", Node: major, Dir: dir, NodeModules: filepath.Join(dir, "node_modules"),
				Env: []string{"LAMBDA_TASK_ROOT=/var/task"}}
			base := fn
			base.NoExtension = true
			want := esmResults(t, base, []esmCase{c})[0]
			// A file that exists and throws when preloaded (awslambda is not defined yet): the
			// function's own module.
			l := StartLambda(t, tools, art, fn, "BODYTRACE_SUMMARY=on", "BODYTRACE_NODE_HELPER=/var/task/index.mjs")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			for i := range 2 {
				got, err := l.Invoke(ctx, esmEvent(t, c))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("invoke %d: the caller got %.200q, want %.200q as without the layer", i, got, want)
				}
			}
			if _, err := l.WaitSummaries(ctx, 2); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(l.Log.String(), "is not bodytrace's Node.js helper; ignored"); n != 1 {
				t.Errorf("the wrapper said %d times that it ignored BODYTRACE_NODE_HELPER, want once", n)
			}
		})
	}
}

// TestNodeHelperUnitTests runs the helper's own unit tests (layer/node/test, node --test)
// on each Node.js runtime Lambda runs today; `make test` runs them on the machine's Node.
func TestNodeHelperUnitTests(t *testing.T) {
	needParts(t)
	tests, err := filepath.Glob(filepath.Join(localrun.Root(), "layer", "node", "test", "*.test.cjs"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no unit tests in layer/node/test (%v)", err)
	}
	for _, major := range localrun.NodeVersions {
		t.Run("node"+major, func(t *testing.T) {
			n, ok := tools.Nodes[major]
			if !ok {
				t.Fatalf("no Node.js %s runtime installed", major)
			}
			cmd := exec.Command(filepath.Join(n.Dir, "bin", "node"), append([]string{"--test"}, tests...)...)
			cmd.Dir = filepath.Join(localrun.Root(), "layer", "node")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node %s --test: %v\n%s", major, err, out)
			}
		})
	}
}

// TestNodeESMManagedInstances runs the healthy ES module fixtures on Node 24 in Lambda
// Managed Instances mode (aws-lambda-ric 4 then keeps each invocation's context in
// AsyncLocalStorage, and the helper swaps nothing beyond a synchronous call): each
// invocation is delivered and the helper's handler stage carries its own body.
func TestNodeESMManagedInstances(t *testing.T) {
	needParts(t)
	dir := filepath.Join(localrun.Root(), "examples", "node-esm")
	for _, c := range []esmCase{
		{handler: "handler", name: "json", handlerBytes: 1024},
		{handler: "stream", name: "prelude", handlerBytes: 1031},
	} {
		t.Run(c.handler, func(t *testing.T) {
			fn := localrun.Function{Runtime: "node", Handler: "index." + c.handler, Node: "24", Dir: dir, NodeModules: filepath.Join(dir, "node_modules"),
				ManagedInstances: true, Env: []string{"LAMBDA_TASK_ROOT=/var/task", "_HANDLER=index." + c.handler}}
			l := StartLambda(t, tools, art, fn, "BODYTRACE_SUMMARY=on")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			const n = 3
			for range n {
				if _, err := l.Invoke(ctx, esmEvent(t, c)); err != nil {
					t.Fatal(err)
				}
			}
			sums, err := l.WaitSummaries(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range sums {
				if s["verdict"] != "delivered" || !hasStage(s, "handler", c.handlerBytes) {
					t.Errorf("invocation %d: verdict %v, stages %v; want delivered with a %d-byte handler stage", i, s["verdict"], s["stages"], c.handlerBytes)
				}
			}
		})
	}
}
