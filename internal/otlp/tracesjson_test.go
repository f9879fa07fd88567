package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TestTracesJSONMatchesProtobuf: the http/json encoding says what the protobuf one says.
// OTLP JSON differs from protobuf's canonical JSON (protojson) only in ids, hex instead of
// base64; after that one change protojson must read it as the same message.
func TestTracesJSONMatchesProtobuf(t *testing.T) {
	spans := testSpans()
	raw := AppendTracesJSON(nil, spans)
	if !json.Valid(raw) {
		t.Fatalf("invalid JSON: %s", raw)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	ids := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "traceId" || k == "spanId" || k == "parentSpanId") {
					b, err := hex.DecodeString(s)
					if err != nil || (k == "traceId") != (len(b) == 16) {
						t.Errorf("%s %q is not a hex id", k, s)
					}
					v[k] = base64.StdEncoding.EncodeToString(b)
					ids++
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if ids == 0 {
		t.Fatal("no ids in the JSON")
	}
	canonical, _ := json.Marshal(doc)
	var fromJSON, fromProto coltracepb.ExportTraceServiceRequest
	if err := protojson.Unmarshal(canonical, &fromJSON); err != nil {
		t.Fatalf("protojson cannot read the encoding: %v\n%s", err, raw)
	}
	if err := proto.Unmarshal(AppendTraces(nil, spans), &fromProto); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&fromJSON, &fromProto) {
		t.Errorf("JSON and protobuf differ:\njson  %v\nproto %v", &fromJSON, &fromProto)
	}
	if !strings.Contains(string(raw), `"intValue":"-42"`) || !strings.Contains(string(raw), `"kind":2`) {
		t.Errorf("int64 as a string and enums as numbers, as OTLP JSON asks: %.400s", raw)
	}
}

func TestHTTPJSONSend(t *testing.T) {
	col, srv := newCollector(t, http.StatusOK)
	c := NewClient(Endpoint{Protocol: HTTPJSON, URL: srv.URL + "/v1/traces", Timeout: DefaultTimeout}, 0)
	exp := NewSpanExporter(c)
	if err := exp.ExportSpans(t.Context(), testSpans()); err != nil {
		t.Fatal(err)
	}
	r, body := <-col.got, <-col.bodies
	if r.Header.Get("Content-Type") != "application/json" || !json.Valid(body) || !strings.Contains(string(body), `"resourceSpans"`) {
		t.Fatalf("%s: %.200s", r.Header.Get("Content-Type"), body)
	}
}

func TestPartialSuccessJSON(t *testing.T) {
	for body, want := range map[string]int64{
		`{"partialSuccess":{"rejectedSpans":"3","errorMessage":"x"}}`: 3,
		`{"partialSuccess":{"rejectedSpans":2}}`:                      2,
		`{}`:                                                          0,
		`not json`:                                                    0,
	} {
		if got := partialSuccessJSON([]byte(body)); got != want {
			t.Errorf("%s: %d, want %d", body, got, want)
		}
	}
}

func TestFromEnvHTTPJSON(t *testing.T) {
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
	eps, problems := FromEnv(func(k string) string { return env[k] }, HTTPJSON, Traces, Metrics)
	if len(problems) != 0 || eps[Traces].Protocol != HTTPJSON || eps[Traces].URL != "http://127.0.0.1:4318/v1/traces" {
		t.Errorf("traces %+v, problems %q", eps[Traces], problems)
	}
	// Metrics are encoded as protobuf only, which every OTLP/HTTP receiver must accept.
	if eps[Metrics].Protocol != HTTPProtobuf || eps[Metrics].URL != "http://127.0.0.1:4318/v1/metrics" {
		t.Errorf("metrics %+v", eps[Metrics])
	}
}
