package config

import (
	"slices"
	"strings"
	"testing"
)

// TestOTelEnvironment: the SDK environment variables bodytrace honours besides the
// exporter's own, as the OpenTelemetry SDK environment specification reads them.
func TestOTelEnvironment(t *testing.T) {
	endpoint := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range endpoint {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(Config) bool
	}{
		{"http/json", with("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"), func(c Config) bool { return c.Protocol == "http/json" && c.OTLP }},
		{"traces http/json", with("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "HTTP/JSON"), func(c Config) bool { return c.Protocol == "http/json" }},
		{"SDK disabled", with("OTEL_SDK_DISABLED", "true"), func(c Config) bool { return c.SDKDisabled && !c.OTLP && !c.OTLPMetrics && c.Summary && c.Metrics }},
		{"SDK disabled, any case", with("OTEL_SDK_DISABLED", " TRUE "), func(c Config) bool { return c.SDKDisabled && !c.OTLP }},
		// Only "true" disables: the spec reads every other value as false.
		{"SDK not disabled by 1", with("OTEL_SDK_DISABLED", "1"), func(c Config) bool { return !c.SDKDisabled && c.OTLP }},
		{"SDK enabled", with("OTEL_SDK_DISABLED", "false"), func(c Config) bool { return !c.SDKDisabled && c.OTLP && !c.Summary }},
		{"propagators unset", with(), func(c Config) bool { return c.Propagators == nil }},
		{"propagators", with("OTEL_PROPAGATORS", "tracecontext, baggage"), func(c Config) bool { return slices.Equal(c.Propagators, []string{"tracecontext", "baggage"}) }},
		{"propagators xray", with("OTEL_PROPAGATORS", "xray"), func(c Config) bool { return slices.Equal(c.Propagators, []string{"xray"}) }},
		{"propagators none", with("OTEL_PROPAGATORS", "none"), func(c Config) bool { return c.Propagators != nil && len(c.Propagators) == 0 }},
	} {
		c := Load(env(tc.env))
		if !tc.check(c) || len(c.Problems) != 0 {
			t.Errorf("%s: %+v", tc.name, c)
		}
	}
	c := Load(env(with("OTEL_PROPAGATORS", "b3,tracecontext")))
	if !slices.Equal(c.Propagators, []string{"tracecontext"}) || len(c.Problems) != 1 || !strings.Contains(c.Problems[0], `"b3"`) {
		t.Errorf("an unsupported propagator: %q, problems %q", c.Propagators, c.Problems)
	}
}
