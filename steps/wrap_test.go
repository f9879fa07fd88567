package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/bodytrace/bodytrace/steps/line"
)

// stepSink stands in for the extension's step-line port: it binds a UDP socket and
// advertises it in BODYTRACE_STEPS_ADDR.
type stepSink struct {
	conn net.PacketConn
}

func newSink(t testing.TB) *stepSink {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv(stepsAddrEnv, c.LocalAddr().String())
	os.Unsetenv(stepsStdoutEnv)
	return &stepSink{conn: c}
}

// lines reads n datagrams, then checks that no more arrive shortly after.
func (s *stepSink) lines(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	buf := make([]byte, line.MaxLine+1)
	for len(out) < n {
		_ = s.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		k, _, err := s.conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("got %d of %d step lines: %v (%q)", len(out), n, err, out)
		}
		out = append(out, string(buf[:k]))
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if k, _, err := s.conn.ReadFrom(buf); err == nil {
		t.Errorf("an unexpected extra step line: %s", buf[:k])
	}
	return out
}

func invokeCtx(rid string) context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: rid})
}

// result returns a handler returning v.
func result[T any](v T, err error) func(context.Context, json.RawMessage) (T, error) {
	return func(context.Context, json.RawMessage) (T, error) { return v, err }
}

// one wraps a single handler, calls it once and returns the one line it sent.
func one[T any](t *testing.T, s *stepSink, h func(context.Context, json.RawMessage) (T, error)) []string {
	t.Helper()
	w := Wrap("handler", h)
	if _, err := w(invokeCtx("rid-1"), nil); err != nil && !strings.Contains(err.Error(), "boom") {
		t.Fatal(err)
	}
	return s.lines(t, 1)
}

func TestWrapResultShapes(t *testing.T) {
	const pre = `@bodytrace/step {"v":1,"rid":"rid-1","seq":0,"stage":"handler",`
	tests := []struct {
		name string
		run  func(*testing.T, *stepSink) []string
		want string // the line after pre; "" means no line
	}{
		{"api gateway v2", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello"}, nil))
		}, `"phase":"out","bytes":5,"kind":"http","status":200,"enc":"identity"}`},
		{"api gateway v2 pointer, base64", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(&events.APIGatewayV2HTTPResponse{StatusCode: 201, Body: "aGVsbG8gd29ybGQ=", IsBase64Encoded: true}, nil))
		}, `"phase":"out","bytes":11,"kind":"http","status":201,"enc":"identity"}`},
		{"api gateway v2, gzip body", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"content-encoding": "gzip"}, Body: "H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==", IsBase64Encoded: true}, nil))
		}, `"phase":"out","bytes":25,"kind":"http","status":200,"enc":"gzip"}`},
		{"api gateway v1, br in multi-value headers", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(events.APIGatewayProxyResponse{StatusCode: 200, MultiValueHeaders: map[string][]string{"Content-Encoding": {"br"}}, Body: "CwGAaGVsbG8D", IsBase64Encoded: true}, nil))
		}, `"phase":"out","bytes":9,"kind":"http","status":200,"enc":"br"}`},
		{"api gateway v1", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(events.APIGatewayProxyResponse{StatusCode: 404, Body: "nope"}, nil))
		}, `"phase":"out","bytes":4,"kind":"http","status":404,"enc":"identity"}`},
		{"api gateway v1 pointer, empty", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(&events.APIGatewayProxyResponse{StatusCode: 200}, nil))
		}, `"phase":"out","bytes":0,"kind":"http","status":200,"enc":"identity"}`},
		{"function url", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(events.LambdaFunctionURLResponse{StatusCode: 200, Body: "AAEC", IsBase64Encoded: true}, nil))
		}, `"phase":"out","bytes":3,"kind":"http","status":200,"enc":"identity"}`},
		{"function url pointer", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(&events.LambdaFunctionURLResponse{StatusCode: 304}, nil))
		}, `"phase":"out","bytes":0,"kind":"http","status":304,"enc":"identity"}`},
		{"alb", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(events.ALBTargetGroupResponse{StatusCode: 200, Body: "abc"}, nil))
		}, `"phase":"out","bytes":3,"kind":"http","status":200,"enc":"identity"}`},
		{"alb pointer, base64 that does not decode", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(&events.ALBTargetGroupResponse{StatusCode: 200, Body: "not base64!", IsBase64Encoded: true}, nil))
		}, `"phase":"out","bytes":11,"kind":"http","status":200,"enc":"identity"}`},
		{"interface holding an HTTP result", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result[any](events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "xy"}, nil))
		}, `"phase":"out","bytes":2,"kind":"http","status":200,"enc":"identity"}`},
		{"json object", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(map[string]string{"a": "<b>"}, nil)) // {"a":"<b>"}, not HTML-escaped; aws-lambda-go drops the encoder's newline
		}, `"phase":"out","bytes":11,"kind":"json"}`},
		{"json string", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result("abc", nil))
		}, `"phase":"out","bytes":5,"kind":"json"}`},
		{"nil pointer", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result[*events.APIGatewayV2HTTPResponse](nil, nil))
		}, `"phase":"out","bytes":0,"kind":"undefined"}`},
		{"nil interface", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result[any](nil, nil))
		}, `"phase":"out","bytes":0,"kind":"undefined"}`},
		{"error", func(t *testing.T, s *stepSink) []string {
			return one(t, s, result(events.APIGatewayV2HTTPResponse{}, errors.New("boom")))
		}, `"phase":"error","bytes":0,"note":"error *errors.errorString"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t)
			got := tt.run(t, s)
			if want := pre + tt.want; got[0] != want {
				t.Errorf("got  %s\nwant %s", got[0], want)
			}
			if _, err := line.Parse([]byte(got[0])); err != nil {
				t.Errorf("the extension's parser rejects the line: %v", err)
			}
		})
	}
}

func TestWrapRawReaderNotReported(t *testing.T) {
	s := newSink(t)
	// aws-lambda-go sends a reader that encodes to {} as raw bytes.
	w := Wrap("handler", result(strings.NewReader("raw"), nil))
	if _, err := w(invokeCtx("rid-1"), nil); err != nil {
		t.Fatal(err)
	}
	s.lines(t, 0)
}

// middleware is an aws-lambda-go middleware: it calls next and may change its result.
func middleware(change func(events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse, next func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error)) func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		r, err := next(ctx, ev)
		return change(r), err
	}
}

func TestWrapLayers(t *testing.T) {
	s := newSink(t)
	pass := func(r events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse { return r }
	drop := func(r events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse { r.Body = ""; return r }

	h := Wrap("handler", result(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: strings.Repeat("x", 1024)}, nil))
	h = Wrap("auth", middleware(pass, h))
	h = Wrap("dropper", middleware(drop, h))
	for _, rid := range []string{"rid-1", "rid-2"} {
		if _, err := h(invokeCtx(rid), nil); err != nil {
			t.Fatal(err)
		}
		got := s.lines(t, 3)
		want := []string{
			`@bodytrace/step {"v":1,"rid":"` + rid + `","seq":0,"stage":"handler","phase":"out","bytes":1024,"kind":"http","status":200,"enc":"identity"}`,
			`@bodytrace/step {"v":1,"rid":"` + rid + `","seq":1,"stage":"middleware:auth","phase":"out","bytes":1024,"kind":"http","status":200,"enc":"identity"}`,
			`@bodytrace/step {"v":1,"rid":"` + rid + `","seq":2,"stage":"middleware:dropper","phase":"out","bytes":0,"kind":"http","status":200,"enc":"identity"}`,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestWrapShortCircuit: a middleware that answers without calling the handler is the
// innermost layer that returned, so it reports the handler stage, naming itself.
func TestWrapShortCircuit(t *testing.T) {
	s := newSink(t)
	inner := Wrap("handler", result(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "never"}, nil))
	deny := func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		_ = inner // not called
		return events.APIGatewayV2HTTPResponse{StatusCode: 401, Body: "no"}, nil
	}
	h := Wrap("auth", deny)
	if _, err := h(invokeCtx("rid-1"), nil); err != nil {
		t.Fatal(err)
	}
	want := `@bodytrace/step {"v":1,"rid":"rid-1","seq":0,"stage":"handler","phase":"out","bytes":2,"kind":"http","status":401,"who":"auth","enc":"identity"}`
	if got := s.lines(t, 1); got[0] != want {
		t.Errorf("got  %s\nwant %s", got[0], want)
	}
}

func TestWrapWithoutRequestID(t *testing.T) {
	s := newSink(t)
	h := Wrap("handler", result("x", nil))
	if _, err := h(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	s.lines(t, 0)
}

// handlerValue is a comparable http.Handler.
type handlerValue struct{}

func (*handlerValue) ServeHTTP(http.ResponseWriter, *http.Request) {}

func TestAbsentReturnsHandlerItself(t *testing.T) {
	os.Unsetenv(stepsAddrEnv)
	t.Setenv(stepsStdoutEnv, "")
	h := result("x", nil)
	if got := Wrap("handler", h); reflect.ValueOf(got).Pointer() != reflect.ValueOf(h).Pointer() {
		t.Error("Wrap did not return the handler itself with bodytrace absent")
	}
	hh := &handlerValue{}
	if got := WrapHTTP("handler", hh); got != http.Handler(hh) {
		t.Error("WrapHTTP did not return the handler itself with bodytrace absent")
	}
	t.Setenv(stepsAddrEnv, "127.0.0.1:9141")
	if got := Wrap("handler", h); reflect.ValueOf(got).Pointer() == reflect.ValueOf(h).Pointer() {
		t.Error("Wrap returned the handler unwrapped with a step address set")
	}
}

func TestWrapStdout(t *testing.T) {
	os.Unsetenv(stepsAddrEnv)
	t.Setenv(stepsStdoutEnv, "1")
	var buf bytes.Buffer
	saved := stdoutEmitter.out
	stdoutEmitter.out = &buf
	t.Cleanup(func() { stdoutEmitter.out = saved })

	h := Wrap("handler", result(events.LambdaFunctionURLResponse{StatusCode: 200, Body: "abc"}, nil))
	if _, err := h(invokeCtx("rid-1"), nil); err != nil {
		t.Fatal(err)
	}
	want := `@bodytrace/step {"v":1,"rid":"rid-1","seq":0,"stage":"handler","phase":"out","bytes":3,"kind":"http","status":200,"enc":"identity"}` + "\n"
	if buf.String() != want {
		t.Errorf("stdout got %q, want %q", buf.String(), want)
	}
}

// decode parses step lines and clears the timing field, which varies.
func decode(t *testing.T, lines []string) []line.Step {
	t.Helper()
	var out []line.Step
	for _, l := range lines {
		s, err := line.Parse([]byte(l))
		if err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if s.After < 0 {
			t.Errorf("negative after: %s", l)
		}
		s.After = 0
		out = append(out, s)
	}
	return out
}

func TestWrapHTTP(t *testing.T) {
	s := newSink(t)
	var flusher bool
	h := WrapHTTP("handler", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, flusher = w.(http.Flusher)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("abc"))
		w.(http.Flusher).Flush()
		_, _ = w.Write(nil)
		_, _ = w.Write([]byte("de"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(invokeCtx("rid-1"), "GET", "/", nil))
	if rec.Body.String() != "abcde" || rec.Code != http.StatusCreated || !flusher {
		t.Fatalf("the handler's response changed: %d %q (flusher %v)", rec.Code, rec.Body, flusher)
	}
	got := decode(t, s.lines(t, 2))
	want := []line.Step{
		{V: 1, RequestID: "rid-1", Seq: 0, Stage: "handler", Phase: "out", Kind: "http", Bytes: 5, Status: 201, Enc: "identity"},
		{V: 1, RequestID: "rid-1", Seq: 1, Stage: "stream", Phase: "end", Kind: "stream", Bytes: 5, Chunks: 2, Status: 201},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// TestWrapHTTPLambdaURL runs WrapHTTP layers under lambdaurl's own adapter, as
// lambdaurl.Start does, and compares the counts with the streamed body.
func TestWrapHTTPLambdaURL(t *testing.T) {
	s := newSink(t)
	var flusher bool
	inner := WrapHTTP("handler", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 4 {
			_, _ = w.Write([]byte(strings.Repeat("z", 1000)))
		}
	}))
	// A middleware that passes only the first half of what the handler writes.
	half := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, flusher = w.(http.Flusher) // lambdaurl's writer is not one: neither is ours over it
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
	})
	fn := lambdaurl.Wrap(WrapHTTP("half", half))
	resp, err := fn(invokeCtx("rid-1"), &events.LambdaFunctionURLRequest{RawPath: "/", RequestContext: events.LambdaFunctionURLRequestContext{
		HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "GET"}}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if len(body) != 2000 || resp.StatusCode != 200 || flusher {
		t.Fatalf("streamed %d bytes, status %d, flusher %v", len(body), resp.StatusCode, flusher)
	}
	got := decode(t, s.lines(t, 3))
	want := []line.Step{
		{V: 1, RequestID: "rid-1", Seq: 0, Stage: "handler", Phase: "out", Kind: "http", Bytes: 4000, Status: 200, Enc: "identity"},
		{V: 1, RequestID: "rid-1", Seq: 1, Stage: "middleware:half", Phase: "out", Kind: "http", Bytes: 2000, Status: 200, Enc: "identity"},
		{V: 1, RequestID: "rid-1", Seq: 2, Stage: "stream", Phase: "end", Kind: "stream", Bytes: 2000, Chunks: 1, Status: 200},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func BenchmarkWrapAbsent(b *testing.B) {
	os.Unsetenv(stepsAddrEnv)
	b.Setenv(stepsStdoutEnv, "")
	h := Wrap("handler", result(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: strings.Repeat("x", 1024)}, nil))
	ctx := invokeCtx("rid-1")
	for b.Loop() {
		_, _ = h(ctx, nil)
	}
}

func BenchmarkWrapPresent(b *testing.B) {
	s := newSink(b)
	go func() { // drain, as the extension does
		buf := make([]byte, line.MaxLine+1)
		for {
			if _, _, err := s.conn.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	h := Wrap("handler", result(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: strings.Repeat("x", 1024)}, nil))
	ctx := invokeCtx("rid-1")
	for b.Loop() {
		_, _ = h(ctx, nil)
	}
}

func BenchmarkWrapPresentJSON(b *testing.B) {
	s := newSink(b)
	go func() {
		buf := make([]byte, line.MaxLine+1)
		for {
			if _, _, err := s.conn.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	v := map[string]any{"items": strings.Split(strings.Repeat("item,", 100), ",")}
	h := Wrap("handler", result(v, nil))
	ctx := invokeCtx("rid-1")
	for b.Loop() {
		_, _ = h(ctx, nil)
	}
}
