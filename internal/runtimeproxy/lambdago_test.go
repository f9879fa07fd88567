package runtimeproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRuntimeAPI hands out one event, then holds further /next polls until the test ends,
// and records what the runtime posts. It stands in for Lambda's Runtime API.
type fakeRuntimeAPI struct {
	event    []byte
	mu       sync.Mutex
	served   bool
	posted   chan *postedResult
	stop     chan struct{}
	nextHdrs http.Header
}

type postedResult struct {
	path    string
	header  http.Header
	body    []byte
	trailer http.Header
}

func (f *fakeRuntimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/invocation/next") {
		f.mu.Lock()
		first := !f.served
		f.served = true
		f.mu.Unlock()
		if !first {
			<-f.stop
			return
		}
		for k, v := range f.nextHdrs {
			w.Header()[k] = v
		}
		_, _ = w.Write(f.event)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.posted <- &postedResult{path: r.URL.Path, header: r.Header.Clone(), body: body, trailer: r.Trailer.Clone()}
	w.WriteHeader(http.StatusAccepted)
}

// TestAWSLambdaGoThroughProxy runs a real aws-lambda-go function against the proxy. A
// peer's proxy sent two Content-Length headers on /next and aws-lambda-go refused every
// invoke; here the function must take the event and its result must arrive intact.
func TestAWSLambdaGoThroughProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	bin := filepath.Join(t.TempDir(), "lambdago")
	build := exec.Command("go", "build", "-o", bin, "./testdata/lambdago")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	urlEvent, err := os.ReadFile("testdata/apigw-v2-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	_ = json.Unmarshal(urlEvent, &ev)
	ev["rawQueryString"] = "bytes=70000"
	ev["queryStringParameters"] = map[string]string{"bytes": "70000"}
	streamEvent, _ := json.Marshal(ev)

	cases := []struct {
		handler string
		event   []byte
		check   func(t *testing.T, p *postedResult)
	}{
		{"echo", []byte(`{"hello":"world"}`), func(t *testing.T, p *postedResult) {
			if string(p.body) != `{"eventBytes":17,"ok":true}` {
				t.Errorf("result %q", p.body)
			}
		}},
		{"stream", streamEvent, func(t *testing.T, p *postedResult) {
			// aws-lambda-go streams without the response-mode header; its Content-Type says
			// the body starts with a function-URL prelude.
			if ct := p.header.Get("Content-Type"); ct != "application/vnd.awslambda.http-integration-response" {
				t.Errorf("Content-Type %q", ct)
			}
			i := bytes.Index(p.body, make([]byte, 8))
			if i < 0 || len(p.body)-i-8 != 70000 {
				t.Errorf("streamed body: prelude end %d, %d bytes in all; want 70000 after the prelude", i, len(p.body))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.handler, func(t *testing.T) {
			fake := &fakeRuntimeAPI{event: c.event, posted: make(chan *postedResult, 1), stop: make(chan struct{}),
				nextHdrs: http.Header{
					"Content-Type":                        {"application/json"},
					"Lambda-Runtime-Aws-Request-Id":       {"req-1"},
					"Lambda-Runtime-Deadline-Ms":          {"4102444800000"},
					"Lambda-Runtime-Invoked-Function-Arn": {"arn:aws:lambda:us-east-1:123456789012:function:f"},
					"Lambda-Runtime-Trace-Id":             {"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
				}}
			upstream := httptest.NewServer(fake)
			defer upstream.Close()
			defer close(fake.stop)
			obs := newRecorder()
			srv, err := Listen("127.0.0.1:0", New(Config{Upstream: strings.TrimPrefix(upstream.URL, "http://")}, obs))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close(context.Background())

			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+srv.Addr(), "_HANDLER="+c.handler)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			select {
			case p := <-fake.posted:
				if p.path != "/2018-06-01/runtime/invocation/req-1/response" {
					t.Fatalf("the function posted to %s (output: %s)", p.path, out.String())
				}
				c.check(t, p)
				if n := obs.next(t); n.RequestID != "req-1" || n.Size != int64(len(c.event)) {
					t.Errorf("observer saw /next for %q with %d bytes, want req-1 with %d", n.RequestID, n.Size, len(c.event))
				}
				if r := obs.response(t); r.Size != int64(len(p.body)) || !bytes.Equal(r.Head, p.body[:min(len(p.body), len(r.Head))]) {
					t.Errorf("observer saw %d bytes, the Runtime API got %d", r.Size, len(p.body))
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("the function never answered through the proxy; its output:\n%s", out.String())
			}
		})
	}
}
