package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// event returns an example event with the query string set.
func event(t *testing.T, name string, query map[string]string) []byte {
	t.Helper()
	ev := loadEvent(t, name)
	if query != nil {
		q := map[string]any{}
		var raw []string
		for k, v := range query {
			q[k] = v
			raw = append(raw, k+"="+v)
		}
		ev["queryStringParameters"] = q
		ev["rawQueryString"] = strings.Join(raw, "&")
	}
	out, _ := json.Marshal(ev)
	return out
}

// loadEvent reads the example event examples/events/<name>.
func loadEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(localrun.Root(), "examples", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func otlpEnv(service string) []string {
	return []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + jaeger.OTLPHTTP,
		"OTEL_SERVICE_NAME=" + service,
		"BODYTRACE_SUMMARY=on",
	}
}

// httpResult is the buffered HTTP-shaped result the caller receives.
type httpResult struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
}

func TestNodeBufferedClassic(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-node-buffered-%d", time.Now().UnixNano())
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, otlpEnv(service)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	sizes := []int{0, 1, 1024, 1 << 20}
	for i, n := range sizes {
		got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(n)}))
		if err != nil {
			t.Fatal(err)
		}
		var res httpResult
		if err := json.Unmarshal(got, &res); err != nil {
			t.Fatalf("invoke %d: %v: %.200s", i, err, got)
		}
		if len(res.Body) != n {
			t.Fatalf("invoke %d: caller got a %d-byte body, want %d", i, len(res.Body), n)
		}
		sums, err := l.WaitSummaries(ctx, i+1)
		if err != nil {
			t.Fatal(err)
		}
		s := sums[i]
		if s["trigger"] != "function-url" || s["method"] != "GET" {
			t.Errorf("invoke %d: summary trigger/method = %v/%v, want function-url/GET", i, s["trigger"], s["method"])
		}
		bytes := s["bytes"].(map[string]any)
		if bytes["body"] != float64(n) || bytes["response"] != float64(len(got)) {
			t.Errorf("invoke %d: summary bytes = %v, want body %d, response %d", i, bytes, n, len(got))
		}
		wantVerdict := "delivered"
		if n == 0 {
			wantVerdict = "lost:handler"
		}
		if s["verdict"] != wantVerdict {
			t.Errorf("invoke %d: verdict %v, want %s", i, s["verdict"], wantVerdict)
		}
		want := 3 // invoke, request, response
		if i == 0 {
			want++ // init
		}
		tr, err := jaeger.Trace(ctx, s["traceId"].(string), want)
		if err != nil {
			t.Fatal(err)
		}
		roots := tr.Find("invoke")
		if len(roots) != 1 {
			t.Fatalf("invoke %d: %d invoke spans, want 1", i, len(roots))
		}
		root := roots[0]
		if root.Tag("faas.invocation_id") != s["requestId"] || root.Tag("bodytrace.trigger") != "function-url" {
			t.Errorf("invoke %d: root tags: invocation %q trigger %q", i, root.Tag("faas.invocation_id"), root.Tag("bodytrace.trigger"))
		}
		if root.Tag("http.response.body.size") != strconv.Itoa(n) {
			t.Errorf("invoke %d: http.response.body.size = %q, want %d", i, root.Tag("http.response.body.size"), n)
		}
		for _, name := range []string{"request", "response"} {
			sp := tr.Find(name)
			if len(sp) != 1 || sp[0].Parent() != root.SpanID {
				t.Errorf("invoke %d: want one %q span under the root, got %d", i, name, len(sp))
			}
		}
		if resp := tr.Find("response"); len(resp) == 1 && resp[0].Tag("bodytrace.bytes.response") != strconv.Itoa(len(got)) {
			t.Errorf("invoke %d: response span bytes = %q, want %d", i, resp[0].Tag("bodytrace.bytes.response"), len(got))
		}
		if cold := tr.Find("init"); (i == 0) != (len(cold) == 1) {
			t.Errorf("invoke %d: %d init spans; want one on the cold start only", i, len(cold))
		}
	}
}

// TestNodeStepPipe: under the exec wrapper, the Node.js helper sends its step lines through
// the extension's step pipe (no UDP socket on the runtime's cold start), on the runtime
// client of this machine's Node.js and on Lambda's nodejs22.x and nodejs24.x.
func TestNodeStepPipe(t *testing.T) {
	needParts(t)
	for _, node := range append([]string{""}, localrun.NodeVersions...) {
		name := "node" + node
		if node == "" {
			name = "machine"
		}
		t.Run(name, func(t *testing.T) {
			l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler", Node: node}, "BODYTRACE_SUMMARY=on")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			for i, q := range []map[string]string{{"bytes": "10"}, {"empty": "1"}} {
				if _, err := l.Invoke(ctx, event(t, "function-url.json", q)); err != nil {
					t.Fatal(err)
				}
				sums, err := l.WaitSummaries(ctx, i+1)
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"delivered", "lost:handler"}[i]; sums[i]["verdict"] != want {
					t.Errorf("invocation %d: verdict %v, want %s", i, sums[i]["verdict"], want)
				}
			}
			l.Stop()
			var stopped struct {
				StepLines       int `json:"step_lines"`
				StepLinesByPipe int `json:"step_lines_by_pipe"`
			}
			for _, line := range strings.Split(l.Log.String(), "\n") {
				if strings.Contains(line, `"msg":"stopped"`) {
					if err := json.Unmarshal([]byte(line[strings.Index(line, "{"):]), &stopped); err != nil {
						t.Fatal(err)
					}
				}
			}
			if stopped.StepLinesByPipe < 2 || stopped.StepLinesByPipe != stopped.StepLines {
				t.Errorf("stopped line: %d step lines, %d of them by the pipe; want every one (at least 2) by the pipe\n%s",
					stopped.StepLines, stopped.StepLinesByPipe, l.Log.String())
			}
		})
	}
}
