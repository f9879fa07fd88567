package config

import "testing"

func TestSamplingSettings(t *testing.T) {
	tests := []struct {
		env         map[string]string
		ratio       float64
		parentBased bool
		problems    int
	}{
		{nil, 1, false, 0},
		{map[string]string{"BODYTRACE_SAMPLE_HEALTHY": "0.25"}, 0.25, false, 0},
		{map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_always_on"}, 1, true, 0},
		{map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, 0, false, 0},
		{map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}, 0.1, true, 0},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "two"}, 1, false, 1},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5", "BODYTRACE_SAMPLE_HEALTHY": "0.2"}, 0.2, false, 0},
	}
	for _, tt := range tests {
		c := Load(env(tt.env))
		if c.SampleHealthy != tt.ratio || c.ParentBased != tt.parentBased || len(c.Problems) != tt.problems {
			t.Errorf("%v: ratio %v parentBased %v problems %q; want %v %v %d", tt.env, c.SampleHealthy, c.ParentBased, c.Problems, tt.ratio, tt.parentBased, tt.problems)
		}
	}
	if c := Load(env(nil)); !c.Metrics {
		t.Error("no OTLP endpoint: metrics lines should be on by default")
	}
	if c := Load(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})); c.Metrics || !c.OTLPMetrics {
		t.Error("with an OTLP endpoint, BODYTRACE_METRICS=auto should send OTLP metrics, not write EMF lines")
	}
	if c := Load(env(map[string]string{"BODYTRACE_METRICS": "otlp"})); c.OTLPMetrics || c.Metrics {
		t.Error("BODYTRACE_METRICS=otlp without an endpoint: nothing to send to, and no EMF lines")
	}
	if c := Load(env(map[string]string{"BODYTRACE_METRICS": "on", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})); !c.OTLPMetrics || !c.Metrics {
		t.Error("BODYTRACE_METRICS=on with an endpoint: both")
	}
}
