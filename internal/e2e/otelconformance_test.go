package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// jaegerTrace is a trace from Jaeger's query API with what the OTel checks read: span
// tags and each process's service name and tags (the OTLP resource).
type jaegerTrace struct {
	Spans []struct {
		OperationName string     `json:"operationName"`
		ProcessID     string     `json:"processID"`
		Tags          []jaegerKV `json:"tags"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string     `json:"serviceName"`
		Tags        []jaegerKV `json:"tags"`
	} `json:"processes"`
}

type jaegerKV struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

func tagOf(kvs []jaegerKV, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return fmt.Sprint(kv.Value), true
		}
	}
	return "", false
}

// fetchTrace waits (bounded by ctx) until Jaeger holds traceID with its root span, the one
// carrying the verdict.
func fetchTrace(ctx context.Context, traceID string) (jaegerTrace, int, error) {
	var last error
	for {
		var out struct {
			Data []jaegerTrace `json:"data"`
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+jaeger.Query+"/api/traces/"+traceID, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
		}
		if err == nil && len(out.Data) == 1 {
			for i, s := range out.Data[0].Spans {
				if _, ok := tagOf(s.Tags, "bodytrace.verdict"); ok {
					return out.Data[0], i, nil
				}
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return jaegerTrace{}, 0, fmt.Errorf("trace %s with a root span not in Jaeger: %v (%w)", traceID, last, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// routedEvent is an HTTP API event whose route template is known.
func routedEvent(t *testing.T, traceparent string) []byte {
	var ev map[string]any
	if err := json.Unmarshal(event(t, "apigw-v2.json", map[string]string{"bytes": "64"}), &ev); err != nil {
		t.Fatal(err)
	}
	ev["routeKey"] = "GET /bytes/{size}"
	ev["requestContext"].(map[string]any)["routeKey"] = "GET /bytes/{size}"
	if traceparent != "" {
		ev["headers"].(map[string]any)["traceparent"] = traceparent
	}
	b, _ := json.Marshal(ev)
	return b
}

// TestOTelConformance reads bodytrace's trace back from Jaeger and checks it against the
// OpenTelemetry semantic conventions and SDK environment variables: service.name from the
// function when OTEL_SERVICE_NAME is unset, the root span named "{method} {route}" with
// http.route, cloud.account.id and cloud.resource_id, the version on the scope and the
// resource, and the version in the extension's start log.
func TestOTelConformance(t *testing.T) {
	needParts(t)
	env := []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + jaeger.OTLPHTTP,
		"BODYTRACE_SUMMARY=on",
		// OTEL_SERVICE_NAME is deliberately unset.
	}
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := l.Invoke(ctx, routedEvent(t, "")); err != nil {
		t.Fatal(err)
	}
	sums, err := l.WaitSummaries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	traceID := fmt.Sprint(sums[0]["traceId"])
	tr, root, err := fetchTrace(ctx, traceID)
	if err != nil {
		t.Fatal(err)
	}
	rs := tr.Spans[root]
	proc := tr.Processes[rs.ProcessID]
	if proc.ServiceName != "e2e-node" {
		t.Errorf("service.name %q without OTEL_SERVICE_NAME, want the function's name e2e-node", proc.ServiceName)
	}
	if rs.OperationName != "GET /bytes/{size}" {
		t.Errorf("root span %q, want \"GET /bytes/{size}\" ({method} {route})", rs.OperationName)
	}
	for key, want := range map[string]string{"http.route": "/bytes/{size}", "faas.name": "e2e-node", "otel.scope.name": "github.com/bodytrace/bodytrace"} {
		if got, _ := tagOf(rs.Tags, key); got != want {
			t.Errorf("root span %s = %q, want %q", key, got, want)
		}
	}
	// The emulator passes a well-formed ARN (account 012345678912) with each invocation.
	account, okA := tagOf(rs.Tags, "cloud.account.id")
	resID, okR := tagOf(rs.Tags, "cloud.resource_id")
	if !okA || !okR || !strings.HasPrefix(resID, "arn:aws:lambda:") || !strings.Contains(resID, ":"+account+":function:e2e-node") {
		t.Errorf("cloud.account.id %q, cloud.resource_id %q", account, resID)
	}
	scopeVersion, _ := tagOf(rs.Tags, "otel.scope.version")
	distro, _ := tagOf(proc.Tags, "telemetry.distro.version")
	if scopeVersion == "" || distro != scopeVersion {
		t.Errorf("scope version %q, resource telemetry.distro.version %q: want the same, non-empty", scopeVersion, distro)
	}
	logged := false
	for _, line := range strings.Split(l.Log.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "registered" {
			logged = rec["version"] == scopeVersion
		}
	}
	if !logged {
		t.Errorf("the extension's start log does not carry version %q", scopeVersion)
	}
}

// TestOTelHTTPJSONAndPropagators exports over OTLP http/json to Jaeger, with
// OTEL_PROPAGATORS=xray: the event's traceparent is then not the parent.
func TestOTelHTTPJSONAndPropagators(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-otel-json-%d", time.Now().UnixNano())
	env := []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + jaeger.OTLPHTTP,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
		"OTEL_PROPAGATORS=xray",
		"OTEL_SERVICE_NAME=" + service,
		"BODYTRACE_SUMMARY=on",
	}
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	callerTrace := randomHex(16)
	if _, err := l.Invoke(ctx, routedEvent(t, "00-"+callerTrace+"-"+randomHex(8)+"-01")); err != nil {
		t.Fatal(err)
	}
	sums, err := l.WaitSummaries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	traceID := fmt.Sprint(sums[0]["traceId"])
	if traceID == callerTrace {
		t.Errorf("OTEL_PROPAGATORS=xray, yet the trace continues the event's traceparent")
	}
	tr, root, err := fetchTrace(ctx, traceID)
	if err != nil {
		t.Fatalf("over http/json: %v", err)
	}
	if got := tr.Processes[tr.Spans[root].ProcessID].ServiceName; got != service {
		t.Errorf("service %q, want %q", got, service)
	}
	if len(tr.Spans) < 3 {
		t.Errorf("%d spans arrived over http/json", len(tr.Spans))
	}
}

// TestOTelSDKDisabled: OTEL_SDK_DISABLED=true sends nothing over OTLP though an endpoint is
// set, and summary lines take the traces' place.
func TestOTelSDKDisabled(t *testing.T) {
	needParts(t)
	env := []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + jaeger.OTLPHTTP,
		"OTEL_SDK_DISABLED=true",
		"OTEL_SERVICE_NAME=" + fmt.Sprintf("e2e-otel-disabled-%d", time.Now().UnixNano()),
	}
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range 2 {
		if _, err := l.Invoke(ctx, routedEvent(t, "")); err != nil {
			t.Fatal(err)
		}
	}
	// Summary lines are off by default with an endpoint: these come from the SDK being off.
	sums, err := l.WaitSummaries(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The first invocation was flushed before the second began; Jaeger answers within its
	// own bound for a trace it has.
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	if _, _, err := fetchTrace(short, fmt.Sprint(sums[0]["traceId"])); err == nil {
		t.Error("a trace reached Jaeger with OTEL_SDK_DISABLED=true")
	}
}
