package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// TestTraceContinuesCaller checks that an invocation's trace joins the caller's: from a
// W3C traceparent in the event's HTTP headers, else from the X-Ray trace id Lambda passes.
// It exports over OTLP gRPC, the other protocol than the rest of the suite.
func TestTraceContinuesCaller(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-tracecontext-%d", time.Now().UnixNano())
	env := []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + jaeger.OTLPGRPC,
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_SERVICE_NAME=" + service,
		"BODYTRACE_SUMMARY=on",
	}
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Fresh ids each run: Jaeger keeps earlier runs' spans under the same trace id.
	w3cTrace, w3cParent := randomHex(16), randomHex(8)
	xrayTrace, xrayPar := randomHex(16), randomHex(8)
	var ev map[string]any
	_ = json.Unmarshal(event(t, "apigw-v2.json", map[string]string{"bytes": "64"}), &ev)
	ev["headers"].(map[string]any)["traceparent"] = "00-" + w3cTrace + "-" + w3cParent + "-01"
	withTP, _ := json.Marshal(ev)

	cases := []struct {
		name         string
		event        []byte
		header       http.Header
		trace, child string
	}{
		{"traceparent", withTP, nil, w3cTrace, w3cParent},
		{"x-ray", event(t, "apigw-v2.json", map[string]string{"bytes": "64"}),
			http.Header{"X-Amzn-Trace-Id": {"Root=1-" + xrayTrace[:8] + "-" + xrayTrace[8:] + ";Parent=" + xrayPar + ";Sampled=0"}}, xrayTrace, xrayPar},
	}
	for i, c := range cases {
		if _, err := l.InvokeWith(ctx, c.event, c.header); err != nil {
			t.Fatal(err)
		}
		sums, err := l.WaitSummaries(ctx, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if got := sums[i]["traceId"]; got != c.trace {
			t.Fatalf("%s: trace id %v, want the caller's %s", c.name, got, c.trace)
		}
		tr, err := jaeger.Trace(ctx, c.trace, 3)
		if err != nil {
			t.Fatal(err)
		}
		root := tr.Find("invoke")
		if len(root) != 1 {
			t.Fatalf("%s: %d invoke spans", c.name, len(root))
		}
		var parent string
		for _, r := range root[0].References {
			parent = r.SpanID
		}
		if parent != c.child {
			t.Errorf("%s: invoke span's parent %q, want the caller's span %s", c.name, parent, c.child)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
