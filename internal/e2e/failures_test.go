package e2e

import (
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

// failureModules is the node_modules of examples/node-failures (the real Sentry SDK),
// installed and cached by scripts/install-node-examples.sh.
func failureModules(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(localrun.Root(), "scripts", "install-node-examples.sh")).Output()
	if err != nil {
		t.Fatalf("install the failure examples' npm packages: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestNodeFailureModes runs each way a body goes missing (examples/node-failures) through
// the real Node.js runtime client with the layer's helper, and checks the verdict, the
// stage marked lost in the summary line, and the trace in Jaeger.
func TestNodeFailureModes(t *testing.T) {
	needParts(t)
	if art.NodeHelper == "" {
		t.Fatal("layer/node/bodytrace.cjs is missing")
	}
	modules := failureModules(t)
	cases := []struct {
		handler string
		query   map[string]string
		method  string
		headers map[string]string
		verdict string
		lost    string // the stage the summary marks lost, when any
	}{
		{handler: "returnsUndefined", verdict: "lost:handler", lost: "handler"},
		{handler: "wrapperDropsResult", verdict: "lost:middleware:drop-result", lost: "middleware:drop-result"},
		{handler: "callbackMisread", verdict: "lost:middleware:legacy-callback", lost: "middleware:legacy-callback"},
		{handler: "lateWrite", verdict: "lost:late-write:sentry", lost: "late-write"},
		{handler: "sentryDropsStreaming", verdict: "lost:middleware:sentry"},
		{handler: "streamNoWrite", verdict: "lost:streaming", lost: "stream"},
		{handler: "streamErrorMidway", verdict: "lost:streaming", lost: "stream"},
		{handler: "tooLarge", query: map[string]string{"bytes": "7000000"}, verdict: "lost:platform"},
		{handler: "wrongBase64", verdict: "lost:handler"},
		{handler: "noContent", verdict: "empty-by-design"},
		{handler: "headOk", method: "HEAD", verdict: "empty-by-design"},
		{handler: "notModified", headers: map[string]string{"if-none-match": `"v1"`}, verdict: "empty-by-design"},
		{handler: "healthy", verdict: "delivered"},
		{handler: "healthyStream", verdict: "delivered"},
		// aws-lambda-ric 3.3.0 keeps the stream open after the handler resolves: all bytes arrive.
		{handler: "streamResolvesEarly", verdict: "delivered"},
	}
	for _, c := range cases {
		t.Run(c.handler, func(t *testing.T) {
			service := fmt.Sprintf("e2e-failure-%s-%d", c.handler, time.Now().UnixNano())
			fn := localrun.Function{Runtime: "node", Handler: "index." + c.handler,
				Dir: filepath.Join(localrun.Root(), "examples", "node-failures"), NodeModules: modules}
			l := StartLambda(t, tools, art, fn, otlpEnv(service)...)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			var ev map[string]any
			_ = json.Unmarshal(event(t, "function-url.json", c.query), &ev)
			if c.method != "" {
				ev["requestContext"].(map[string]any)["http"].(map[string]any)["method"] = c.method
			}
			for k, v := range c.headers {
				ev["headers"].(map[string]any)[k] = v
			}
			raw, _ := json.Marshal(ev)
			got, err := l.Invoke(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			sums, err := l.WaitSummaries(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			s := sums[0]
			if s["verdict"] != c.verdict {
				t.Fatalf("verdict %v (%v), want %s; caller got %.120q; stages %v", s["verdict"], s["reason"], c.verdict, got, s["stages"])
			}
			var lostStages []string
			for _, st := range asSlice(s["stages"]) {
				if m := st.(map[string]any); m["lost"] == true {
					lostStages = append(lostStages, fmt.Sprint(m["stage"]))
				}
			}
			if c.lost != "" && (len(lostStages) != 1 || lostStages[0] != c.lost) {
				t.Errorf("stages marked lost %v, want [%s]; stages %v", lostStages, c.lost, s["stages"])
			}
			tr, err := jaeger.Trace(ctx, s["traceId"].(string), 2)
			if err != nil {
				t.Fatal(err)
			}
			root := tr.Find("invoke")
			if len(root) != 1 || root[0].Tag("bodytrace.verdict") != c.verdict {
				t.Fatalf("root span verdict %+v, want %s", root, c.verdict)
			}
			if strings.HasPrefix(c.verdict, "lost:") {
				if root[0].Tag("otel.status_code") != "ERROR" {
					t.Errorf("root span status %q, want ERROR for a lost body", root[0].Tag("otel.status_code"))
				}
				if n := lostEvents(tr); n != 1 {
					t.Errorf("%d bodytrace.lost events in the trace, want 1", n)
				}
			}
			if c.lost != "" && c.lost != "stream" {
				if sp := tr.Find(c.lost); len(sp) != 1 || sp[0].Parent() != root[0].SpanID {
					t.Errorf("want one %q span under the root, got %d", c.lost, len(sp))
				}
			}
		})
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// lostEvents counts the bodytrace.lost span events of a trace.
func lostEvents(tr localrun.Trace) int {
	n := 0
	for _, s := range tr.Spans {
		for _, l := range s.Logs {
			for _, f := range l.Fields {
				if f.Key == "event" && f.Value == "bodytrace.lost" {
					n++
				}
			}
		}
	}
	return n
}
