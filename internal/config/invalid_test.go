package config

import (
	"net"
	"strings"
	"testing"

	"github.com/bodytrace/bodytrace/internal/export"
)

// invalidCase is one invalid value of one variable the extension reads.
type invalidCase struct {
	variable, value string
	accepted        []string          // what the problem must say besides the name and the value
	safe            func(Config) bool // the safe default is in effect
}

// invalidValues lists, for every variable config.Load reads and validates, values a
// user could plausibly set by mistake. TestLoadInvalid covers some of them already;
// this table is the complete inventory (see TestEveryVariableHasAnInvalidCase).
func invalidValues(def Config) []invalidCase {
	port := func(addr string) func(Config) bool { return func(c Config) bool { return c.ProxyAddr == addr } }
	steps := func(c Config) bool { return c.StepsAddr == def.StepsAddr }
	flush := func(c Config) bool { return c.FlushTimeout == DefaultFlushTimeout }
	wait := func(c Config) bool { return c.TelemetryWait == DefaultTelemetryWait }
	proto := func(c Config) bool { return c.Protocol == "http/protobuf" }
	var out []invalidCase
	for _, v := range []string{"abc", "0", "-1", "65536", "9140.5", "0x2394", "9140 9141", "１２３"} {
		r := []string{"1 to 65535"}
		out = append(out,
			invalidCase{"BODYTRACE_PROXY_PORT", v, r, port(def.ProxyAddr)},
			invalidCase{"BODYTRACE_STEPS_PORT", v, r, steps},
			invalidCase{"BODYTRACE_TELEMETRY_PORT", v, r, func(c Config) bool { return c.TelemetryAddr == "" }})
	}
	for _, v := range []string{"http/xml", "HTTP", "grpcs", "http/protobuf;", "udp"} {
		r := []string{"grpc", "http/protobuf", "http/json"}
		out = append(out,
			invalidCase{"OTEL_EXPORTER_OTLP_PROTOCOL", v, r, proto},
			invalidCase{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", v, r, proto})
	}
	for _, v := range []string{"yes", "true", "1", "enabled"} {
		out = append(out, invalidCase{"BODYTRACE_SUMMARY", v, []string{"auto", "on", "off"}, func(c Config) bool { return c.Summary == def.Summary }})
	}
	for _, v := range []string{"soon", "0", "-1s", "31s", "1h", "1.5", "1e3", "NaN", "9223372036854775807"} {
		out = append(out, invalidCase{"BODYTRACE_FLUSH_TIMEOUT", v, []string{"1ms", "30s"}, flush})
	}
	for _, v := range []string{"periodically,100", "auto", "batch", "1s", "END,"} {
		out = append(out, invalidCase{"BODYTRACE_FLUSH", v, []string{"verdict", "end"}, func(c Config) bool { return c.Flush == export.DefaultFlush }})
	}
	for _, v := range []string{"later", "-1ms", "10001", "11s", "∞"} {
		out = append(out, invalidCase{"BODYTRACE_TELEMETRY_WAIT", v, []string{"10s"}, wait})
	}
	for _, v := range []string{"half", "-0.1", "1.5", "NaN", "10%"} {
		out = append(out, invalidCase{"BODYTRACE_SAMPLE_HEALTHY", v, []string{"0 to 1"}, func(c Config) bool { return c.SampleHealthy == 1 }})
	}
	for _, v := range []string{"sometimes", "parentbased", "ratio"} {
		out = append(out, invalidCase{"OTEL_TRACES_SAMPLER", v, []string{"always_on", "parentbased_traceidratio"}, func(c Config) bool { return c.SampleHealthy == 1 && !c.ParentBased }})
	}
	for _, v := range []string{"yes", "cloudwatch", "1"} {
		out = append(out, invalidCase{"BODYTRACE_METRICS", v, []string{"auto", "emf", "otlp", "on", "off"}, func(c Config) bool { return c.Metrics == def.Metrics && c.OTLPMetrics == def.OTLPMetrics }})
	}
	for _, v := range []string{"b3", "jaeger", "ottrace"} {
		out = append(out, invalidCase{"OTEL_PROPAGATORS", v, []string{"tracecontext", "xray"}, func(c Config) bool { return c.Propagators != nil && len(c.Propagators) == 0 }})
	}
	for _, v := range []string{"whenever", "-5ms", "10001", "11s"} {
		out = append(out, invalidCase{"BODYTRACE_LATE_WRITE_WAIT", v, []string{"10s"}, func(c Config) bool { return c.LateWriteWait == DefaultLateWriteWait }})
	}
	for _, v := range []string{"everything", "yes", "full"} {
		out = append(out, invalidCase{"BODYTRACE_CAPTURE", v, []string{"off", "metadata", "body"}, func(c Config) bool { return c.Capture.Mode == def.Capture.Mode }})
	}
	for _, v := range []string{"lots", "-1", "10", "4k"} {
		out = append(out, invalidCase{"BODYTRACE_CAPTURE_MAX_BYTES", v, []string{"64"}, func(c Config) bool { return c.Capture.MaxBytes == def.Capture.MaxBytes }})
	}
	for _, v := range []string{",", " , ,"} {
		out = append(out, invalidCase{"BODYTRACE_REDACT_KEYS", v, []string{"comma-separated"}, func(c Config) bool { return len(c.Capture.RedactKeys) == len(def.Capture.RedactKeys) }})
	}
	for _, v := range []string{"verbose", "trace", "warning", "fatal", "0"} {
		out = append(out, invalidCase{"BODYTRACE_LOG_LEVEL", v, []string{"debug", "info", "warn", "error"}, func(c Config) bool { return c.LogLevel == "info" }})
	}
	return out
}

// TestInvalidValueNamedWithDefault: each invalid value yields exactly one problem that
// names the variable, quotes the value, lists what is accepted, and the setting keeps
// its safe default; nothing else changes.
func TestInvalidValueNamedWithDefault(t *testing.T) {
	def := Load(env(nil))
	for _, tt := range invalidValues(def) {
		t.Run(tt.variable+"="+tt.value, func(t *testing.T) {
			c := Load(env(map[string]string{tt.variable: tt.value}))
			if !tt.safe(c) {
				t.Errorf("Load(%s=%q) = %+v, want the safe default kept", tt.variable, tt.value, c)
			}
			if len(c.Problems) != 1 {
				t.Fatalf("Problems = %q, want exactly one", c.Problems)
			}
			p := c.Problems[0]
			for _, s := range append([]string{tt.variable, strings.ToLower(strings.TrimSpace(tt.value))}, tt.accepted...) {
				if !strings.Contains(strings.ToLower(p), strings.ToLower(s)) {
					t.Errorf("problem %q does not mention %q", p, s)
				}
			}
			if !strings.Contains(p, "using") {
				t.Errorf("problem %q does not say which value is used instead", p)
			}
			// Everything else as with no configuration at all.
			c.Problems = nil
			d := def
			d.Problems = nil
			if tt.variable == "BODYTRACE_SUMMARY" || tt.safe(d) {
				if c.ProxyAddr != d.ProxyAddr || c.StepsAddr != d.StepsAddr || c.TelemetryAddr != d.TelemetryAddr ||
					c.Protocol != d.Protocol || c.Summary != d.Summary || c.FlushTimeout != d.FlushTimeout ||
					c.TelemetryWait != d.TelemetryWait || c.LateWriteWait != d.LateWriteWait || c.LogLevel != d.LogLevel || c.OTLP != d.OTLP {
					t.Errorf("Load(%s=%q) = %+v, want the defaults %+v", tt.variable, tt.value, c, d)
				}
			}
		})
	}
}

// TestEveryVariableHasAnInvalidCase keeps the inventory complete: every BODYTRACE_* and
// OTEL_* variable config.go names is either validated (and in invalidValues) or listed
// here as free text or presence-only, with the reason.
func TestEveryVariableHasAnInvalidCase(t *testing.T) {
	free := map[string]string{
		"OTEL_SERVICE_NAME": "any string is a valid service name",
		"OTEL_SDK_DISABLED": "the spec reads every value but true as false",
	}
	// Checked by TestInvalidSecretARN: its problem never quotes a value that may be the secret itself.
	free["BODYTRACE_OTLP_HEADERS_SECRET_ARN"] = "validated by secrets.ParseRef, see TestInvalidSecretARN"
	presence := map[string]string{
		// See TestInvalidEndpointReported: only presence is read here, the SDK parses the rest.
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "presence only",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "presence only",
	}
	covered := map[string]bool{}
	for _, c := range invalidValues(Load(env(nil))) {
		covered[c.variable] = true
	}
	seen := map[string]bool{}
	Load(func(k string) string { seen[k] = true; return "" })
	for k := range seen {
		if !strings.HasPrefix(k, "BODYTRACE_") && !strings.HasPrefix(k, "OTEL_") {
			continue
		}
		if !covered[k] && free[k] == "" && presence[k] == "" {
			t.Errorf("config.Load reads %s but no invalid value of it is tested", k)
		}
	}
}

// TestAllInvalidAtOnce: every validated variable invalid together gives one problem each
// and a complete, usable configuration (loopback addresses that parse, bounds > 0).
func TestAllInvalidAtOnce(t *testing.T) {
	m := map[string]string{}
	for _, c := range invalidValues(Load(env(nil))) {
		if _, ok := m[c.variable]; !ok {
			m[c.variable] = c.value
		}
	}
	c := Load(env(m))
	if len(c.Problems) != len(m)-1 {
		// OTEL_EXPORTER_OTLP_PROTOCOL is not read when the TRACES variant is set.
		t.Errorf("%d problems for %d invalid variables: %q", len(c.Problems), len(m), c.Problems)
	}
	for k := range m {
		if k == "OTEL_EXPORTER_OTLP_PROTOCOL" {
			continue
		}
		found := false
		for _, p := range c.Problems {
			found = found || strings.HasPrefix(p, k+"=")
		}
		if !found {
			t.Errorf("no problem names %s", k)
		}
	}
	for _, addr := range []string{c.ProxyAddr, c.StepsAddr} {
		if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
			t.Errorf("address %q is not a loopback host:port", addr)
		}
	}
	if c.FlushTimeout <= 0 || c.TelemetryWait < 0 || c.LogLevel != "info" || c.Protocol != "http/protobuf" {
		t.Errorf("config %+v is not the safe defaults", c)
	}
}

// TestInvalidEndpointReported: an OTLP endpoint that is not a URL must be reported like
// every other invalid setting, naming the variable and what it accepts.
func TestInvalidEndpointReported(t *testing.T) {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		for _, v := range []string{"not a url", "localhost:4318", "ftp://collector:4318", "http://[::1"} {
			c := Load(env(map[string]string{name: v}))
			if len(c.Problems) == 0 {
				t.Fatalf("%s=%q gave no problem naming the variable and the accepted form", name, v)
			}
		}
	}
}

// TestInvalidSecretARN: a value that is not a secret or parameter ARN is one problem naming
// the variable and the accepted forms, never the value when it is not an ARN (a secret pasted
// in by mistake), and no secret is read.
func TestInvalidSecretARN(t *testing.T) {
	const name = "BODYTRACE_OTLP_HEADERS_SECRET_ARN"
	for _, v := range []string{"x-api-key=s3cr3t", "arn:aws:s3:::bucket", "arn:aws:secretsmanager:eu-west-1:123456789012:nosecret"} {
		c := Load(env(map[string]string{name: v}))
		if len(c.Problems) != 1 || !strings.Contains(c.Problems[0], name) || !strings.Contains(c.Problems[0], "arn:aws:secretsmanager:<region>") {
			t.Errorf("%s=%q: problems %q, want one naming the variable and the accepted forms", name, v, c.Problems)
		}
		if strings.Contains(strings.Join(c.Problems, " "), "s3cr3t") {
			t.Errorf("%s=%q: the problem shows the value", name, v)
		}
		if c.HeadersSecretARN != "" {
			t.Errorf("%s=%q: HeadersSecretARN = %q, want none read", name, v, c.HeadersSecretARN)
		}
	}
	ok := "arn:aws:ssm:eu-west-1:123456789012:parameter/otlp/headers"
	if c := Load(env(map[string]string{name: ok})); c.HeadersSecretARN != ok || len(c.Problems) != 0 {
		t.Errorf("%s=%q: HeadersSecretARN %q, problems %q", name, ok, c.HeadersSecretARN, c.Problems)
	}
}
