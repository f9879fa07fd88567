package runtimeproxy

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestScanSeesEveryByte: the scan writer given by Config.Scan sees the whole buffered
// body of a /response (and only of /response), while Head stays capped.
func TestScanSeesEveryByte(t *testing.T) {
	var got bytes.Buffer
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer upstream.Close()
	rec := newRecorder()
	var mu sync.Mutex
	_, addr := startProxy(t, Config{Upstream: strings.TrimPrefix(upstream.URL, "http://"),
		Scan: func(*http.Request) io.Writer { return lockedWriter{&mu, &got} }}, rec)
	body := randomBytes(3<<20, 7)
	for _, path := range []string{"/2018-06-01/runtime/invocation/r1/response", "/2018-06-01/runtime/invocation/r1/error"} {
		resp, err := runtimeClient(t).Post(addr+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		r := rec.response(t)
		if len(r.Head) != DefaultHeadLimit {
			t.Errorf("%s: head %d bytes, want the %d cap", path, len(r.Head), DefaultHeadLimit)
		}
		if strings.HasSuffix(path, "/error") {
			if r.Scan != nil {
				t.Errorf("/error was scanned")
			}
			continue
		}
		if r.Scan == nil {
			t.Fatal("Response.Scan is nil for a /response whose body ended")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if sha256.Sum256(got.Bytes()) != sha256.Sum256(body) {
		t.Fatalf("the scan saw %d bytes, not the %d-byte body", got.Len(), len(body))
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestScanPanicDoesNotStopForwarding: a scan writer that panics stops being fed; the
// body still reaches the Runtime API whole.
func TestScanPanicDoesNotStopForwarding(t *testing.T) {
	var upstreamGot []byte
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamGot, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer upstream.Close()
	rec := newRecorder()
	_, addr := startProxy(t, Config{Upstream: strings.TrimPrefix(upstream.URL, "http://"),
		Scan: func(*http.Request) io.Writer { return panicWriter{} }}, rec)
	body := randomBytes(1<<20, 9)
	resp, err := runtimeClient(t).Post(addr+"/2018-06-01/runtime/invocation/r2/response", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := rec.response(t); r.Scan != nil || r.Size != int64(len(body)) {
		t.Errorf("Scan %v, Size %d; want no scan and the whole size", r.Scan, r.Size)
	}
	if !bytes.Equal(upstreamGot, body) {
		t.Fatalf("the Runtime API got %d bytes, want the %d sent", len(upstreamGot), len(body))
	}
}

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("scanner bug") }
