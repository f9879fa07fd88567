package config

import (
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/export"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c := Load(env(nil))
	want := Config{
		ProxyAddr: "127.0.0.1:9140", Protocol: "http/protobuf", Summary: true,
		FlushTimeout: DefaultFlushTimeout, TelemetryWait: DefaultTelemetryWait, ResponseGrace: DefaultResponseGrace,
		LogLevel: "info",
	}
	if c.ProxyAddr != want.ProxyAddr || c.TelemetryAddr != "" || c.OTLP || c.Protocol != want.Protocol || c.Summary != want.Summary ||
		c.FlushTimeout != want.FlushTimeout || c.TelemetryWait != want.TelemetryWait || c.ResponseGrace != want.ResponseGrace ||
		c.LogLevel != want.LogLevel || c.ServiceName != "" || c.Flush != export.FlushVerdict || len(c.Problems) != 0 {
		t.Errorf("Load(empty) = %+v\nwant %+v", c, want)
	}
}

func TestLoadValid(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(Config) bool
	}{
		{"proxy port", map[string]string{"BODYTRACE_PROXY_PORT": "9999"}, func(c Config) bool { return c.ProxyAddr == "127.0.0.1:9999" }},
		{"proxy port with spaces", map[string]string{"BODYTRACE_PROXY_PORT": " 8080 "}, func(c Config) bool { return c.ProxyAddr == "127.0.0.1:8080" }},
		{"telemetry port", map[string]string{"BODYTRACE_TELEMETRY_PORT": "4243"}, func(c Config) bool { return c.TelemetryAddr == "127.0.0.1:4243" }},
		{"OTLP endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"}, func(c Config) bool { return c.OTLP }},
		{"OTLP traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://localhost:4318/v1/traces"}, func(c Config) bool { return c.OTLP }},
		{"protocol grpc", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, func(c Config) bool { return c.Protocol == "grpc" }},
		{"protocol upper case", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "GRPC"}, func(c Config) bool { return c.Protocol == "grpc" }},
		{"traces protocol", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, func(c Config) bool { return c.Protocol == "grpc" }},
		{"traces protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			func(c Config) bool { return c.Protocol == "http/protobuf" }},
		{"summary auto without endpoint", map[string]string{"BODYTRACE_SUMMARY": "auto"}, func(c Config) bool { return c.Summary }},
		{"summary auto with endpoint", map[string]string{"BODYTRACE_SUMMARY": "auto", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, func(c Config) bool { return !c.Summary }},
		{"summary default with endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, func(c Config) bool { return !c.Summary }},
		{"summary on without endpoint", map[string]string{"BODYTRACE_SUMMARY": "on"}, func(c Config) bool { return c.Summary }},
		{"summary on with endpoint", map[string]string{"BODYTRACE_SUMMARY": "on", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, func(c Config) bool { return c.Summary }},
		{"summary off without endpoint", map[string]string{"BODYTRACE_SUMMARY": "off"}, func(c Config) bool { return !c.Summary }},
		{"summary off with endpoint", map[string]string{"BODYTRACE_SUMMARY": "OFF", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, func(c Config) bool { return !c.Summary }},
		{"flush end", map[string]string{"BODYTRACE_FLUSH": "end"}, func(c Config) bool { return c.Flush == export.FlushEnd }},
		{"flush verdict upper case", map[string]string{"BODYTRACE_FLUSH": " VERDICT "}, func(c Config) bool { return c.Flush == export.FlushVerdict }},
		{"flush timeout", map[string]string{"BODYTRACE_FLUSH_TIMEOUT": "2s"}, func(c Config) bool { return c.FlushTimeout == 2*time.Second }},
		{"flush timeout bare ms", map[string]string{"BODYTRACE_FLUSH_TIMEOUT": "750"}, func(c Config) bool { return c.FlushTimeout == 750*time.Millisecond }},
		{"flush timeout at max", map[string]string{"BODYTRACE_FLUSH_TIMEOUT": "30s"}, func(c Config) bool { return c.FlushTimeout == 30*time.Second }},
		{"telemetry wait", map[string]string{"BODYTRACE_TELEMETRY_WAIT": "250ms"}, func(c Config) bool { return c.TelemetryWait == 250*time.Millisecond }},
		{"telemetry wait bare ms", map[string]string{"BODYTRACE_TELEMETRY_WAIT": "40"}, func(c Config) bool { return c.TelemetryWait == 40*time.Millisecond }},
		{"telemetry wait zero", map[string]string{"BODYTRACE_TELEMETRY_WAIT": "0"}, func(c Config) bool { return c.TelemetryWait == 0 }},
		{"log level", map[string]string{"BODYTRACE_LOG_LEVEL": "debug"}, func(c Config) bool { return c.LogLevel == "debug" }},
		{"log level upper case", map[string]string{"BODYTRACE_LOG_LEVEL": "WARN"}, func(c Config) bool { return c.LogLevel == "warn" }},
		{"service name", map[string]string{"OTEL_SERVICE_NAME": "svc", "AWS_LAMBDA_FUNCTION_NAME": "fn"}, func(c Config) bool { return c.ServiceName == "svc" }},
		{"service name from function", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "fn"}, func(c Config) bool { return c.ServiceName == "fn" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Load(env(tt.env))
			if !tt.check(c) {
				t.Errorf("Load(%v) = %+v", tt.env, c)
			}
			if len(c.Problems) != 0 {
				t.Errorf("Problems = %q, want none", c.Problems)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	def := Load(env(nil))
	tests := []struct {
		name     string
		variable string
		value    string
		accepted []string // substrings the problem must contain besides the variable's name
		check    func(Config) bool
	}{
		{"proxy port word", "BODYTRACE_PROXY_PORT", "abc", []string{"1 to 65535"}, func(c Config) bool { return c.ProxyAddr == def.ProxyAddr }},
		{"proxy port zero", "BODYTRACE_PROXY_PORT", "0", []string{"1 to 65535"}, func(c Config) bool { return c.ProxyAddr == def.ProxyAddr }},
		{"proxy port too big", "BODYTRACE_PROXY_PORT", "70000", []string{"1 to 65535"}, func(c Config) bool { return c.ProxyAddr == def.ProxyAddr }},
		{"telemetry port", "BODYTRACE_TELEMETRY_PORT", "-1", []string{"1 to 65535"}, func(c Config) bool { return c.TelemetryAddr == "" }},
		{"protocol http/xml", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml", []string{"grpc", "http/protobuf", "http/json"}, func(c Config) bool { return c.Protocol == "http/protobuf" }},
		{"traces protocol", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp", []string{"grpc", "http/protobuf"}, func(c Config) bool { return c.Protocol == "http/protobuf" }},
		{"summary", "BODYTRACE_SUMMARY", "yes", []string{"auto", "on", "off"}, func(c Config) bool { return c.Summary == def.Summary }},
		{"flush strategy", "BODYTRACE_FLUSH", "periodically,100", []string{"verdict", "end"}, func(c Config) bool { return c.Flush == export.FlushVerdict }},
		{"flush timeout word", "BODYTRACE_FLUSH_TIMEOUT", "soon", []string{"250ms", "30s"}, func(c Config) bool { return c.FlushTimeout == DefaultFlushTimeout }},
		{"flush timeout zero", "BODYTRACE_FLUSH_TIMEOUT", "0", []string{"1ms", "30s"}, func(c Config) bool { return c.FlushTimeout == DefaultFlushTimeout }},
		{"flush timeout too long", "BODYTRACE_FLUSH_TIMEOUT", "1m", []string{"30s"}, func(c Config) bool { return c.FlushTimeout == DefaultFlushTimeout }},
		{"telemetry wait negative", "BODYTRACE_TELEMETRY_WAIT", "-5", []string{"10s"}, func(c Config) bool { return c.TelemetryWait == DefaultTelemetryWait }},
		{"telemetry wait too long", "BODYTRACE_TELEMETRY_WAIT", "11s", []string{"10s"}, func(c Config) bool { return c.TelemetryWait == DefaultTelemetryWait }},
		{"telemetry wait fraction", "BODYTRACE_TELEMETRY_WAIT", "1.5", []string{"10s"}, func(c Config) bool { return c.TelemetryWait == DefaultTelemetryWait }},
		{"log level", "BODYTRACE_LOG_LEVEL", "verbose", []string{"debug", "info", "warn", "error"}, func(c Config) bool { return c.LogLevel == "info" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Load(env(map[string]string{tt.variable: tt.value}))
			if !tt.check(c) {
				t.Errorf("Load(%s=%q) = %+v, want the default kept", tt.variable, tt.value, c)
			}
			if len(c.Problems) != 1 {
				t.Fatalf("Problems = %q, want exactly one", c.Problems)
			}
			p := c.Problems[0]
			for _, s := range append([]string{tt.variable, tt.value}, tt.accepted...) {
				if !strings.Contains(p, s) {
					t.Errorf("problem %q does not mention %q", p, s)
				}
			}
		})
	}
}

func TestLoadCollectsEveryProblem(t *testing.T) {
	c := Load(env(map[string]string{
		"BODYTRACE_PROXY_PORT": "x", "BODYTRACE_SUMMARY": "x", "BODYTRACE_LOG_LEVEL": "x", "BODYTRACE_TELEMETRY_WAIT": "x",
	}))
	if len(c.Problems) != 4 {
		t.Errorf("Problems = %q, want 4", c.Problems)
	}
}
