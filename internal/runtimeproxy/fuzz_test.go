package runtimeproxy

// Byte-exact pass-through fuzzing. The runtime side is written by hand onto a TCP
// connection and the fake Runtime API reads the wire without net/http's normalisation,
// so every header line, chunk and trailer the proxy forwards is compared as sent.
// The seeds under testdata/fuzz run as ordinary tests in `make test`; scripts/fuzz.sh
// fuzzes each target for $FUZZTIME.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Size bounds of the fuzzed bodies: Lambda's buffered (and event) limit, and the
// streamed sizes the issue asks for. Big sizes are rare in fuzzing (see scaledBody).
const (
	maxBufferedFuzz = 6 << 20
	maxStreamedFuzz = 50 << 20
	maxFuzzDelay    = 300 * time.Microsecond // per delayed write; only the first writes wait
	delayedWrites   = 16
	maxFuzzChunks   = 4096 // chunk count cap, so a 50 MB stream stays quick
)

// scaledBody turns the fuzzer's bytes into a body. Most sizeCode values keep the body
// small (the fuzz bytes, repeated up to 8 times); the top 1/256th of the range selects a
// size from 0 to max linearly (0xFFFF is max), so seeds can name big sizes. Bytes past the
// fuzz input come from a PRNG seeded by seed: binary, reproducible.
func scaledBody(data []byte, sizeCode uint16, seed uint64, max int) []byte {
	var n int
	if sizeCode < 0xFF00 {
		n = len(data) * (1 + int(sizeCode%8))
	} else {
		n = int(uint64(sizeCode-0xFF00) * uint64(max) / 0xFF)
	}
	n = min(n, max)
	b := make([]byte, n)
	k := copy(b, data)
	if k < n {
		var s [32]byte
		for i := range 8 {
			s[i] = byte(seed >> (8 * i))
		}
		if len(data) > 0 && int(sizeCode%8) > 0 && sizeCode < 0xFF00 {
			// Repeats of the input: fuzzing explores patterns, not just noise.
			for k < n {
				k += copy(b[k:], data)
			}
		} else {
			_, _ = rand.NewChaCha8(s).Read(b[k:])
		}
	}
	return b
}

// fuzzChunks splits b into at most maxFuzzChunks pieces at seeded random boundaries
// no larger than maxChunk (at least 1).
func fuzzChunks(b []byte, seed uint64, maxChunk int) [][]byte {
	maxChunk = max(maxChunk, 1, (len(b)+maxFuzzChunks-1)/maxFuzzChunks*2)
	return randomChunks(b, seed, maxChunk)
}

// headerValue turns fuzz bytes into a valid, non-empty header value (visible ASCII and
// inner spaces), so the test exercises the proxy, not HTTP's grammar.
func headerValue(b []byte, fallback string) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x21 && c <= 0x7e {
			sb.WriteByte(c)
		} else if c == ' ' && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		if sb.Len() >= 200 {
			break
		}
	}
	v := strings.TrimSpace(sb.String())
	if v == "" {
		return fallback
	}
	return v
}

// writeChunked writes body in HTTP/1.1 chunked encoding, one chunk per piece, sleeping
// delay before each of the first delayedWrites pieces, then the trailer lines.
func writeChunked(w io.Writer, pieces [][]byte, delay time.Duration, trailers []string) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for i, p := range pieces {
		fmt.Fprintf(bw, "%x\r\n", len(p))
		bw.Write(p)
		bw.WriteString("\r\n")
		if i < delayedWrites && delay > 0 {
			// A runtime's write: out on the wire now, then a pause.
			if err := bw.Flush(); err != nil {
				return err
			}
			time.Sleep(delay)
		}
	}
	bw.WriteString("0\r\n")
	for _, t := range trailers {
		bw.WriteString(t + "\r\n")
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}

// wireConn is a kept-alive connection to the proxy on which the test writes requests
// byte for byte, as a runtime would. One per fuzz process: a new connection per input
// would exhaust ephemeral ports during a long fuzz run.
type wireConn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
}

func (w *wireConn) roundTrip(t testing.TB, write func(io.Writer) error) rawMessage {
	t.Helper()
	for attempt := 0; ; attempt++ {
		if w.c == nil {
			c, err := net.Dial("tcp", w.addr)
			if err != nil {
				t.Fatal(err)
			}
			w.c, w.br = c, bufio.NewReader(c)
		}
		_ = w.c.SetDeadline(time.Now().Add(waitLimit))
		err := write(w.c)
		var m rawMessage
		if err == nil {
			m, err = readRaw(w.br, false)
		}
		if err == nil {
			if strings.EqualFold(m.get("Connection"), "close") {
				w.close()
			}
			return m
		}
		w.close()
		if attempt > 0 {
			t.Fatalf("round trip through the proxy: %v", err)
		}
		// The proxy closed a kept-alive connection (e.g. after the previous input): redial once.
	}
}

func (w *wireConn) close() {
	if w.c != nil {
		w.c.Close()
		w.c, w.br = nil, nil
	}
}

// wireUpstream is a fake Runtime API that reads each request off the wire and answers
// with whatever the current input's answer function writes, delays included.
type wireUpstream struct {
	addr string
	got  chan rawMessage
	mu   sync.Mutex
	ans  func(c io.Writer, m rawMessage) error
}

func newWireUpstream(t testing.TB) *wireUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &wireUpstream{addr: ln.Addr().String(), got: make(chan rawMessage, 4)}
	var wg sync.WaitGroup
	var conns sync.Map
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReaderSize(c, 64<<10)
				for {
					m, err := readRaw(br, strings.HasPrefix(u.peekMethod(br), "GET"))
					if err != nil {
						return
					}
					u.got <- m
					u.mu.Lock()
					ans := u.ans
					u.mu.Unlock()
					if ans == nil || ans(c, m) != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	return u
}

// peekMethod returns the start of the next request line without consuming it: a GET
// (/next) has no body to read.
func (u *wireUpstream) peekMethod(br *bufio.Reader) string {
	b, _ := br.Peek(3)
	return string(b)
}

func (u *wireUpstream) answer(f func(c io.Writer, m rawMessage) error) {
	u.mu.Lock()
	u.ans = f
	u.mu.Unlock()
}

func (u *wireUpstream) received(t testing.TB) rawMessage {
	t.Helper()
	select {
	case m := <-u.got:
		return m
	case <-time.After(waitLimit):
		t.Fatal("the fake Runtime API received nothing")
	}
	return rawMessage{}
}

// fuzzRig is one proxy between a wire-level runtime and a wire-level Runtime API, shared
// by every input a fuzz process runs; ids keep the observations of inputs apart.
type fuzzRig struct {
	proxy *Proxy
	up    *wireUpstream
	rt    *wireConn
	rec   *recorder
	ids   atomic.Uint64
}

func newFuzzRig(t testing.TB, cfg Config) *fuzzRig {
	up := newWireUpstream(t)
	cfg.Upstream = up.addr
	rec := newRecorder()
	p, base := startProxy(t, cfg, rec)
	rt := &wireConn{addr: strings.TrimPrefix(base, "http://")}
	t.Cleanup(rt.close)
	return &fuzzRig{proxy: p, up: up, rt: rt, rec: rec}
}

// response waits for the observation of request id, dropping leftovers of earlier inputs.
func (r *fuzzRig) response(t testing.TB, id string) Response {
	t.Helper()
	for {
		o := r.rec.response(t)
		if o.RequestID == id {
			return o
		}
	}
}

func (r *fuzzRig) next(t testing.TB, id string) Next {
	t.Helper()
	for {
		n := r.rec.next(t)
		if n.RequestID == id {
			return n
		}
	}
}

// upstreamAnswers are the Runtime API's answers to a posted result the fuzzer picks from.
var upstreamAnswers = []struct {
	status string
	body   string
}{
	{"202 Accepted", `{"status":"OK"}` + "\n"},
	{"413 Request Entity Too Large", `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}` + "\n"},
	{"400 Bad Request", `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}` + "\n"},
	{"500 Internal Server Error", `{"errorMessage":"boom","errorType":"Runtime.Unknown"}` + "\n"},
}

func answerWith(status, body string) func(io.Writer, rawMessage) error {
	return func(c io.Writer, _ rawMessage) error {
		_, err := io.WriteString(c, "HTTP/1.1 "+status+"\r\nContent-Type: application/json\r\nContent-Length: "+
			strconv.Itoa(len(body))+"\r\n\r\n"+body)
		return err
	}
}

// headerSet returns "Name: value" for each header line, names canonical, sorted; the
// Host line and the Trailer line (whose order of names may change) are left out.
func headerSet(m rawMessage) []string {
	var out []string
	for _, l := range m.lines {
		k, v, _ := strings.Cut(l, ":")
		k = http.CanonicalHeaderKey(strings.TrimSpace(k))
		if k == "Host" || k == "Trailer" {
			continue
		}
		out = append(out, k+": "+strings.TrimSpace(v))
	}
	slices.Sort(out)
	return out
}

// trailerNames returns the names a Trailer header announces, canonical and sorted.
func trailerNames(m rawMessage) []string {
	var out []string
	for _, l := range m.lines {
		k, v, _ := strings.Cut(l, ":")
		if !strings.EqualFold(strings.TrimSpace(k), "Trailer") {
			continue
		}
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, http.CanonicalHeaderKey(n))
			}
		}
	}
	slices.Sort(out)
	return out
}

func canonicalLines(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		out = append(out, http.CanonicalHeaderKey(strings.TrimSpace(k))+": "+strings.TrimSpace(v))
	}
	slices.Sort(out)
	return out
}

// checkForwarded compares the request the fake Runtime API read with the one the
// runtime wrote: start line, every header line but Host, body and trailers.
func checkForwarded(t testing.TB, up rawMessage, wantStart string, wantLines, wantTrailers []string, body []byte) {
	t.Helper()
	if up.startLine != wantStart {
		t.Errorf("upstream start line %q, want %q", up.startLine, wantStart)
	}
	if got, want := headerSet(up), headerSet(rawMessage{lines: wantLines}); !slices.Equal(got, want) {
		t.Errorf("upstream header lines\n got %q\nwant %q", got, want)
	}
	if got, want := trailerNames(up), trailerNames(rawMessage{lines: wantLines}); !slices.Equal(got, want) {
		t.Errorf("upstream Trailer announces %q, want %q", got, want)
	}
	if !bytes.Equal(up.body, body) {
		t.Errorf("upstream body: %d bytes sha256 %x, want %d bytes sha256 %x",
			len(up.body), sha256.Sum256(up.body), len(body), sha256.Sum256(body))
	}
	if got, want := canonicalLines(up.trailers), canonicalLines(wantTrailers); !slices.Equal(got, want) {
		t.Errorf("upstream trailers %q, want %q", got, want)
	}
}

// checkObserved checks the observer's account of a posted body against what was sent.
func checkObserved(t testing.TB, o Response, body []byte, kind string, streaming bool, status int, trailers map[string]string) {
	t.Helper()
	if o.Kind != kind || o.Streaming != streaming || o.Status != status || o.Err != nil {
		t.Errorf("Response: kind %q streaming %v status %d err %v; want %q %v %d nil", o.Kind, o.Streaming, o.Status, o.Err, kind, streaming, status)
	}
	if o.Size != int64(len(body)) {
		t.Errorf("Response.Size %d, want %d", o.Size, len(body))
	}
	if !bytes.Equal(o.Head, body[:min(len(body), DefaultHeadLimit)]) {
		t.Errorf("Response.Head is not the first %d bytes of the body", min(len(body), DefaultHeadLimit))
	}
	switch {
	case len(body) == 0 && (o.Chunks != 0 || !o.FirstByte.IsZero()):
		t.Errorf("empty body: Chunks %d FirstByte %v", o.Chunks, o.FirstByte)
	case len(body) > 0 && (o.Chunks < 1 || int64(o.Chunks) > o.Size):
		t.Errorf("Chunks %d for %d bytes: want 1 to Size", o.Chunks, len(body))
	case len(body) > 0 && (o.FirstByte.Before(o.Start) || o.FirstByte.After(o.End)):
		t.Errorf("Start %v FirstByte %v End %v out of order", o.Start, o.FirstByte, o.End)
	}
	for k, v := range trailers {
		if got := o.Trailer.Get(k); got != v {
			t.Errorf("Response.Trailer %s = %q, want %q", k, got, v)
		}
	}
	if len(trailers) == 0 && len(o.Trailer) != 0 {
		t.Errorf("Response.Trailer %v, want none", o.Trailer)
	}
}

// checkAnswer checks that the runtime got the Runtime API's answer unchanged.
func checkAnswer(t testing.TB, m rawMessage, status, body string) {
	t.Helper()
	if m.startLine != "HTTP/1.1 "+status || string(m.body) != body {
		t.Errorf("runtime got %q %q, want %q %q", m.startLine, m.body, "HTTP/1.1 "+status, body)
	}
	want := []string{"Content-Length: " + strconv.Itoa(len(body)), "Content-Type: application/json"}
	if got := headerSet(m); !slices.Equal(got, want) {
		t.Errorf("runtime got header lines %q, want %q", got, want)
	}
}

// FuzzProxyBuffered posts buffered results (Content-Length) of fuzzed bytes and sizes
// (0 to 6 MB) to /response, /error and /init/error, with a fuzzed Content-Type and error
// type, and checks what the Runtime API reads, what the runtime gets back, and what the
// observer is told.
func FuzzProxyBuffered(f *testing.F) {
	f.Add([]byte(`{"statusCode":200,"body":"hello"}`), uint16(0), uint64(1), uint8(0), []byte("application/json"))
	f.Add([]byte{}, uint16(0), uint64(2), uint8(1), []byte("application/json"))
	f.Add([]byte{0, 0xff, 0xfe, '\r', '\n', 0x80}, uint16(7), uint64(3), uint8(2), []byte("\x00\xff"))
	f.Add([]byte("x"), uint16(0xFFFF), uint64(4), uint8(3), []byte("application/octet-stream"))
	f.Add([]byte(`{"errorMessage":"bad","errorType":"Handler"}`), uint16(1), uint64(5), uint8(5), []byte("Runtime.HandlerError"))
	rig := newFuzzRig(f, Config{})
	f.Fuzz(func(t *testing.T, data []byte, sizeCode uint16, seed uint64, flags uint8, ctype []byte) {
		body := scaledBody(data, sizeCode, seed, maxBufferedFuzz)
		id := fmt.Sprintf("fuzz-%d", rig.ids.Add(1))
		kind := []string{KindResponse, KindError, KindInitError}[int(flags)%3]
		path := "/2018-06-01/runtime/invocation/" + id + "/" + kind
		if kind == KindInitError {
			path, id = initErrPath, ""
		}
		ans := upstreamAnswers[int(flags>>2)%len(upstreamAnswers)]
		rig.up.answer(answerWith(ans.status, ans.body))

		lines := []string{
			"Host: 127.0.0.1:9001",
			"User-Agent: " + testUserAgent,
			"Content-Type: " + headerValue(ctype, "application/json"),
			"Content-Length: " + strconv.Itoa(len(body)),
		}
		if kind != KindResponse {
			lines = append(lines, "Lambda-Runtime-Function-Error-Type: "+headerValue(ctype, "Runtime.Unknown"))
		}
		start := "POST " + path + " HTTP/1.1"
		m := rig.rt.roundTrip(t, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 64<<10)
			bw.WriteString(start + "\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n")
			bw.Write(body)
			return bw.Flush()
		})
		checkAnswer(t, m, ans.status, ans.body)
		checkForwarded(t, rig.up.received(t), start, lines, nil, body)
		o := rig.response(t, id)
		status, _ := strconv.Atoi(ans.status[:3])
		checkObserved(t, o, body, kind, false, status, nil)
		if status >= 400 && string(o.UpstreamBody) != ans.body {
			t.Errorf("Response.UpstreamBody %q, want %q", o.UpstreamBody, ans.body)
		}
	})
}

// FuzzProxyStream streams fuzzed bytes (0 to 50 MB) chunked to /response, at fuzzed
// chunk boundaries with short pauses between the first writes, ending cleanly or with
// the error trailers a runtime sends when the handler fails mid-stream.
func FuzzProxyStream(f *testing.F) {
	f.Add([]byte("hello, stream"), uint16(0), uint64(1), uint16(4), uint8(0), []byte(""))
	f.Add([]byte{}, uint16(0), uint64(2), uint16(1), uint8(1), []byte("Runtime.StreamError"))
	f.Add([]byte(`{"statusCode":200,"headers":{"content-type":"text/plain"}}`+"\x00\x00\x00\x00\x00\x00\x00\x00body"), uint16(3), uint64(3), uint16(7), uint8(2), []byte("eyJlcnJvck1lc3NhZ2UiOiJib29tIn0="))
	f.Add([]byte{0xff, 0, 0xc3, 0x28}, uint16(0xFFFF), uint64(4), uint16(0xFFFF), uint8(3), []byte("Runtime.TruncatedResponse"))
	rig := newFuzzRig(f, Config{})
	f.Fuzz(func(t *testing.T, data []byte, sizeCode uint16, seed uint64, chunkCode uint16, flags uint8, errType []byte) {
		body := scaledBody(data, sizeCode, seed, maxStreamedFuzz)
		pieces := fuzzChunks(body, seed, 1+int(chunkCode)*4)
		delay := time.Duration(flags>>3) * maxFuzzDelay / 31
		id := fmt.Sprintf("fuzz-%d", rig.ids.Add(1))
		path := "/2018-06-01/runtime/invocation/" + id + "/response"
		ans := upstreamAnswers[0]
		if flags&4 != 0 {
			ans = upstreamAnswers[1+int(seed%3)]
		}
		rig.up.answer(answerWith(ans.status, ans.body))

		lines := []string{
			"Host: 127.0.0.1:9001",
			"User-Agent: " + testUserAgent,
			"Content-Type: application/vnd.awslambda.http-integration-response",
			"Lambda-Runtime-Function-Response-Mode: streaming",
			"Transfer-Encoding: chunked",
		}
		var trailerLines []string
		trailers := map[string]string{}
		if flags&1 != 0 {
			// As aws-lambda-ric and aws-lambda-go do: announce both, send them at the end.
			lines = append(lines, "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")
			trailers["Lambda-Runtime-Function-Error-Type"] = headerValue(errType, "Runtime.StreamError")
			trailers["Lambda-Runtime-Function-Error-Body"] = headerValue(data[:min(len(data), 64)], "e30=")
			for _, k := range []string{"Lambda-Runtime-Function-Error-Type", "Lambda-Runtime-Function-Error-Body"} {
				trailerLines = append(trailerLines, k+": "+trailers[k])
			}
		}
		start := "POST " + path + " HTTP/1.1"
		m := rig.rt.roundTrip(t, func(w io.Writer) error {
			if _, err := io.WriteString(w, start+"\r\n"+strings.Join(lines, "\r\n")+"\r\n\r\n"); err != nil {
				return err
			}
			return writeChunked(w, pieces, delay, trailerLines)
		})
		checkAnswer(t, m, ans.status, ans.body)
		checkForwarded(t, rig.up.received(t), start, lines, trailerLines, body)
		status, _ := strconv.Atoi(ans.status[:3])
		checkObserved(t, rig.response(t, id), body, KindResponse, true, status, trailers)
	})
}

// FuzzProxyNext fuzzes the other direction: the event the Runtime API hands out on
// /next (0 to 6 MB, with a Content-Length or chunked at fuzzed boundaries with pauses,
// optionally with trailers), with fuzzed request id and trace header. The runtime must
// read exactly the Runtime API's header lines, body and trailers.
func FuzzProxyNext(f *testing.F) {
	f.Add([]byte(`{"version":"2.0","rawPath":"/"}`), uint16(0), uint64(1), uint16(8), uint8(0), []byte("8476a536-e9f4-11e8-9739-2dfe598c3fcd"))
	f.Add([]byte{}, uint16(0), uint64(2), uint16(1), uint8(1), []byte("id"))
	f.Add([]byte{0, 1, 2, 0xff}, uint16(5), uint64(3), uint16(3), uint8(3), []byte("Root=1-6761c0a1-2a3b4c5d6e7f8091a2b3c4d5;Parent=53995c3f42cd8ad8;Sampled=1"))
	f.Add([]byte("{}"), uint16(0xFFFF), uint64(4), uint16(0xFFFF), uint8(2), []byte("big"))
	rig := newFuzzRig(f, Config{})
	small := newFuzzRig(f, Config{CaptureLimit: 1 << 10})
	f.Fuzz(func(t *testing.T, data []byte, sizeCode uint16, seed uint64, chunkCode uint16, flags uint8, idBytes []byte) {
		event := scaledBody(data, sizeCode, seed, maxBufferedFuzz)
		r, captureLimit := rig, DefaultCaptureLimit
		if flags&16 != 0 {
			r, captureLimit = small, 1<<10
		}
		id := fmt.Sprintf("fuzz-%d-%s", r.ids.Add(1), headerValue(idBytes, "x"))
		chunked := flags&1 != 0
		withTrailer := chunked && flags&2 != 0
		delay := time.Duration(flags>>5) * maxFuzzDelay / 7
		lines := []string{
			"Content-Type: application/json",
			"Lambda-Runtime-Aws-Request-Id: " + id,
			"Lambda-Runtime-Deadline-Ms: " + strconv.FormatUint(seed%(1<<42), 10),
			"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:123456789012:function:web",
			"Lambda-Runtime-Trace-Id: " + headerValue(idBytes, "Root=1-00000000-000000000000000000000000"),
			"Date: Tue, 17 Dec 2024 17:43:25 GMT",
		}
		var trailerLines []string
		if chunked {
			lines = append(lines, "Transfer-Encoding: chunked")
			if withTrailer {
				lines = append(lines, "Trailer: X-Event-Checksum")
				trailerLines = []string{fmt.Sprintf("X-Event-Checksum: %x", sha256.Sum256(event))}
			}
		} else {
			lines = append(lines, "Content-Length: "+strconv.Itoa(len(event)))
		}
		r.up.answer(func(c io.Writer, m rawMessage) error {
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n"+strings.Join(lines, "\r\n")+"\r\n\r\n"); err != nil {
				return err
			}
			if chunked {
				return writeChunked(c, fuzzChunks(event, seed, 1+int(chunkCode)*4), delay, trailerLines)
			}
			_, err := c.Write(event)
			return err
		})
		start := "GET " + nextPath + " HTTP/1.1"
		reqLines := []string{"Host: 127.0.0.1:9001", "User-Agent: " + testUserAgent}
		m := r.rt.roundTrip(t, func(w io.Writer) error {
			_, err := io.WriteString(w, start+"\r\n"+strings.Join(reqLines, "\r\n")+"\r\n\r\n")
			return err
		})
		checkForwarded(t, r.up.received(t), start, reqLines, nil, nil)

		if m.startLine != "HTTP/1.1 200 OK" {
			t.Errorf("runtime got status line %q", m.startLine)
		}
		if got, want := headerSet(m), headerSet(rawMessage{lines: lines}); !slices.Equal(got, want) {
			t.Errorf("runtime got header lines\n got %q\nwant %q", got, want)
		}
		if got, want := trailerNames(m), trailerNames(rawMessage{lines: lines}); !slices.Equal(got, want) {
			t.Errorf("runtime got Trailer %q, want %q", got, want)
		}
		sameBytes(t, "event the runtime got", m.body, event)
		if got, want := canonicalLines(m.trailers), canonicalLines(trailerLines); !slices.Equal(got, want) {
			t.Errorf("runtime got trailers %q, want %q", got, want)
		}

		n := r.next(t, id)
		captured := min(len(event), captureLimit)
		if n.Err != nil || n.Status != 200 || n.Size != int64(len(event)) {
			t.Errorf("Next: err %v status %d size %d, want nil 200 %d", n.Err, n.Status, n.Size, len(event))
		}
		if !bytes.Equal(n.Body, event[:captured]) || n.Truncated != (captured < len(event)) {
			t.Errorf("Next.Body %d bytes (truncated %v), want the first %d of %d", len(n.Body), n.Truncated, captured, len(event))
		}
		if n.RequestID != id {
			t.Errorf("Next.RequestID = %q, want %q", n.RequestID, id)
		}
	})
}
