package localrun

import (
	"bytes"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestJaegerConfig renders the embedded Jaeger configuration and checks that each
// endpoint lands under its own key, on loopback, with nothing left unfilled.
func TestJaegerConfig(t *testing.T) {
	e := jaegerEndpoints{Query: "127.0.0.1:23456", QueryGRPC: "127.0.0.1:12345", OTLPGRPC: "127.0.0.1:34567", OTLPHTTP: "127.0.0.1:11111"}
	var b bytes.Buffer
	if err := jaegerConfig.Execute(&b, e); err != nil {
		t.Fatalf("render: %v", err)
	}
	text := b.String()
	for _, bad := range []string{"{{", "<no value>", "%!"} {
		if strings.Contains(text, bad) {
			t.Errorf("rendered configuration holds %q:\n%s", bad, text)
		}
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b.Bytes(), &cfg); err != nil {
		t.Fatalf("rendered configuration is not YAML: %v\n%s", err, text)
	}
	for path, want := range map[string]string{
		"extensions.jaeger_query.http.endpoint":  e.Query,
		"extensions.jaeger_query.grpc.endpoint":  e.QueryGRPC,
		"receivers.otlp.protocols.grpc.endpoint": e.OTLPGRPC,
		"receivers.otlp.protocols.http.endpoint": e.OTLPHTTP,
		// Traces must reach the query API soon after export, and no metrics port is opened.
		"processors.batch.timeout":                        "50ms",
		"service.telemetry.metrics.level":                 "none",
		"exporters.jaeger_storage_exporter.trace_storage": "memstore",
	} {
		if got := lookup(cfg, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	// Every port Jaeger opens is one of ours: a fixed one would clash with a second Jaeger.
	if n := strings.Count(text, "endpoint:"); n != 4 {
		t.Errorf("%d endpoints in the configuration, want the 4 filled in:\n%s", n, text)
	}
}

// lookup returns the string at a dotted path of a decoded YAML document ("" when absent).
func lookup(doc map[string]any, path string) string {
	var cur any = doc
	for key := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[key]
	}
	s, _ := cur.(string)
	return s
}
