package runtimeproxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/direct"
	"github.com/bodytrace/bodytrace/internal/localrun"
)

const (
	nextPath     = "/2018-06-01/runtime/invocation/next"
	responsePath = "/2018-06-01/runtime/invocation/" + testRequestID + "/response"
	errorPath    = "/2018-06-01/runtime/invocation/" + testRequestID + "/error"
	initErrPath  = "/2018-06-01/runtime/init/error"
	accepted     = `{"status":"OK"}` + "\n"
)

// nextHeaders are the headers the Runtime API sends with an event.
func nextHeaders() http.Header {
	return http.Header{
		"Lambda-Runtime-Aws-Request-Id":       {testRequestID},
		"Lambda-Runtime-Deadline-Ms":          {"1734457405123"},
		"Lambda-Runtime-Trace-Id":             {"Root=1-6761c0a1-2a3b4c5d6e7f8091a2b3c4d5;Parent=53995c3f42cd8ad8;Sampled=1"},
		"Lambda-Runtime-Invoked-Function-Arn": {"arn:aws:lambda:eu-west-1:123456789012:function:web"},
		"Lambda-Runtime-Client-Context":       {`{"client":{"app_title":"bodytrace"},"custom":{"k":"v"}}`},
		"Lambda-Runtime-Cognito-Identity":     {`{"cognitoIdentityId":"eu-west-1:1234","cognitoIdentityPoolId":"eu-west-1:pool"}`},
	}
}

func TestNextPassThrough(t *testing.T) {
	apigw, err := os.ReadFile("testdata/apigw-v2-event.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		event        []byte
		captureLimit int
		wantCaptured int
	}{
		{"0B", nil, 0, 0},
		{"1B", randomBytes(1, 1), 0, 1},
		{"apigw-v2", apigw, 0, len(apigw)},
		{"1MiB", randomBytes(1<<20, 2), 0, 1 << 20},
		{"6MiB", randomBytes(6<<20, 3), 0, 6 << 20},
		{"1MiB-capture-1KiB", randomBytes(1<<20, 4), 1 << 10, 1 << 10},
		{"1KiB-no-capture", randomBytes(1<<10, 5), -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != nextPath {
					http.NotFound(w, r)
					return
				}
				for k, v := range nextHeaders() {
					w.Header()[k] = v
				}
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(tt.event)))
				w.Write(tt.event)
			}))
			defer up.Close()
			rec := newRecorder()
			p, base := startProxy(t, Config{Upstream: up.Listener.Addr().String(), CaptureLimit: tt.captureLimit}, rec)

			m := rawRoundTrip(t, base, "GET "+nextPath+" HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: "+testUserAgent+"\r\n\r\n")
			if m.startLine != "HTTP/1.1 200 OK" {
				t.Errorf("status line %q", m.startLine)
			}
			if n := m.count("Content-Length"); n != 1 {
				t.Errorf("%d Content-Length lines in %q, want exactly 1", n, m.lines)
			}
			if got := m.get("Content-Length"); got != strconv.Itoa(len(tt.event)) {
				t.Errorf("Content-Length %q, want %d", got, len(tt.event))
			}
			// Exactly what the upstream sent: its Date, no additions, no duplicates.
			want := []string{"Content-Length", "Content-Type", "Date"}
			for k := range nextHeaders() {
				want = append(want, k)
			}
			got := m.names()
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("header names\n got %q\nwant %q", got, want)
			}
			for k, v := range nextHeaders() {
				if got := m.get(k); got != v[0] {
					t.Errorf("%s = %q, want %q", k, got, v[0])
				}
			}
			if sha256.Sum256(m.body) != sha256.Sum256(tt.event) {
				t.Errorf("event sha256 differs: got %d bytes, want %d", len(m.body), len(tt.event))
			}

			n := rec.next(t)
			if n.RequestID != testRequestID || n.Status != 200 || n.Err != nil {
				t.Errorf("Next: id %q status %d err %v", n.RequestID, n.Status, n.Err)
			}
			if n.Size != int64(len(tt.event)) {
				t.Errorf("Next.Size %d, want %d", n.Size, len(tt.event))
			}
			if len(n.Body) != tt.wantCaptured || !bytes.Equal(n.Body, tt.event[:tt.wantCaptured]) {
				t.Errorf("Next.Body: %d bytes, want the first %d of the event", len(n.Body), tt.wantCaptured)
			}
			if n.Truncated != (tt.wantCaptured < len(tt.event)) {
				t.Errorf("Next.Truncated %v", n.Truncated)
			}
			if n.Header.Get("Lambda-Runtime-Deadline-Ms") != "1734457405123" {
				t.Errorf("Next.Header %v", n.Header)
			}
			if n.End.Before(n.Start) {
				t.Errorf("Next End %v before Start %v", n.End, n.Start)
			}
			if !p.Seen() || n.RequestID != testRequestID {
				t.Errorf("Seen %v, Next.RequestID %q", p.Seen(), n.RequestID)
			}
		})
	}
}

// TestAnswerHeadersExact checks that Go's server adds nothing to an answer:
// no Date, no sniffed Content-Type, no computed Content-Length for a chunked one.
func TestAnswerHeadersExact(t *testing.T) {
	tests := []struct {
		name, answer string
		wantNames    []string
		wantBody     string
		wantTrailers []string
	}{
		{
			name:      "length, no date, no type",
			answer:    "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: " + testRequestID + "\r\nContent-Length: 2\r\n\r\n{}",
			wantNames: []string{"Content-Length", "Lambda-Runtime-Aws-Request-Id"},
			wantBody:  "{}",
		},
		{
			name:      "chunked, empty",
			answer:    "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: " + testRequestID + "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			wantNames: []string{"Lambda-Runtime-Aws-Request-Id", "Transfer-Encoding"},
		},
		{
			name:         "chunked, short, trailer",
			answer:       "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: " + testRequestID + "\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Checksum: 1234\r\n\r\n",
			wantNames:    []string{"Lambda-Runtime-Aws-Request-Id", "Trailer", "Transfer-Encoding"},
			wantBody:     "abcde",
			wantTrailers: []string{"X-Checksum: 1234"},
		},
		{
			name:      "empty 202",
			answer:    "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
			wantNames: []string{"Content-Length"},
		},
	}
	for _, tt := range tests {
		// Observed (/next) and transparent (unknown route) answers alike.
		for _, path := range []string{nextPath, "/2018-06-01/runtime/future"} {
			t.Run(tt.name+path, func(t *testing.T) {
				addr, _ := rawUpstream(t, func(rawMessage) string { return tt.answer })
				_, base := startProxy(t, Config{Upstream: addr}, newRecorder())
				m := rawRoundTrip(t, base, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
				got := m.names()
				slices.Sort(got)
				if !slices.Equal(got, tt.wantNames) {
					t.Errorf("header names %q, want %q (lines %q)", got, tt.wantNames, m.lines)
				}
				if string(m.body) != tt.wantBody {
					t.Errorf("body %q, want %q", m.body, tt.wantBody)
				}
				if !slices.Equal(m.trailers, tt.wantTrailers) {
					t.Errorf("trailers %q, want %q", m.trailers, tt.wantTrailers)
				}
			})
		}
	}
}

// blockingObserver holds each Next until the test releases it.
type blockingObserver struct{ release chan struct{} }

func (b blockingObserver) Next(Next)         { <-b.release }
func (b blockingObserver) Response(Response) {}

// TestAnswerCompleteBeforeObserver: the runtime has the whole event while
// the observer still runs, so a slow observer does not delay the invocation.
func TestAnswerCompleteBeforeObserver(t *testing.T) {
	for _, size := range []int{1, 3000, 1 << 20} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			event := randomBytes(size, uint64(size))
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Lambda-Runtime-Aws-Request-Id", testRequestID)
				// The Runtime API sends a length. (A chunked answer's last
				// chunk would follow the observer call: Go writes it when the
				// handler returns.)
				w.Header().Set("Content-Length", strconv.Itoa(len(event)))
				w.Write(event)
			}))
			defer up.Close()
			obs := blockingObserver{release: make(chan struct{})}
			_, base := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, obs)
			defer close(obs.release)
			m := rawRoundTrip(t, base, "GET "+nextPath+" HTTP/1.1\r\nHost: x\r\n\r\n")
			sameBytes(t, "event", m.body, event)
		})
	}
}

// acceptingUpstream is a fake Runtime API that records each posted body and
// answers 202.
func acceptingUpstream(t testing.TB) (*httptest.Server, <-chan received) {
	ch := make(chan received, 16)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := receive(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, accepted)
		ch <- got
	}))
	t.Cleanup(up.Close)
	return up, ch
}

func waitReceived(t testing.TB, ch <-chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitLimit):
		t.Fatal("upstream received nothing")
	}
	return received{}
}

func TestResponsePassThrough(t *testing.T) {
	sizes := []int{0, 1, 1 << 10, direct.BodyLimit, direct.BodyLimit + 1, 1 << 20, 6 << 20}
	// chunked: a buffered result of unknown length, as aws-lambda-go posts every result.
	for _, mode := range []string{"buffered", "chunked", "streamed"} {
		streaming, chunkedOnly := mode == "streamed", mode == "chunked"
		for i, size := range sizes {
			name := fmt.Sprintf("%s/%d", mode, size)
			t.Run(name, func(t *testing.T) {
				body := randomBytes(size, uint64(10+i))
				up, got := acceptingUpstream(t)
				rec := newRecorder()
				_, base := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, rec)

				req, _ := http.NewRequest(http.MethodPost, base+responsePath, bytes.NewReader(body))
				req.Header.Set("User-Agent", testUserAgent)
				req.Header.Set("Content-Type", "application/octet-stream")
				chunks := 0
				if streaming || chunkedOnly {
					parts := randomChunks(body, uint64(size), 256<<10)
					chunks = len(parts)
					req.Body = streamBody(parts, nil)
					req.ContentLength = -1
				}
				if streaming {
					req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
				}
				resp, err := runtimeClient(t).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted || string(answer) != accepted {
					t.Errorf("runtime got %d %q", resp.StatusCode, answer)
				}
				if resp.Header.Get("Content-Type") != "application/json" || len(resp.Header["Content-Length"]) != 1 {
					t.Errorf("runtime got headers %v", resp.Header)
				}

				r := waitReceived(t, got)
				if r.err != nil || r.sum != sha256.Sum256(body) || len(r.body) != size {
					t.Errorf("upstream body: %d bytes, err %v, sha256 differs: %v", len(r.body), r.err, r.sum != sha256.Sum256(body))
				}
				if streaming || chunkedOnly {
					if !slices.Equal(r.te, []string{"chunked"}) || r.header.Get("Content-Length") != "" {
						t.Errorf("%s forwarded with TE %q, Content-Length %q", mode, r.te, r.header.Get("Content-Length"))
					}
				}
				if streaming {
					if r.header.Get("Lambda-Runtime-Function-Response-Mode") != "streaming" {
						t.Errorf("response mode %q", r.header.Get("Lambda-Runtime-Function-Response-Mode"))
					}
				} else if !chunkedOnly && (len(r.te) != 0 || r.contentLength != int64(size) || len(r.header["Content-Length"]) != 1) {
					t.Errorf("buffered forwarded with TE %q, Content-Length %v", r.te, r.header["Content-Length"])
				}
				wantHeader := http.Header{"User-Agent": {testUserAgent}, "Content-Type": {"application/octet-stream"}}
				switch mode {
				case "buffered":
					wantHeader["Content-Length"] = []string{strconv.Itoa(size)}
				case "streamed":
					wantHeader["Lambda-Runtime-Function-Response-Mode"] = []string{"streaming"}
				}
				assertHeader(t, r.header, wantHeader)

				o := rec.response(t)
				if o.Kind != KindResponse || o.RequestID != testRequestID || o.Streaming != streaming || o.Status != 202 || o.Err != nil {
					t.Errorf("Response: kind %q id %q streaming %v status %d err %v", o.Kind, o.RequestID, o.Streaming, o.Status, o.Err)
				}
				if o.Size != int64(size) {
					t.Errorf("Response.Size %d, want %d", o.Size, size)
				}
				sameBytes(t, "Response.Head", o.Head, body[:min(size, DefaultHeadLimit)])
				switch {
				case size == 0 && (o.Chunks != 0 || !o.FirstByte.IsZero()):
					t.Errorf("empty body: Chunks %d FirstByte %v", o.Chunks, o.FirstByte)
				case size == 1 && o.Chunks != 1:
					t.Errorf("1 B body: Chunks %d", o.Chunks)
				case size > 0 && (o.Chunks < 1 || o.FirstByte.IsZero() || o.FirstByte.After(o.End) || o.FirstByte.Before(o.Start)):
					t.Errorf("Chunks %d (runtime wrote %d), Start %v FirstByte %v End %v", o.Chunks, chunks, o.Start, o.FirstByte, o.End)
				}
				if o.Header.Get("User-Agent") != testUserAgent {
					t.Errorf("Response.Header %v", o.Header)
				}
			})
		}
	}
}

// assertHeader checks that h holds exactly want, each value once.
func assertHeader(t testing.TB, h, want http.Header) {
	t.Helper()
	for k, v := range h {
		if !slices.Equal(v, want[k]) {
			t.Errorf("upstream header %s = %q, want %q", k, v, want[k])
		}
	}
	for k := range want {
		if _, ok := h[k]; !ok {
			t.Errorf("upstream header %s missing", k)
		}
	}
}

// TestRequestHeadersExact reads the forwarded request off the wire: every
// header line once, nothing added (Accept-Encoding, X-Forwarded-For...).
func TestRequestHeadersExact(t *testing.T) {
	tests := []struct {
		name      string
		request   string
		wantNames []string
		wantBody  string
		wantTrail []string
	}{
		{
			name:      "buffered",
			request:   "POST " + responsePath + " HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: " + testUserAgent + "\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
			wantNames: []string{"Content-Length", "Content-Type", "Host", "User-Agent"},
			wantBody:  `{"ok":true}`,
		},
		{
			name: "streamed with trailers",
			request: "POST " + responsePath + " HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: " + testUserAgent +
				"\r\nContent-Type: application/vnd.awslambda.http-integration-response\r\nLambda-Runtime-Function-Response-Mode: streaming" +
				"\r\nTrailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.StreamError\r\nLambda-Runtime-Function-Error-Body: e30=\r\n\r\n",
			wantNames: []string{"Content-Type", "Host", "Lambda-Runtime-Function-Response-Mode", "Trailer", "Transfer-Encoding", "User-Agent"},
			wantBody:  "abc",
			wantTrail: []string{"Lambda-Runtime-Function-Error-Body: e30=", "Lambda-Runtime-Function-Error-Type: Runtime.StreamError"},
		},
		{
			name:      "error",
			request:   "POST " + errorPath + " HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nLambda-Runtime-Function-Error-Type: Runtime.HandlerError\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
			wantNames: []string{"Content-Length", "Content-Type", "Host", "Lambda-Runtime-Function-Error-Type"},
			wantBody:  "{}",
		},
		{
			name:      "next, forwarding headers kept",
			request:   "GET " + nextPath + " HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nX-Forwarded-For: 10.0.0.1\r\nAccept: */*\r\n\r\n",
			wantNames: []string{"Accept", "Host", "X-Forwarded-For"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, got := rawUpstream(t, func(rawMessage) string {
				return "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n" + accepted
			})
			_, base := startProxy(t, Config{Upstream: addr}, newRecorder())
			m := rawRoundTrip(t, base, tt.request)
			if m.startLine != "HTTP/1.1 202 Accepted" || string(m.body) != accepted {
				t.Errorf("runtime got %q %q", m.startLine, m.body)
			}
			var up rawMessage
			select {
			case up = <-got:
			case <-time.After(waitLimit):
				t.Fatal("upstream received nothing")
			}
			names := up.names()
			slices.Sort(names)
			if !slices.Equal(names, tt.wantNames) {
				t.Errorf("upstream header names\n got %q\nwant %q\nlines %q", names, tt.wantNames, up.lines)
			}
			if h := up.get("Host"); h != addr {
				t.Errorf("Host %q, want the Runtime API's %q", h, addr)
			}
			if string(up.body) != tt.wantBody {
				t.Errorf("upstream body %q, want %q", up.body, tt.wantBody)
			}
			slices.Sort(up.trailers)
			if !slices.Equal(up.trailers, tt.wantTrail) {
				t.Errorf("upstream trailers %q, want %q", up.trailers, tt.wantTrail)
			}
		})
	}
}

// TestStreamNotBuffered sequences the runtime's writes on the upstream's
// reads: a proxy that buffered the stream would deadlock here.
func TestStreamNotBuffered(t *testing.T) {
	t.Run("mode header", func(t *testing.T) {
		streamNotBuffered(t, http.Header{"Lambda-Runtime-Function-Response-Mode": {"streaming"}}, true)
	})
	// aws-lambda-go's lambdaurl streams without the mode header, with its prelude's type.
	t.Run("lambdaurl", func(t *testing.T) {
		streamNotBuffered(t, http.Header{"Content-Type": {"application/vnd.awslambda.http-integration-response"}}, false)
	})
}

func streamNotBuffered(t *testing.T, header http.Header, streaming bool) {
	const writes = 4
	seen := make(chan []byte)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				seen <- bytes.Clone(buf[:n])
			}
			if err != nil {
				break
			}
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer up.Close()
	rec := newRecorder()
	_, base := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, rec)

	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+responsePath, pr)
	req.Header = header
	done := make(chan error, 1)
	go func() {
		resp, err := runtimeClient(t).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for i := range writes {
		chunk := fmt.Appendf(nil, "chunk %d written before chunk %d\n", i, i+1)
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-seen:
			if !bytes.Equal(got, chunk) {
				t.Fatalf("upstream read %q, want %q", got, chunk)
			}
		case <-time.After(waitLimit):
			t.Fatalf("chunk %d never reached the upstream before the runtime wrote more: the proxy buffers", i)
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	o := rec.response(t)
	if o.Chunks != writes || o.Streaming != streaming || o.FirstByte.After(o.End) {
		t.Errorf("Response: Chunks %d (want %d) Streaming %v FirstByte %v End %v", o.Chunks, writes, o.Streaming, o.FirstByte, o.End)
	}
}

// TestFunctionURLStreamTrailers streams a recorded function URL response
// (prelude, 8 NUL bytes, body) ending in error trailers.
func TestFunctionURLStreamTrailers(t *testing.T) {
	stream, err := os.ReadFile("testdata/function-url-stream.bin")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/function-url-stream.trailers")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mh, err := textproto.NewReader(bufioReader(f)).ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	trailers := http.Header(mh)
	prelude, _, ok := bytes.Cut(stream, make([]byte, 8))
	if !ok {
		t.Fatal("testdata stream has no 8-NUL separator")
	}

	tests := []struct {
		name     string
		trailers http.Header // nil: the stream ends cleanly
		maxChunk int
	}{
		{"clean end", nil, 64},
		{"error trailers", trailers, 100},
		{"error trailers, one chunk", trailers, len(stream)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, got := acceptingUpstream(t)
			rec := newRecorder()
			_, base := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, rec)

			req, _ := http.NewRequest(http.MethodPost, base+responsePath, nil)
			req.Header.Set("Content-Type", "application/vnd.awslambda.http-integration-response")
			req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
			req.ContentLength = -1
			req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
			req.Body = streamBody(randomChunks(stream, uint64(i), tt.maxChunk), func() {
				for k, v := range tt.trailers {
					req.Trailer[k] = v
				}
			})
			resp, err := runtimeClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			r := waitReceived(t, got)
			sameBytes(t, "upstream body", r.body, stream)
			if r.header.Get("Content-Type") != "application/vnd.awslambda.http-integration-response" {
				t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
			}
			for _, k := range []string{"Lambda-Runtime-Function-Error-Type", "Lambda-Runtime-Function-Error-Body"} {
				if g, w := r.trailer.Get(k), tt.trailers.Get(k); g != w {
					t.Errorf("upstream trailer %s = %q, want %q", k, g, w)
				}
				if _, ok := r.trailer[k]; !ok {
					t.Errorf("upstream trailer %s not announced", k)
				}
			}

			o := rec.response(t)
			if !bytes.HasPrefix(o.Head, append(bytes.Clone(prelude), make([]byte, 8)...)) {
				t.Errorf("Response.Head does not start with the prelude: %q", o.Head[:min(len(o.Head), 80)])
			}
			sameBytes(t, "Response.Head", o.Head, stream)
			if o.Size != int64(len(stream)) || !o.Streaming {
				t.Errorf("Response.Size %d Streaming %v", o.Size, o.Streaming)
			}
			for _, k := range []string{"Lambda-Runtime-Function-Error-Type", "Lambda-Runtime-Function-Error-Body"} {
				if g, w := o.Trailer.Get(k), tt.trailers.Get(k); g != w {
					t.Errorf("Response.Trailer %s = %q, want %q", k, g, w)
				}
			}
			if tt.trailers == nil && o.Trailer != nil {
				t.Errorf("Response.Trailer %v, want nil", o.Trailer)
			}
		})
	}
}

// TestRuntimeAPIAnswers passes the Runtime API's answers, errors included,
// back to the runtime unchanged.
func TestRuntimeAPIAnswers(t *testing.T) {
	tooLarge := `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}` + "\n"
	longError := `{"errorMessage":"` + strings.Repeat("x", 6000) + `","errorType":"InvalidRequest"}`
	tests := []struct {
		name       string
		path       string
		header     http.Header
		body       []byte
		status     int
		answer     string
		wantKind   string
		wantID     string
		wantUpBody string
	}{
		{"413 for a 7 MiB buffered response", responsePath, nil, randomBytes(7<<20, 7), 413, tooLarge, KindResponse, testRequestID, tooLarge},
		{"invocation error accepted", errorPath, http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.HandlerError"}},
			[]byte(`{"errorMessage":"boom","errorType":"Error"}`), 202, accepted, KindError, testRequestID, ""},
		{"init error, long 400 answer capped", initErrPath, http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.ImportModuleError"}},
			[]byte(`{"errorMessage":"cannot find module","errorType":"Runtime.ImportModuleError"}`), 400, longError, KindInitError, "", longError[:4<<10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan received, 1)
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- receive(r)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.answer)
			}))
			defer up.Close()
			rec := newRecorder()
			_, base := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, rec)

			req, _ := http.NewRequest(http.MethodPost, base+tt.path, bytes.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := runtimeClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || string(answer) != tt.answer || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("runtime got %d %q (%d bytes), want %d", resp.StatusCode, resp.Header.Get("Content-Type"), len(answer), tt.status)
			}
			r := waitReceived(t, got)
			sameBytes(t, "upstream body", r.body, tt.body)
			for k, v := range tt.header {
				if !slices.Equal(r.header[k], v) {
					t.Errorf("upstream header %s = %q, want %q", k, r.header[k], v)
				}
			}

			o := rec.response(t)
			if o.Kind != tt.wantKind || o.RequestID != tt.wantID || o.Status != tt.status || o.Err != nil {
				t.Errorf("Response: kind %q id %q status %d err %v", o.Kind, o.RequestID, o.Status, o.Err)
			}
			if string(o.UpstreamBody) != tt.wantUpBody {
				t.Errorf("Response.UpstreamBody %d bytes, want %d", len(o.UpstreamBody), len(tt.wantUpBody))
			}
			if o.Size != int64(len(tt.body)) {
				t.Errorf("Response.Size %d, want %d", o.Size, len(tt.body))
			}
			for k, v := range tt.header {
				if !slices.Equal(o.Header[k], v) {
					t.Errorf("Response.Header %s = %q", k, o.Header[k])
				}
			}
		})
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	rec := newRecorder()
	p, base := startProxy(t, Config{Upstream: addr}, rec)
	client := runtimeClient(t)

	for round := range 2 { // the proxy keeps serving after a failure
		resp, err := client.Get(base + nextPath)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("round %d: /next status %d, want 502", round, resp.StatusCode)
		}
		if n := rec.next(t); n.Err == nil || n.Status != 0 {
			t.Errorf("Next: err %v status %d", n.Err, n.Status)
		}

		resp, err = client.Post(base+responsePath, "application/json", strings.NewReader(`{"ok":true}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("round %d: /response status %d, want 502", round, resp.StatusCode)
		}
		if o := rec.response(t); o.Err == nil || o.Status != 0 || o.RequestID != testRequestID {
			t.Errorf("Response: err %v status %d id %q", o.Err, o.Status, o.RequestID)
		}
	}
	if s := p.Stats(); s.Nexts != 2 || s.Responses != 2 || s.Errors != 4 {
		t.Errorf("Stats %+v", s)
	}
}

// TestObserverPanics: a broken observer never breaks forwarding.
func TestObserverPanics(t *testing.T) {
	event := randomBytes(100<<10, 21)
	body := randomBytes(300<<10, 22)
	got := make(chan received, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == nextPath {
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", testRequestID)
			w.Write(event)
			return
		}
		got <- receive(r)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer up.Close()
	rec := newRecorder()
	rec.panics = true
	_, base := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, rec)
	client := runtimeClient(t)

	for round := range 3 {
		resp, err := client.Get(base + nextPath)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		ev, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		sameBytes(t, "event", ev, event)
		rec.next(t)

		resp, err = client.Post(base+responsePath, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("round %d: status %d", round, resp.StatusCode)
		}
		sameBytes(t, "upstream body", waitReceived(t, got).body, body)
		rec.response(t)
	}
	if n := rec.calls.Load(); n != 6 {
		t.Errorf("observer called %d times, want 6", n)
	}
}

// TestCutStream: a runtime that dies mid-stream cuts the upstream stream too,
// and the observer learns why.
func TestCutStream(t *testing.T) {
	upErr := make(chan error, 1)
	firstBytes := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1024)
		_, err := io.ReadFull(r.Body, buf)
		close(firstBytes)
		if err == nil {
			_, err = io.Copy(io.Discard, r.Body)
		}
		upErr <- err
	}))
	defer up.Close()
	rec := newRecorder()
	p, base := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, rec)

	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+responsePath, pr)
	req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
	go func() {
		pw.Write(randomBytes(1024, 31))
		<-firstBytes
		pw.CloseWithError(errors.New("runtime crashed"))
	}()
	if resp, err := runtimeClient(t).Do(req); err == nil {
		resp.Body.Close()
		t.Error("runtime's cut request succeeded")
	}
	select {
	case err := <-upErr:
		if err == nil {
			t.Error("upstream read a complete stream from a cut one")
		}
	case <-time.After(waitLimit):
		t.Fatal("upstream never noticed the cut")
	}
	o := rec.response(t)
	if o.Err == nil || o.Size != 1024 || o.Chunks != 1 || o.End.IsZero() {
		t.Errorf("Response: err %v size %d chunks %d end %v", o.Err, o.Size, o.Chunks, o.End)
	}
	if s := p.Stats(); s.Errors != 1 || s.Responses != 1 {
		t.Errorf("Stats %+v", s)
	}
}

// TestUnobservedRoutes forwards unknown paths and methods unobserved.
func TestUnobservedRoutes(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.Method+" "+r.URL.RequestURI())
		if r.URL.Path == nextPath && r.Method == http.MethodGet {
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", testRequestID)
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(append([]byte("echo:"), b...))
	}))
	defer up.Close()
	rec := newRecorder()
	p, base := startProxy(t, Config{Upstream: up.Listener.Addr().String()}, rec)
	client := runtimeClient(t)

	tests := []struct{ method, uri, body string }{
		{"GET", "/2018-06-01/runtime/future/route?x=1", ""},
		{"POST", "/2018-06-01/runtime/invocation/next", "{}"},
		{"PUT", responsePath, "data"},
		{"GET", "/2020-01-01/extension/event/next", ""},
		{"GET", "/healthz", ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, base+tt.uri, strings.NewReader(tt.body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-Path") != tt.method+" "+tt.uri || string(b) != "echo:"+tt.body {
			t.Errorf("%s %s: got %q %q", tt.method, tt.uri, resp.Header.Get("X-Path"), b)
		}
	}
	// A /next on the same connection: its observation comes after any the
	// unknown routes would have caused.
	resp, err := client.Get(base + nextPath)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n := rec.next(t); n.RequestID != testRequestID {
		t.Errorf("Next.RequestID %q", n.RequestID)
	}
	if len(rec.nexts) != 0 || len(rec.responses) != 0 {
		t.Errorf("unknown routes observed: %d nexts, %d responses", len(rec.nexts), len(rec.responses))
	}
	if s := p.Stats(); s.Nexts != 1 || s.Responses != 0 {
		t.Errorf("Stats %+v", s)
	}
}

func TestParseRoute(t *testing.T) {
	tests := []struct {
		method, path string
		want         route
	}{
		{"GET", nextPath, route{kind: kindNext}},
		{"POST", responsePath, route{kind: KindResponse, requestID: testRequestID}},
		{"POST", errorPath, route{kind: KindError, requestID: testRequestID}},
		{"POST", initErrPath, route{kind: KindInitError}},
		{"POST", nextPath, route{}},
		{"GET", responsePath, route{}},
		{"POST", "/2018-06-01/runtime/invocation//response", route{}},
		{"POST", "/2018-06-01/runtime/invocation/id/response/extra", route{}},
		{"POST", "/2018-06-01/runtime/invocation/id/status", route{}},
		{"GET", "/2018-06-01/runtime/invocation/next/", route{}},
		{"GET", "/runtime/invocation/next", route{}},
	}
	for _, tt := range tests {
		if got := parseRoute(tt.method, tt.path); got != tt.want {
			t.Errorf("parseRoute(%s %s) = %+v, want %+v", tt.method, tt.path, got, tt.want)
		}
	}
}

// TestCloseWithPendingNext: Close returns while a runtime is parked on /next.
func TestCloseWithPendingNext(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	defer close(release)
	p := New(Config{Upstream: up.Listener.Addr().String(), Logger: quietLogger()}, newRecorder())
	s, err := Listen("127.0.0.1:0", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(s.Addr(), p); err == nil {
		t.Error("second Listen on a bound address succeeded")
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := runtimeClient(t).Get("http://" + s.Addr() + nextPath)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-arrived
	if !p.Seen() {
		t.Error("Seen false while a /next is pending")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-errc; err == nil {
		t.Error("pending /next succeeded after Close")
	}
}

// TestCutEvent: a Runtime API answer cut mid-body reaches the runtime cut
// too (never as a complete, shorter event), and the observer is told.
func TestCutEvent(t *testing.T) {
	// A Runtime API that promises 100 bytes, sends 40 and hangs up.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if _, err := readRaw(bufioReader(c), true); err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: "+testRequestID+"\r\nContent-Length: 100\r\n\r\n"+strings.Repeat("x", 40))
		}
		c.Close()
	}()
	rec := newRecorder()
	p, base := startProxy(t, Config{Upstream: ln.Addr().String()}, rec)
	resp, err := runtimeClient(t).Get(base + nextPath)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("runtime read a complete event from a cut answer")
	}
	n := rec.next(t)
	if n.Err == nil || n.Size != 40 || n.RequestID != testRequestID {
		t.Errorf("Next: err %v size %d id %q", n.Err, n.Size, n.RequestID)
	}
	if s := p.Stats(); s.Errors != 1 {
		t.Errorf("Stats %+v", s)
	}
}

// TestNotSeenBeforeNext: the Runtime API counts as observed only once a runtime asked.
func TestNotSeenBeforeNext(t *testing.T) {
	if New(Config{Logger: quietLogger()}, nil).Seen() {
		t.Error("Seen before any /next")
	}
}

// TestRuntimeHangsUpOnNext: a runtime that gives up its /next before any event (it exited,
// or the environment is shutting down) is neither a Runtime API failure in the log nor a
// failed exchange in the counts: every environment ends this way.
func TestRuntimeHangsUpOnNext(t *testing.T) {
	arrived := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	defer up.Close()
	logs := &localrun.Log{} // goroutine-safe
	rec := newRecorder()
	p, base := startProxy(t, Config{Upstream: up.Listener.Addr().String(), Logger: slog.New(slog.NewTextHandler(logs, nil))}, rec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+nextPath, nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := runtimeClient(t).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-arrived:
	case <-time.After(waitLimit):
		t.Fatal("the /next never reached the Runtime API")
	}
	cancel()
	if err := <-errc; err == nil {
		t.Error("the abandoned /next got an answer")
	}
	if n := rec.next(t); !errors.Is(n.Err, context.Canceled) || n.Header != nil {
		t.Errorf("Next: err %v, header %v; want the runtime's cancellation and no event", n.Err, n.Header)
	}
	if s := p.Stats(); s.Errors != 0 || s.Nexts != 1 {
		t.Errorf("Stats %+v, want 1 /next and no failed exchange", s)
	}
	if got := logs.String(); strings.Contains(got, "level=WARN") {
		t.Errorf("logged a warning for a runtime that hung up: %s", got)
	}
}
