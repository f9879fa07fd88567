// Command demo runs bodytrace's layer under the AWS Lambda Runtime Interface Emulator with
// the example functions, sends a few requests, and prints what bodytrace recorded for each
// invocation with its trace in Jaeger. `make demo` builds the layer and runs it.
//
// Set BODYTRACE_KEEP_JAEGER=1 to leave Jaeger running afterwards (the demo prints how to
// stop it); otherwise nothing is left running.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// scenario is one request of the demo.
type scenario struct {
	what  string
	event string
	query map[string]string
	// headers are added to the event's HTTP headers.
	headers map[string]string
}

type function struct {
	title     string
	fn        localrun.Function
	scenarios []scenario
	// goPkg is the Go example's package, for Go functions (default ./examples/go).
	goPkg string
}

var functions = []function{
	{
		title: "Node.js function (aws-lambda-ric through the bodytrace exec wrapper), buffered responses",
		fn:    localrun.Function{Runtime: "node", Handler: "index.handler"},
		scenarios: []scenario{
			{what: "2 KB page", event: "function-url.json", query: map[string]string{"bytes": "2048"}},
			{what: "200 with an empty body (the bug bodytrace exists for)", event: "function-url.json", query: map[string]string{"empty": "1"}},
			{what: "304 answering If-None-Match", event: "apigw-v2.json", query: map[string]string{"status": "304"}, headers: map[string]string{"if-none-match": `"v1"`}},
			{what: "API Gateway REST (v1) request", event: "apigw-v1.json", query: map[string]string{"bytes": "512"}},
		},
	},
	{
		title: "Node.js function, response streaming (function URL)",
		fn:    localrun.Function{Runtime: "node", Handler: "index.stream"},
		scenarios: []scenario{
			{what: "1 MB stream in 64 KB chunks", event: "function-url.json", query: map[string]string{"bytes": "1048576", "chunk": "65536"}},
			{what: "stream that fails after its body", event: "function-url.json", query: map[string]string{"bytes": "4096", "chunk": "1024", "fail": "1"}},
		},
	},
	{
		title: "Node.js function with an OpenNext-style buffered adapter and a Sentry-like wrapper that defers res.end",
		fn:    localrun.Function{Runtime: "node", Handler: "index.lateWrite", Dir: filepath.Join(localrun.Root(), "examples", "node-failures")},
		scenarios: []scenario{
			{what: "the body is written after the adapter took its snapshot", event: "function-url.json", query: map[string]string{"bytes": "2048"}},
		},
	},
	{
		title: "Go function importing github.com/bodytrace/bodytrace/steps (redirects itself to the proxy; Wrap per layer)",
		fn:    localrun.Function{Runtime: "go", Handler: "buffered"},
		goPkg: "./examples/go-steps",
		scenarios: []scenario{
			{what: "2 KB page through the auth and dropper middleware", event: "function-url.json", query: map[string]string{"bytes": "2048"}},
			{what: "the dropper middleware loses the body", event: "function-url.json", query: map[string]string{"bytes": "2048", "drop": "1"}},
		},
	},
	{
		title: "Go function without the import (aws-lambda-go, started directly as on provided.al2023: no exec wrapper)",
		fn:    localrun.Function{Runtime: "go", Handler: "buffered"},
		scenarios: []scenario{
			{what: "1 KB page", event: "function-url.json", query: map[string]string{"bytes": "1024"}},
		},
	},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the emulator needs root (a private mount namespace keeps /opt and /var untouched); run as root")
	}
	tools, err := localrun.FindTools()
	if err != nil {
		return err
	}
	art, err := localrun.LayerArtifacts()
	if err != nil {
		return err
	}
	step("building the Go example")
	dir, err := os.MkdirTemp("", "bodytrace-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if art.GoExample, err = localrun.Build(dir, "./examples/go", "go-example"); err != nil {
		return err
	}

	step("starting Jaeger v2 (in memory, loopback)")
	jaeger, err := localrun.StartJaeger(tools.Jaeger, true)
	if err != nil {
		step("Jaeger's usual ports are busy; using free ones")
		if jaeger, err = localrun.StartJaeger(tools.Jaeger, false); err != nil {
			return err
		}
	}
	if os.Getenv("BODYTRACE_KEEP_JAEGER") == "" {
		defer jaeger.Stop()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var verdicts, lines []string
	for _, f := range functions {
		fmt.Printf("\n== %s\n", f.title)
		env := []string{
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + jaeger.OTLPHTTP,
			"OTEL_SERVICE_NAME=bodytrace-demo-" + f.fn.Runtime,
			"BODYTRACE_SUMMARY=on",
		}
		fart := art
		if f.goPkg != "" {
			if fart.GoExample, err = localrun.Build(dir, f.goPkg, filepath.Base(f.goPkg)); err != nil {
				return err
			}
		}
		l, err := localrun.Launch(tools, fart, f.fn, env...)
		if err != nil {
			return err
		}
		for i, sc := range f.scenarios {
			got, err := l.Invoke(ctx, event(localrun.Root(), sc))
			if err != nil {
				l.Stop()
				return fmt.Errorf("%s: %w", sc.what, err)
			}
			sums, err := l.WaitSummaries(ctx, i+1)
			if err != nil {
				l.Stop()
				return fmt.Errorf("%s: no record from bodytrace: %w\n%s", sc.what, err, l.Log)
			}
			s := sums[i]
			verdicts = append(verdicts, fmt.Sprint(s["verdict"]))
			line, _ := json.Marshal(s)
			lines = append(lines, string(line))
			printSummary(sc, len(got), s, jaeger)
		}
		l.Stop()
	}
	fmt.Printf("\n%d invocations: %s\n", len(verdicts), strings.Join(count(verdicts), ", "))
	// The summary lines, as the extension wrote them to its log, for bodytrace's own view.
	file := filepath.Join(os.TempDir(), "bodytrace-demo.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err == nil {
		fmt.Printf("\nSee each invocation's stages as a chart:\n  go run ./scripts/bodytrace view --file %s\n", file)
		fmt.Println("  then open http://127.0.0.1:7476/ (one page per invocation: /invocations/<request id>)")
		fmt.Printf("Or as a table: go run ./scripts/bodytrace %s\n\n", file)
	}
	fmt.Println("Each link returns that trace as JSON from Jaeger's query API. This Jaeger build has no web UI;")
	fmt.Println("point OTEL_EXPORTER_OTLP_ENDPOINT at your own backend (Jaeger, Tempo, Honeycomb, Datadog) to browse them.")
	if os.Getenv("BODYTRACE_KEEP_JAEGER") != "" {
		fmt.Printf("Jaeger is still running (pid %d, query API http://%s); stop it with: kill %d\n", jaeger.Pid(), jaeger.Query, jaeger.Pid())
	} else {
		fmt.Println("Jaeger has been stopped; run with BODYTRACE_KEEP_JAEGER=1 to keep it for queries.")
	}
	return nil
}

func step(s string) { fmt.Fprintf(os.Stderr, "bodytrace demo: %s...\n", s) }

func event(root string, sc scenario) []byte {
	b, err := os.ReadFile(filepath.Join(root, "examples", "events", sc.event))
	if err != nil {
		panic(err)
	}
	var ev map[string]any
	_ = json.Unmarshal(b, &ev)
	q := map[string]any{}
	var raw []string
	for k, v := range sc.query {
		q[k] = v
		raw = append(raw, k+"="+v)
	}
	ev["queryStringParameters"] = q
	if _, ok := ev["rawQueryString"]; ok {
		ev["rawQueryString"] = strings.Join(raw, "&")
	}
	if len(sc.headers) > 0 {
		h, _ := ev["headers"].(map[string]any)
		if h == nil {
			h = map[string]any{}
		}
		for k, v := range sc.headers {
			h[k] = v
		}
		ev["headers"] = h
	}
	out, _ := json.Marshal(ev)
	return out
}

func printSummary(sc scenario, callerBytes int, s map[string]any, j *localrun.Jaeger) {
	b, _ := s["bytes"].(map[string]any)
	num := func(k string) string {
		if v, ok := b[k]; ok {
			return fmt.Sprintf("%.0f B", v)
		}
		return "not observed"
	}
	fmt.Printf("\n  %s\n", sc.what)
	req := "not observed"
	if t, ok := s["trigger"]; ok {
		req = fmt.Sprint(t)
	}
	if m, ok := s["method"]; ok {
		req += fmt.Sprintf(" %v %v", m, s["path"])
	}
	status := "-"
	if v, ok := s["status"]; ok {
		status = fmt.Sprintf("%.0f", v)
	}
	fmt.Printf("    request   %s  (event %s)\n", req, num("event"))
	fmt.Printf("    response  %v, status %s: %s on the wire, body %s; caller received %d B\n", orDash(s["mode"]), status, num("response"), num("body"), callerBytes)
	if stages, _ := s["stages"].([]any); len(stages) > 0 {
		fmt.Printf("    stages   ")
		for i, st := range stages {
			m, _ := st.(map[string]any)
			arrow := " → "
			if i == 0 {
				arrow = " "
			}
			mark := ""
			if m["lost"] == true {
				mark = " ✗"
			}
			fmt.Printf("%s%v %.0f B%s", arrow, m["stage"], m["bytes"], mark)
		}
		fmt.Println()
	}
	fmt.Printf("    verdict   %v: %v\n", s["verdict"], s["reason"])
	fmt.Printf("    trace     %v  http://%s/api/traces/%v\n", s["traceId"], j.Query, s["traceId"])
}

func orDash(v any) any {
	if v == nil {
		return "-"
	}
	return v
}

func count(vs []string) []string {
	n := map[string]int{}
	var order []string
	for _, v := range vs {
		if n[v] == 0 {
			order = append(order, v)
		}
		n[v]++
	}
	out := make([]string, len(order))
	for i, v := range order {
		out[i] = fmt.Sprintf("%d %s", n[v], v)
	}
	return out
}
