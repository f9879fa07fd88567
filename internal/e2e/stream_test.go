package e2e

import (
	"bytes"
	"context"
	"fmt"
	"github.com/bodytrace/bodytrace/internal/localrun"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNodeStreamingClassic(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-node-stream-%d", time.Now().UnixNano())
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.stream"}, otlpEnv(service)...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	cases := []struct {
		bytes, chunk int
		fail         bool
		verdict      string
	}{
		{bytes: 1, chunk: 1, verdict: "delivered"},
		{bytes: 1 << 20, chunk: 64 << 10, verdict: "delivered"},
		{bytes: 6 << 20, chunk: 256 << 10, verdict: "delivered"},
		{bytes: 0, chunk: 1, verdict: "lost:streaming"},
		{bytes: 1000, chunk: 100, fail: true, verdict: "lost:streaming"},
	}
	for i, c := range cases {
		q := map[string]string{"bytes": strconv.Itoa(c.bytes), "chunk": strconv.Itoa(c.chunk)}
		if c.fail {
			q["fail"] = "1"
		}
		got, err := l.Invoke(ctx, event(t, "function-url.json", q))
		if err != nil && c.fail && strings.Contains(err.Error(), "502 Bad Gateway: partial") {
			// For a stream that ends in an error the emulator answers either the bytes with the
			// error trailers or 502 "partial", as its goroutines race; bodytrace's record is
			// the same either way.
			got, err = nil, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		// The emulator hands the caller the raw stream: prelude, 8 NUL bytes, body.
		body := got
		if j := bytes.Index(got, make([]byte, 8)); j >= 0 {
			body = got[j+8:]
		}
		if !c.fail && len(body) != c.bytes {
			t.Fatalf("case %d: caller got a %d-byte body, want %d", i, len(body), c.bytes)
		}
		sums, err := l.WaitSummaries(ctx, i+1)
		if err != nil {
			t.Fatal(err)
		}
		s := sums[i]
		if s["mode"] != "streaming" || s["verdict"] != c.verdict {
			t.Errorf("case %d: mode %v verdict %v, want streaming %s (%v)", i, s["mode"], s["verdict"], c.verdict, s["reason"])
		}
		b := s["bytes"].(map[string]any)
		if !c.fail && (b["response"] != float64(len(got)) || b["body"] != float64(c.bytes)) {
			t.Errorf("case %d: summary bytes %v, want response %d body %d", i, b, len(got), c.bytes)
		}
		if c.bytes == 0 {
			continue // no prelude, no status: nothing more to compare
		}
		if s["status"] != float64(200) {
			t.Errorf("case %d: status from the prelude = %v, want 200", i, s["status"])
		}
		want := 4 // invoke, request, response, stream
		if i == 0 {
			want++
		}
		tr, err := jaeger.Trace(ctx, s["traceId"].(string), want)
		if err != nil {
			t.Fatal(err)
		}
		resp, stream := tr.Find("response"), tr.Find("stream")
		if len(resp) != 1 || len(stream) != 1 || stream[0].Parent() != resp[0].SpanID {
			t.Fatalf("case %d: want a stream span under the response span; got %d response, %d stream", i, len(resp), len(stream))
		}
		if stream[0].Tag("bodytrace.bytes.stream") != strconv.Itoa(int(b["response"].(float64))) {
			t.Errorf("case %d: stream bytes %q, summary %v", i, stream[0].Tag("bodytrace.bytes.stream"), b["response"])
		}
		if n, _ := strconv.Atoi(stream[0].Tag("bodytrace.stream.chunks")); n < 1 {
			t.Errorf("case %d: stream chunks = %d", i, n)
		}
		if c.fail && stream[0].Tag("bodytrace.stream.error_type") == "" {
			t.Errorf("case %d: the error trailer did not reach the stream span", i)
		}
	}
}
