package runtimeproxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testRequestID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
	testUserAgent = "bodytrace-test-runtime/1.0"
	waitLimit     = 20 * time.Second // failure guard only; nothing asserts durations
)

// recorder is an Observer that hands observations to the test.
type recorder struct {
	nexts     chan Next
	responses chan Response
	panics    bool
	calls     atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{nexts: make(chan Next, 64), responses: make(chan Response, 64)}
}

func (r *recorder) Next(n Next) {
	r.calls.Add(1)
	r.nexts <- n
	if r.panics {
		panic("observer bug in Next")
	}
}

func (r *recorder) Response(res Response) {
	r.calls.Add(1)
	r.responses <- res
	if r.panics {
		panic("observer bug in Response")
	}
}

func (r *recorder) next(t testing.TB) Next {
	t.Helper()
	select {
	case n := <-r.nexts:
		return n
	case <-time.After(waitLimit):
		t.Fatal("observer: no Next")
	}
	return Next{}
}

func (r *recorder) response(t testing.TB) Response {
	t.Helper()
	select {
	case res := <-r.responses:
		return res
	case <-time.After(waitLimit):
		t.Fatal("observer: no Response")
	}
	return Response{}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startProxy serves a Proxy for upstream on loopback and returns it with its
// base URL.
func startProxy(t testing.TB, cfg Config, obs Observer) (*Proxy, string) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	p := New(cfg, obs)
	s, err := Listen("127.0.0.1:0", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return p, "http://" + s.Addr()
}

// runtimeClient behaves like a runtime's Runtime API client, without the
// Accept-Encoding Go adds by default, so additions by the proxy show.
func runtimeClient(t testing.TB) *http.Client {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitLimit}
}

func randomBytes(n int, seed uint64) []byte {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// randomChunks splits b at random boundaries.
func randomChunks(b []byte, seed uint64, maxChunk int) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var out [][]byte
	for len(b) > 0 {
		n := min(len(b), 1+r.IntN(maxChunk))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// streamBody returns a request body written chunk by chunk from a goroutine,
// as a streaming runtime does; before the last close it runs beforeEOF.
func streamBody(chunks [][]byte, beforeEOF func()) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		for _, c := range chunks {
			if _, err := pw.Write(c); err != nil {
				return
			}
		}
		if beforeEOF != nil {
			beforeEOF()
		}
		pw.Close()
	}()
	return pr
}

// received is what the fake Runtime API saw of one request.
type received struct {
	method, path  string
	header        http.Header
	te            []string
	contentLength int64
	trailer       http.Header
	body          []byte
	sum           [32]byte
	err           error
}

func receive(r *http.Request) received {
	body, err := io.ReadAll(r.Body)
	return received{
		method: r.Method, path: r.URL.Path, header: r.Header.Clone(),
		te: r.TransferEncoding, contentLength: r.ContentLength,
		trailer: r.Trailer.Clone(), body: body, sum: sha256.Sum256(body), err: err,
	}
}

// rawMessage is an HTTP message read off the wire, header lines kept as sent.
type rawMessage struct {
	startLine string
	lines     []string // header lines, in order
	body      []byte
	trailers  []string // trailer lines of a chunked body
}

// count returns how many header lines name key (case-insensitive).
func (m rawMessage) count(key string) int {
	n := 0
	for _, l := range m.lines {
		if k, _, _ := strings.Cut(l, ":"); strings.EqualFold(strings.TrimSpace(k), key) {
			n++
		}
	}
	return n
}

func (m rawMessage) get(key string) string {
	for _, l := range m.lines {
		if k, v, _ := strings.Cut(l, ":"); strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// names returns the canonical header names, one per line.
func (m rawMessage) names() []string {
	var out []string
	for _, l := range m.lines {
		k, _, _ := strings.Cut(l, ":")
		out = append(out, textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)))
	}
	return out
}

// readFields reads header or trailer lines as sent, up to the blank line that ends them.
func readFields(tp *textproto.Reader) ([]string, error) {
	var lines []string
	for {
		l, err := tp.ReadLine()
		if err != nil || l == "" {
			return lines, err
		}
		lines = append(lines, l)
	}
}

// readRaw reads one message (request or response) from br without any of
// net/http's normalisation: duplicated headers stay duplicated.
func readRaw(br *bufio.Reader, noBody bool) (rawMessage, error) {
	tp := textproto.NewReader(br)
	var m rawMessage
	var err error
	if m.startLine, err = tp.ReadLine(); err != nil {
		return m, err
	}
	if m.lines, err = readFields(tp); err != nil {
		return m, err
	}
	if noBody {
		return m, nil
	}
	switch {
	case strings.EqualFold(m.get("Transfer-Encoding"), "chunked"):
		if m.body, err = io.ReadAll(httputil.NewChunkedReader(br)); err != nil {
			return m, err
		}
		if m.trailers, err = readFields(tp); err != nil {
			return m, err
		}
	case m.get("Content-Length") != "":
		n, err := strconv.Atoi(m.get("Content-Length"))
		if err != nil {
			return m, err
		}
		m.body = make([]byte, n)
		if _, err := io.ReadFull(br, m.body); err != nil {
			return m, err
		}
	}
	return m, nil
}

// rawUpstream is a fake Runtime API that reads requests off the wire and
// writes the answers answer returns, verbatim.
func rawUpstream(t testing.TB, answer func(m rawMessage) string) (addr string, got <-chan rawMessage) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan rawMessage, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					m, err := readRaw(br, false)
					if err != nil {
						return
					}
					ch <- m
					if _, err := io.WriteString(c, answer(m)); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), ch
}

// rawRoundTrip sends a raw request to the proxy and reads the raw answer.
func rawRoundTrip(t testing.TB, proxyURL, request string) rawMessage {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	m, err := readRaw(bufio.NewReader(c), false)
	if err != nil {
		t.Fatalf("read raw answer: %v (so far %+v)", err, m)
	}
	return m
}

func sameBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %d bytes sha256 %x, want %d bytes sha256 %x",
			what, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
