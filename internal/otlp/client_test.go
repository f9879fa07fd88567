package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // the server side of grpc-encoding: gzip
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      map[string]string
		protocol string // as the configuration read it; HTTPProtobuf when empty
		sig      Signal
		also     Signal // another signal resolved in the same call, when set
		url      string
		ok       bool
		headers  map[string]string
		timeout  time.Duration
		gzip     bool
		problems []string // substrings, one per expected problem
	}{
		{name: "none", env: map[string]string{}, sig: Traces, ok: false}, // no endpoint at all
		{name: "general gets the signal path", sig: Traces, ok: true, timeout: DefaultTimeout,
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/"}, url: "http://127.0.0.1:4318/v1/traces"},
		{name: "general with a base path, metrics", sig: Metrics, ok: true, timeout: DefaultTimeout,
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://api.example.com/otlp"}, url: "https://api.example.com/otlp/v1/metrics"},
		{name: "signal endpoint as given", sig: Traces, ok: true, timeout: DefaultTimeout,
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:2/custom"}, url: "http://b:2/custom"},
		{name: "invalid signal endpoint falls back to the general one", sig: Traces, ok: true, timeout: DefaultTimeout,
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "b:2"}, url: "http://a:1/v1/traces"},
		{name: "grpc takes host and scheme", sig: Traces, protocol: GRPC, ok: true, timeout: DefaultTimeout,
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317/ignored"},
			url: "http://127.0.0.1:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export"},
		{name: "headers, signal wins, values decoded", sig: Traces, ok: true, timeout: 250 * time.Millisecond, gzip: true,
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1",
				"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=general, team = a%20b ", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-api-key=traces",
				"OTEL_EXPORTER_OTLP_TIMEOUT": "250", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip"},
			url: "http://a:1/v1/traces", headers: map[string]string{"x-api-key": "traces", "team": "a b"}},
		// Both signals read the general variables: each problem is reported once. (An invalid
		// protocol is the configuration's to report: internal/config.)
		{name: "invalid values named with their fix, once", sig: Traces, also: Metrics, ok: true, timeout: DefaultTimeout,
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1",
				"OTEL_EXPORTER_OTLP_HEADERS": "secretvalue", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s",
				"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd", "OTEL_EXPORTER_OTLP_CERTIFICATE": "/nonexistent/ca.pem"},
			url: "http://a:1/v1/traces", headers: map[string]string{},
			problems: []string{"OTEL_EXPORTER_OTLP_HEADERS has an entry that is not key=value",
				`OTEL_EXPORTER_OTLP_TIMEOUT="10s"`, `OTEL_EXPORTER_OTLP_COMPRESSION="zstd"`, `OTEL_EXPORTER_OTLP_CERTIFICATE="/nonexistent/ca.pem"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sigs := []Signal{tc.sig}
			if tc.also != "" {
				sigs = append(sigs, tc.also)
			}
			eps, problems := FromEnv(env(tc.env), tc.protocol, sigs...)
			ep, ok := eps[tc.sig]
			if ok != tc.ok || ep.URL != tc.url || ep.Timeout != tc.timeout || ep.Gzip != tc.gzip {
				t.Fatalf("got ok=%v url=%q timeout=%v gzip=%v, want %v %q %v %v", ok, ep.URL, ep.Timeout, ep.Gzip, tc.ok, tc.url, tc.timeout, tc.gzip)
			}
			if tc.headers != nil && !equalMaps(ep.Headers, tc.headers) {
				t.Fatalf("headers %v, want %v", ep.Headers, tc.headers)
			}
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d", problems, len(tc.problems))
			}
			for i, want := range tc.problems {
				if !strings.Contains(problems[i], want) {
					t.Errorf("problem %q does not name %s", problems[i], want)
				}
				if strings.Contains(problems[i], "secretvalue") {
					t.Errorf("problem %q shows a header's value", problems[i])
				}
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// collector is a stand-in OTLP/HTTP collector: it answers with the statuses given in turn
// and keeps the requests it decoded.
type collector struct {
	statuses []int
	calls    atomic.Int32
	got      chan *http.Request
	bodies   chan []byte
}

func newCollector(t *testing.T, statuses ...int) (*collector, *httptest.Server) {
	return newCollectorWith(t, nil, statuses...)
}

// newCollectorWith lets configure change the server before it starts.
func newCollectorWith(t *testing.T, configure func(*http.Server), statuses ...int) (*collector, *httptest.Server) {
	c := &collector{statuses: statuses, got: make(chan *http.Request, 16), bodies: make(chan []byte, 16)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(c.calls.Add(1)) - 1
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		c.got <- r
		c.bodies <- b
		code := http.StatusOK
		if n < len(c.statuses) {
			code = c.statuses[n]
		}
		switch code {
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "5")
		case http.StatusBadRequest:
			// google.rpc.Status{code: 3, message: "bad span"}
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(code)
			_, _ = w.Write(appendString(appendUint(nil, 1, 3), 2, "bad span"))
			return
		case http.StatusAccepted:
			// ExportTraceServiceResponse{partial_success{rejected_spans: 2}}
			w.WriteHeader(code)
			_, _ = w.Write(appendMessage(nil, 1, func(b []byte) []byte { return appendUint(b, 1, 2) }))
			return
		}
		w.WriteHeader(code)
	}))
	if configure != nil {
		configure(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return c, srv
}

func TestHTTPSend(t *testing.T) {
	spans := testSpans()
	msg := AppendTraces(nil, spans)
	t.Run("retries 503 then succeeds, gzip and headers sent", func(t *testing.T) {
		c, srv := newCollector(t, 503, 503)
		ep := Endpoint{Protocol: HTTPProtobuf, URL: srv.URL + "/v1/traces", Timeout: time.Second, Gzip: true, Headers: map[string]string{"x-api-key": "k"}}
		if _, err := NewClient(ep, 500*time.Millisecond).Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		if n := c.calls.Load(); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
		var last *http.Request
		var body []byte
		for range 3 {
			last, body = <-c.got, <-c.bodies
		}
		if last.Header.Get("x-api-key") != "k" || last.Header.Get("Content-Type") != "application/x-protobuf" || last.URL.Path != "/v1/traces" {
			t.Fatalf("request headers %v path %s", last.Header, last.URL.Path)
		}
		req := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil || len(req.ResourceSpans) != 2 {
			t.Fatalf("collector decoded %v, err %v", req, err)
		}
	})
	t.Run("Retry-After beyond the budget gives up at once", func(t *testing.T) {
		c, srv := newCollector(t, 429)
		start := time.Now()
		_, err := NewClient(Endpoint{Protocol: HTTPProtobuf, URL: srv.URL, Timeout: time.Second}, 200*time.Millisecond).Send(context.Background(), msg)
		if err == nil || !strings.Contains(err.Error(), "HTTP 429") || c.calls.Load() != 1 {
			t.Fatalf("err %v after %d calls", err, c.calls.Load())
		}
		if time.Since(start) > 150*time.Millisecond {
			t.Fatalf("waited %v for a Retry-After it could not honour", time.Since(start))
		}
	})
	t.Run("400 is not retried and its message is shown", func(t *testing.T) {
		c, srv := newCollector(t, 400)
		_, err := NewClient(Endpoint{Protocol: HTTPProtobuf, URL: srv.URL, Timeout: time.Second}, time.Second).Send(context.Background(), msg)
		if err == nil || !strings.Contains(err.Error(), "HTTP 400: bad span") || c.calls.Load() != 1 {
			t.Fatalf("err %v after %d calls", err, c.calls.Load())
		}
	})
	t.Run("partial success is an error counting the rejected", func(t *testing.T) {
		_, srv := newCollector(t, 202)
		err := NewSpanExporter(NewClient(Endpoint{Protocol: HTTPProtobuf, URL: srv.URL, Timeout: time.Second}, 0)).ExportSpans(context.Background(), spans)
		var rej *RejectedError
		if !errors.As(err, &rej) || rej.Rejected != 2 {
			t.Fatalf("err %v, want 2 rejected", err)
		}
	})
	t.Run("refused connection is retried until the budget and the error names the endpoint", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		_, err := NewClient(Endpoint{Protocol: HTTPProtobuf, URL: "http://user:pw@" + addr + "/v1/traces?k=secret", Timeout: time.Second}, 50*time.Millisecond).Send(context.Background(), msg)
		if err == nil || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "pw") {
			t.Fatalf("err %v", err)
		}
	})
}

// traceService is a real gRPC OTLP collector (google.golang.org/grpc), answering with the
// codes given in turn.
type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	codes []codes.Code
	calls atomic.Int32
	got   chan *coltracepb.ExportTraceServiceRequest
	md    chan metadata.MD
}

func (s *traceService) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	n := int(s.calls.Add(1)) - 1
	md, _ := metadata.FromIncomingContext(ctx)
	s.md <- md
	s.got <- req
	if n < len(s.codes) && s.codes[n] != codes.OK {
		return nil, status.Error(s.codes[n], "collector says no")
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func startGRPC(t *testing.T, cs ...codes.Code) (*traceService, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := &traceService{codes: cs, got: make(chan *coltracepb.ExportTraceServiceRequest, 16), md: make(chan metadata.MD, 16)}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, svc)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return svc, "http://" + ln.Addr().String() + grpcPath(Traces)
}

func TestGRPCSend(t *testing.T) {
	spans := testSpans()
	for _, gz := range []bool{false, true} {
		t.Run("plain text HTTP/2, gzip "+map[bool]string{false: "off", true: "on"}[gz], func(t *testing.T) {
			svc, url := startGRPC(t, codes.Unavailable)
			ep := Endpoint{Protocol: GRPC, URL: url, Timeout: time.Second, Gzip: gz, Headers: map[string]string{"x-api-key": "k"}}
			if err := NewSpanExporter(NewClient(ep, 500*time.Millisecond)).ExportSpans(context.Background(), spans); err != nil {
				t.Fatal(err)
			}
			if n := svc.calls.Load(); n != 2 {
				t.Fatalf("%d calls, want 2 (UNAVAILABLE is retried)", n)
			}
			<-svc.got
			<-svc.md
			req, md := <-svc.got, <-svc.md
			if !proto.Equal(req, mustDecode(t, AppendTraces(nil, spans))) {
				t.Fatalf("the collector got a different request")
			}
			if got := md.Get("x-api-key"); len(got) != 1 || got[0] != "k" {
				t.Fatalf("metadata %v", md)
			}
		})
	}
	t.Run("INVALID_ARGUMENT is not retried and its message is shown", func(t *testing.T) {
		svc, url := startGRPC(t, codes.InvalidArgument)
		_, err := NewClient(Endpoint{Protocol: GRPC, URL: url, Timeout: time.Second}, time.Second).Send(context.Background(), AppendTraces(nil, spans))
		if err == nil || !strings.Contains(err.Error(), "status 3: collector says no") || svc.calls.Load() != 1 {
			t.Fatalf("err %v after %d calls", err, svc.calls.Load())
		}
	})
}

func mustDecode(t *testing.T, b []byte) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(b, req); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestWarmReusesTheConnection: Warm opens the connection the first export then uses.
func TestWarmReusesTheConnection(t *testing.T) {
	var conns atomic.Int32
	_, srv := newCollectorWith(t, func(s *http.Server) {
		s.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
	})
	c := NewClient(Endpoint{Protocol: HTTPProtobuf, URL: srv.URL, Timeout: time.Second}, 0)
	c.Warm(context.Background())
	if _, err := c.Send(context.Background(), bytes.Repeat([]byte{0x0a, 0}, 3)); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want the warm one reused", n)
	}
}

// TestUntrustedCertificateNotRetriedNow: a certificate the client does not trust fails the
// Send after one connection, not after a retry per backoff step (each a TLS handshake and
// part of the flush bound), and the failure is still retryable later.
func TestUntrustedCertificateNotRetriedNow(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	_, err := NewClient(Endpoint{Protocol: HTTPProtobuf, URL: srv.URL, Timeout: time.Second}, time.Second).Send(context.Background(), []byte{1})
	if err == nil || !strings.Contains(err.Error(), "certificate") || !Retryable(err) {
		t.Fatalf("Send = %v, want a retryable certificate error", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for one Send, want 1", n)
	}
}

// TestHoldWaitsForHeaders: while held, a request waits (within its bound) for the headers,
// and goes out with them once released; a request whose bound ends first fails unsent.
func TestHoldWaitsForHeaders(t *testing.T) {
	col, srv := newCollector(t)
	c := NewClient(Endpoint{Protocol: HTTPProtobuf, URL: srv.URL, Timeout: 10 * time.Second}, 0)
	release := c.Hold()

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Send(short, []byte{}); err == nil || !strings.Contains(err.Error(), "waiting for the OTLP headers") {
		t.Errorf("Send while held past its bound = %v, want the wait named", err)
	}
	if n := col.calls.Load(); n != 0 {
		t.Fatalf("%d requests reached the collector while held", n)
	}

	sent := make(chan error, 1)
	go func() {
		_, err := c.Send(context.Background(), []byte{})
		sent <- err
	}()
	c.AddHeaders(map[string]string{"x-api-key": "k"})
	release()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send still waiting after release")
	}
	if r := <-col.got; r.Header.Get("x-api-key") != "k" {
		t.Errorf("request headers %v, want the added API key", r.Header)
	}
}
