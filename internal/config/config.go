package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/capture"
	"github.com/bodytrace/bodytrace/internal/export"
	"github.com/bodytrace/bodytrace/internal/otlp"
	"github.com/bodytrace/bodytrace/internal/secrets"
	"github.com/bodytrace/bodytrace/steps/ready"
)

// Config is the extension's configuration.
type Config struct {
	// ProxyAddr is where the Runtime API proxy listens (BODYTRACE_PROXY_PORT, on 127.0.0.1).
	ProxyAddr string
	// StepsAddr is where step lines arrive as datagrams (BODYTRACE_STEPS_PORT, on 127.0.0.1).
	StepsAddr string
	// TelemetryAddr is where the Telemetry API listener binds (BODYTRACE_TELEMETRY_PORT, on
	// 127.0.0.1); empty lets the extension choose the address sandbox.localdomain resolves to.
	TelemetryAddr string
	// OTLP is true when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); the SDK reads the rest of OTEL_* itself.
	OTLP bool
	// Protocol is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL: grpc or http/protobuf.
	Protocol string
	// Summary writes one JSON line per invocation to the extension's log (BODYTRACE_SUMMARY:
	// auto = only when no OTLP endpoint is set, on, off).
	Summary bool
	// FlushTimeout bounds the flush before the extension's next /next, and each export in
	// the background (BODYTRACE_FLUSH_TIMEOUT).
	FlushTimeout time.Duration
	// Flush says when traces leave (BODYTRACE_FLUSH): verdict = lost and unknown bodies
	// before the next event, healthy ones in the background; end = every trace before
	// the next event.
	Flush export.Flush
	// TelemetryWait bounds how long a finished response waits for platform.runtimeDone (BODYTRACE_TELEMETRY_WAIT).
	TelemetryWait time.Duration
	// LateWriteWait is how long an empty buffered response waits for writes after the
	// adapter's snapshot, when the function reports steps (BODYTRACE_LATE_WRITE_WAIT).
	LateWriteWait time.Duration
	// ResponseGrace is how long past the invocation's deadline the extension waits for the response.
	ResponseGrace time.Duration
	// SampleHealthy is the share of healthy invocations whose traces are kept, 0 to 1
	// (BODYTRACE_SAMPLE_HEALTHY); lost and unknown bodies are always kept.
	SampleHealthy float64
	// ParentBased honours the caller's sampled flag for healthy invocations
	// (OTEL_TRACES_SAMPLER=parentbased_*).
	ParentBased bool
	// Metrics writes CloudWatch Embedded Metric Format counts to the log, and OTLPMetrics
	// sends them as OpenTelemetry metrics (BODYTRACE_METRICS: auto = EMF without an OTLP
	// endpoint, OTLP with one; emf; otlp; on = both; off).
	Metrics, OTLPMetrics bool
	// LogLevel is BODYTRACE_LOG_LEVEL: debug, info, warn, error.
	LogLevel string
	// ServiceName is OTEL_SERVICE_NAME or the function's name.
	ServiceName string
	// SDKDisabled is OTEL_SDK_DISABLED=true: no traces or metrics over OTLP, whatever the
	// endpoint; summary lines (BODYTRACE_SUMMARY=auto) take their place.
	SDKDisabled bool
	// Propagators is OTEL_PROPAGATORS: the trace context formats read from an invocation
	// (tracecontext, xray or xray-lambda; baggage is accepted and carries no parent). Nil
	// when unset: both tracecontext and xray, since Lambda passes its X-Ray header always.
	Propagators []string

	// RuntimeAPI is AWS_LAMBDA_RUNTIME_API: the host:port of Lambda's Runtime and
	// Extensions APIs, which the proxy forwards to.
	RuntimeAPI string
	// Function describes the function for the traces' resource: AWS_LAMBDA_FUNCTION_NAME,
	// AWS_LAMBDA_FUNCTION_VERSION, AWS_REGION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, and
	// ServiceName above.
	Function export.Function
	// Endpoints are the OTLP endpoints of the signals bodytrace sends (traces when OTLP,
	// metrics when OTLPMetrics), read from OTEL_EXPORTER_OTLP_* (otlp.FromEnv).
	Endpoints map[otlp.Signal]otlp.Endpoint
	// Capture says what of each event and result is sampled, redacted
	// (BODYTRACE_CAPTURE_*, capture.FromEnv).
	Capture capture.Config
	// HeadersSecretARN names the Secrets Manager secret or SSM parameter holding the OTLP
	// headers (BODYTRACE_OTLP_HEADERS_SECRET_ARN); empty when there is none.
	HeadersSecretARN string

	// Problems lists each invalid setting, named with its accepted values, for the log.
	Problems []string
}

// Defaults for every setting.
const (
	DefaultProxyPort     = ready.DefaultProxyPort
	DefaultStepsPort     = ready.DefaultStepsPort
	DefaultFlushTimeout  = time.Second
	DefaultTelemetryWait = 150 * time.Millisecond
	DefaultResponseGrace = 500 * time.Millisecond
	DefaultLateWriteWait = 500 * time.Millisecond
)

// Load reads the configuration through getenv (os.Getenv in production).
func Load(getenv func(string) string) Config {
	c := Config{
		FlushTimeout:  DefaultFlushTimeout,
		TelemetryWait: DefaultTelemetryWait,
		ResponseGrace: DefaultResponseGrace,
		LateWriteWait: DefaultLateWriteWait,
		LogLevel:      "info",
		SampleHealthy: 1,
		Protocol:      "http/protobuf",
	}
	r := reader{getenv: getenv, c: &c}
	c.ProxyAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port(ready.ProxyPortEnv, DefaultProxyPort)))
	c.StepsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port(ready.StepsPortEnv, DefaultStepsPort)))
	if p := r.port("BODYTRACE_TELEMETRY_PORT", 0); p != 0 {
		c.TelemetryAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	traces, all := r.endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), r.endpoint("OTEL_EXPORTER_OTLP_ENDPOINT")
	c.OTLP = traces || all
	proto := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	name := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	if proto == "" {
		proto, name = getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "OTEL_EXPORTER_OTLP_PROTOCOL"
	}
	c.Protocol = r.oneOf(name, proto, c.Protocol, "grpc", "http/protobuf", "http/json")
	// OTEL_SDK_DISABLED: only "true" disables, any other value is false (SDK environment spec).
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		c.SDKDisabled, c.OTLP = true, false
	}
	c.Propagators = r.propagators(getenv("OTEL_PROPAGATORS"))
	switch r.oneOf("BODYTRACE_SUMMARY", getenv("BODYTRACE_SUMMARY"), "auto", "auto", "on", "off") {
	case "on":
		c.Summary = true
	case "auto":
		c.Summary = !c.OTLP
	}
	c.Flush = r.flush("BODYTRACE_FLUSH")
	c.FlushTimeout = r.duration("BODYTRACE_FLUSH_TIMEOUT", c.FlushTimeout, time.Millisecond, 30*time.Second)
	c.TelemetryWait = r.duration("BODYTRACE_TELEMETRY_WAIT", c.TelemetryWait, 0, 10*time.Second)
	c.LateWriteWait = r.duration("BODYTRACE_LATE_WRITE_WAIT", c.LateWriteWait, 0, 10*time.Second)
	// OTEL_TRACES_SAMPLER applies to healthy invocations only: a lost body is always kept.
	sampler := r.oneOf("OTEL_TRACES_SAMPLER", getenv("OTEL_TRACES_SAMPLER"), "always_on",
		"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio")
	c.ParentBased = strings.HasPrefix(sampler, "parentbased_")
	switch strings.TrimPrefix(sampler, "parentbased_") {
	case "always_off":
		c.SampleHealthy = 0
	case "traceidratio":
		c.SampleHealthy = r.ratio("OTEL_TRACES_SAMPLER_ARG", 1)
	}
	c.SampleHealthy = r.ratio("BODYTRACE_SAMPLE_HEALTHY", c.SampleHealthy)
	switch r.oneOf("BODYTRACE_METRICS", getenv("BODYTRACE_METRICS"), "auto", "auto", "emf", "otlp", "on", "off") {
	case "on":
		c.Metrics, c.OTLPMetrics = true, c.OTLP
	case "emf":
		c.Metrics = true
	case "otlp":
		c.OTLPMetrics = c.OTLP
	case "auto":
		c.Metrics, c.OTLPMetrics = !c.OTLP, c.OTLP
	}
	c.LogLevel = r.oneOf("BODYTRACE_LOG_LEVEL", getenv("BODYTRACE_LOG_LEVEL"), c.LogLevel, "debug", "info", "warn", "error")
	c.ServiceName = getenv("OTEL_SERVICE_NAME")
	if c.ServiceName == "" {
		c.ServiceName = getenv("AWS_LAMBDA_FUNCTION_NAME")
	}
	c.RuntimeAPI = getenv("AWS_LAMBDA_RUNTIME_API")
	c.Function = export.Function{
		Name:        getenv("AWS_LAMBDA_FUNCTION_NAME"),
		Version:     getenv("AWS_LAMBDA_FUNCTION_VERSION"),
		Region:      getenv("AWS_REGION"),
		ServiceName: c.ServiceName,
	}
	// Lambda always sets the memory size; without it (a local run) the resource leaves it out.
	if mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil {
		c.Function.MemoryMB = mb
	}
	var sigs []otlp.Signal
	if c.OTLP {
		sigs = append(sigs, otlp.Traces)
	}
	if c.OTLPMetrics {
		sigs = append(sigs, otlp.Metrics)
	}
	var problems []string
	c.Endpoints, problems = otlp.FromEnv(getenv, c.Protocol, sigs...)
	c.Problems = append(c.Problems, problems...)
	c.Capture, problems = capture.FromEnv(getenv)
	c.Problems = append(c.Problems, problems...)
	if arn := strings.TrimSpace(getenv(secrets.EnvARN)); arn != "" {
		if _, err := secrets.ParseRef(arn); err != nil {
			r.problem("%v; exporting without the secret's headers", err)
		} else {
			c.HeadersSecretARN = arn
		}
	}
	return c
}

type reader struct {
	getenv func(string) string
	c      *Config
}

func (r reader) problem(format string, args ...any) {
	r.c.Problems = append(r.c.Problems, fmt.Sprintf(format, args...))
}

// endpoint reports whether name holds a usable OTLP endpoint: an http:// or https:// URL
// with a host. An invalid one is reported, and then traces go to summary lines instead.
func (r reader) endpoint(name string) bool {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return false
	}
	if _, ok := otlp.ParseEndpoint(v); !ok {
		r.problem("%s=%q is not an OTLP endpoint: use an http:// or https:// URL such as http://127.0.0.1:4318; writing summary lines to the log instead", name, v)
		return false
	}
	return true
}

// propagators reads OTEL_PROPAGATORS. Formats bodytrace cannot read from a Lambda
// invocation are reported and left out; "none" reads no parent at all.
func (r reader) propagators(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	out := []string{}
	for _, p := range strings.Split(v, ",") {
		switch p = strings.ToLower(strings.TrimSpace(p)); p {
		case "tracecontext", "xray", "xray-lambda", "baggage":
			out = append(out, p)
		case "none", "":
		default:
			r.problem("OTEL_PROPAGATORS=%q names %q, which bodytrace does not read: use tracecontext, xray, xray-lambda (baggage and none are accepted too); using the others", v, p)
		}
	}
	return out
}

func (r reader) flush(name string) export.Flush {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return export.DefaultFlush
	}
	f, ok := export.ParseFlush(v)
	if !ok {
		r.problem("%s=%q is not valid: use verdict (lost and unknown bodies' traces before the next event, healthy ones in the background) or end (every trace before the next event); using %s", name, v, export.DefaultFlush)
		return export.DefaultFlush
	}
	return f
}

func (r reader) ratio(name string, def float64) float64 {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 || f != f {
		r.problem("%s=%q is not valid: use a number from 0 to 1 such as 0.1 (the share of healthy invocations traced); using %v", name, v, def)
		return def
	}
	return f
}

func (r reader) port(name string, def int) int {
	n, err := ready.Port(r.getenv, name, def)
	if err != nil {
		r.problem("%v", err)
	}
	return n
}

func (r reader) oneOf(name, v, def string, accepted ...string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return def
	}
	for _, a := range accepted {
		if v == a {
			return v
		}
	}
	r.problem("%s=%q is not valid: use one of %s; using %q", name, v, strings.Join(accepted, ", "), def)
	return def
}

func (r reader) duration(name string, def, min, max time.Duration) time.Duration {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		// A bare number is read as milliseconds, the unit Lambda's own settings use.
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Millisecond, nil
		}
	}
	if err != nil || d < min || d > max {
		r.problem("%s=%q is not valid: use a duration from %v to %v such as 250ms or 2s; using %v", name, v, min, max, def)
		return def
	}
	return d
}
