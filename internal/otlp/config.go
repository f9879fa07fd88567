package otlp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Signal names what is sent: it picks the OTEL_EXPORTER_OTLP_<SIGNAL>_* variables and the
// collector's path.
type Signal string

// The signals bodytrace sends.
const (
	Traces  Signal = "traces"
	Metrics Signal = "metrics"
)

// Protocols.
const (
	HTTPProtobuf = "http/protobuf"
	HTTPJSON     = "http/json"
	GRPC         = "grpc"
)

// Endpoint is where and how one signal is sent.
type Endpoint struct {
	// Protocol is HTTPProtobuf, HTTPJSON or GRPC.
	Protocol string
	// URL is the full URL posted to: the collector's /v1/<signal> path over HTTP, the
	// Export method's path over gRPC.
	URL string
	// Headers are sent with every request (API keys: never logged).
	Headers map[string]string
	// Timeout bounds one request; a flush's own bound may cut it shorter.
	Timeout time.Duration
	// Gzip compresses request bodies.
	Gzip bool
	// TLS is the client's TLS configuration for https endpoints; nil uses the system roots.
	TLS *tls.Config
}

// DefaultTimeout is OTEL_EXPORTER_OTLP_TIMEOUT's default.
const DefaultTimeout = 10 * time.Second

// FromEnv resolves the endpoints of sigs from the OTEL_EXPORTER_OTLP_* variables as the
// OTLP exporter specification reads them: each signal's own variable first, then the
// general one. protocol is HTTPProtobuf or GRPC, as the configuration read it (it reports
// an invalid one). The map holds the signals with a usable endpoint. Invalid values are
// reported in problems, each naming the variable and what it accepts, once even when a
// general variable serves several signals, and replaced by their defaults.
func FromEnv(getenv func(string) string, protocol string, sigs ...Signal) (map[Signal]Endpoint, []string) {
	eps := map[Signal]Endpoint{}
	var problems []string
	seen := map[string]bool{}
	for _, sig := range sigs {
		ep, ok, ps := fromEnv(getenv, protocol, sig)
		if ok {
			eps[sig] = ep
		}
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				problems = append(problems, p)
			}
		}
	}
	return eps, problems
}

func fromEnv(getenv func(string) string, protocol string, sig Signal) (ep Endpoint, ok bool, problems []string) {
	r := envReader{getenv: getenv, prefix: "OTEL_EXPORTER_OTLP_" + strings.ToUpper(string(sig)) + "_"}
	ep.Protocol = HTTPProtobuf
	switch {
	case protocol == GRPC:
		ep.Protocol = GRPC
	case protocol == HTTPJSON && sig == Traces:
		// Metrics stay protobuf: bodytrace encodes no JSON metrics, and every OTLP/HTTP
		// receiver must accept protobuf, while JSON is optional for it.
		ep.Protocol = HTTPJSON
	}
	ep.URL, ok = r.endpoint(sig, ep.Protocol)
	ep.Headers = r.headers()
	ep.Timeout = DefaultTimeout
	if name, v := r.lookup("TIMEOUT"); v != "" {
		if ms, err := strconv.Atoi(v); err == nil && ms > 0 {
			ep.Timeout = time.Duration(ms) * time.Millisecond
		} else {
			r.problem("%s=%q is not a timeout: use a whole number of milliseconds above 0 such as 10000; using 10000", name, v)
		}
	}
	if name, v := r.lookup("COMPRESSION"); v != "" {
		switch v {
		case "gzip":
			ep.Gzip = true
		case "none":
		default:
			r.problem("%s=%q is not a compression: use gzip or none; sending uncompressed", name, v)
		}
	}
	ep.TLS = r.tls()
	return ep, ok, r.problems
}

type envReader struct {
	getenv   func(string) string
	prefix   string // OTEL_EXPORTER_OTLP_TRACES_
	problems []string
}

func (r *envReader) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// lookup returns the signal's variable when set, else the general one, with its name.
func (r *envReader) lookup(key string) (name, value string) {
	name = r.prefix + key
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return name, v
	}
	name = "OTEL_EXPORTER_OTLP_" + key
	return name, strings.TrimSpace(r.getenv(name))
}

// endpoint builds the URL posted to. The signal's endpoint is used as given over HTTP; the
// general one gets /v1/<signal> appended. gRPC uses only the scheme and host.
func (r *envReader) endpoint(sig Signal, protocol string) (string, bool) {
	for _, general := range []bool{false, true} {
		name := r.prefix + "ENDPOINT"
		if general {
			name = "OTEL_EXPORTER_OTLP_ENDPOINT"
		}
		v := strings.TrimSpace(r.getenv(name))
		if v == "" {
			continue
		}
		u, ok := ParseEndpoint(v)
		if !ok {
			continue // reported by the configuration, which then writes summary lines
		}
		switch {
		case protocol == GRPC:
			u.Path, u.RawPath = grpcPath(sig), ""
		case general:
			u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/")+"/v1/"+string(sig), ""
		}
		return u.String(), true
	}
	return "", false
}

// ParseEndpoint parses an OTLP endpoint: an http:// or https:// URL with a host.
func ParseEndpoint(v string) (*url.URL, bool) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return u, true
}

func grpcPath(sig Signal) string {
	if sig == Metrics {
		return "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
	}
	return "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
}

// headers merges the general headers with the signal's, which win.
func (r *envReader) headers() map[string]string {
	h := map[string]string{}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", r.prefix + "HEADERS"} {
		parsed, problems := ParseHeaders(name, r.getenv(name))
		r.problems = append(r.problems, problems...)
		for k, v := range parsed {
			h[k] = v
		}
	}
	return h
}

// ParseHeaders reads headers in the OTEL_EXPORTER_OTLP_HEADERS format, the W3C Baggage one:
// key=value pairs separated by commas, values percent-encoded. Entries that are not are
// skipped and reported in problems, which name where (source) but never a value.
func ParseHeaders(source, v string) (map[string]string, []string) {
	h := map[string]string{}
	var problems []string
	for pair := range strings.SplitSeq(v, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, val, found := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		dec, err := url.PathUnescape(strings.TrimSpace(val))
		switch {
		case !found || k == "":
			// The entry may be a bare secret: say where, never what.
			problems = append(problems, source+" has an entry that is not key=value: use key1=value1,key2=value2 with values percent-encoded; entry ignored")
			continue
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: the value of %q is not percent-encoded correctly; entry ignored", source, k))
			continue
		}
		h[k] = dec
	}
	return h, problems
}

// tls builds the client TLS configuration from the certificate variables; nil when none is set.
func (r *envReader) tls() *tls.Config {
	caName, ca := r.lookup("CERTIFICATE")
	certName, cert := r.lookup("CLIENT_CERTIFICATE")
	keyName, key := r.lookup("CLIENT_KEY")
	if ca == "" && cert == "" && key == "" {
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		pool := x509.NewCertPool()
		if err == nil && !pool.AppendCertsFromPEM(pem) {
			err = errors.New("no certificate found")
		}
		if err != nil {
			r.problem("%s=%q: cannot read PEM certificates from it (%v); using the system's roots", caName, ca, err)
		} else {
			cfg.RootCAs = pool
		}
	}
	if cert != "" || key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			r.problem("%s=%q and %s=%q: cannot load the client certificate and key (%v); connecting without a client certificate", certName, cert, keyName, key, err)
		} else {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	return cfg
}
