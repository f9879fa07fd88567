package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// TestRecord regenerates testdata/emulator-*.log and testdata/jaeger-traces.json from a real
// run: the extension under the Lambda emulator with the Node.js example, exporting to Jaeger
// and writing summary lines. It runs only with BODYTRACE_RECORD=1 (and `make tools`).
func TestRecord(t *testing.T) {
	if os.Getenv("BODYTRACE_RECORD") == "" {
		t.Skip("set BODYTRACE_RECORD=1 to re-record testdata from the emulator and Jaeger")
	}
	tools, err := localrun.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	art, err := localrun.BuildArtifacts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	jaeger, err := localrun.StartJaeger(tools.Jaeger, false)
	if err != nil {
		t.Fatal(err)
	}
	defer jaeger.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	runs := []struct {
		file    string
		fn      localrun.Function
		queries []map[string]string
		headers []map[string]string
	}{
		{"emulator-node-buffered.log", localrun.Function{Runtime: "node", Handler: "index.handler"},
			[]map[string]string{{"bytes": "2048"}, {"empty": "1"}, {"status": "304"}, {"bytes": "512"}},
			[]map[string]string{nil, nil, {"if-none-match": `"v1"`}, nil}},
		{"emulator-node-stream.log", localrun.Function{Runtime: "node", Handler: "index.stream"},
			[]map[string]string{{"bytes": "65536", "chunk": "8192"}, {"bytes": "4096", "chunk": "1024", "fail": "1"}},
			[]map[string]string{nil, nil}},
		{"emulator-go.log", localrun.Function{Runtime: "go", Handler: "buffered"},
			[]map[string]string{{"bytes": "1024"}}, []map[string]string{nil}},
	}
	for _, r := range runs {
		l, err := localrun.Launch(tools, art, r.fn,
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+jaeger.OTLPHTTP, "OTEL_SERVICE_NAME=bodytrace-record", "BODYTRACE_SUMMARY=on")
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range r.queries {
			if _, err := l.Invoke(ctx, recordEvent(t, q, r.headers[i])); err != nil {
				l.Stop()
				t.Fatal(err)
			}
			if _, err := l.WaitSummaries(ctx, i+1); err != nil {
				l.Stop()
				t.Fatal(err)
			}
		}
		l.Stop()
		if err := os.WriteFile(filepath.Join("testdata", r.file), []byte(l.Log.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second) // let the last spans reach Jaeger
	end := time.Now()
	u := fmt.Sprintf("http://%s/api/traces?service=bodytrace-record&limit=20&start=%d&end=%d", jaeger.Query,
		end.Add(-time.Hour).UnixMicro(), end.UnixMicro())
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := os.WriteFile(filepath.Join("testdata", "jaeger-traces.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// recordEvent is examples/events/function-url.json with the query and headers given.
func recordEvent(t *testing.T, query, headers map[string]string) []byte {
	b, err := os.ReadFile(filepath.Join(localrun.Root(), "examples", "events", "function-url.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	q, raw := map[string]any{}, url.Values{}
	for k, v := range query {
		q[k] = v
		raw.Set(k, v)
	}
	ev["queryStringParameters"], ev["rawQueryString"] = q, raw.Encode()
	h, _ := ev["headers"].(map[string]any)
	for k, v := range headers {
		h[k] = v
	}
	out, _ := json.Marshal(ev)
	return []byte(strings.TrimSpace(string(out)))
}
