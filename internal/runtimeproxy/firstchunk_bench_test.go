package runtimeproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// firstChunkUpstream is a Runtime API that notes when a posted body's first bytes arrive:
// headers reach it first (the Transport flushes them for a streamed body), then it blocks
// in Read until the runtime's first chunk has crossed the proxy.
type firstChunkUpstream struct {
	headers chan struct{}
	first   chan time.Time
}

func newFirstChunkUpstream(b *testing.B) (*firstChunkUpstream, string) {
	u := &firstChunkUpstream{headers: make(chan struct{}, 1), first: make(chan time.Time, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.headers <- struct{}{}
		buf := make([]byte, 64<<10)
		n, _ := r.Body.Read(buf)
		if n > 0 {
			u.first <- time.Now()
		} else {
			u.first <- time.Time{}
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "16")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, accepted)
	}))
	b.Cleanup(srv.Close)
	return u, srv.Listener.Addr().String()
}

// benchFirstChunk streams responses to base: once the Runtime API holds the request's
// headers, the runtime writes its first 16 KiB chunk; the metric first-chunk-µs is the time
// from that write to the chunk's arrival at the Runtime API.
func benchFirstChunk(b *testing.B, u *firstChunkUpstream, base string) {
	client := runtimeClient(b)
	chunk := randomBytes(16<<10, 3)
	var total time.Duration
	b.ReportAllocs()
	for b.Loop() {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, base+responsePath, pr)
		req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
		req.Header.Set("Content-Type", "application/octet-stream")
		done := make(chan error, 1)
		go func() {
			resp, err := client.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			done <- err
		}()
		<-u.headers
		wrote := time.Now()
		if _, err := pw.Write(chunk); err != nil {
			b.Fatal(err)
		}
		arrived := <-u.first
		if arrived.IsZero() {
			b.Fatal("first chunk never arrived")
		}
		total += arrived.Sub(wrote)
		pw.Close()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "first-chunk-µs")
}

// BenchmarkProxyFirstChunk measures how long the proxy takes to forward a stream's first
// chunk to the Runtime API (the "first chunk forwarded within 1 ms").
func BenchmarkProxyFirstChunk(b *testing.B) {
	u, addr := newFirstChunkUpstream(b)
	_, base := startProxy(b, Config{Upstream: addr}, nopObserver{})
	benchFirstChunk(b, u, base)
}

// BenchmarkDirectFirstChunk is the same stream sent straight to the Runtime API, the floor
// BenchmarkProxyFirstChunk is compared with.
func BenchmarkDirectFirstChunk(b *testing.B) {
	u, addr := newFirstChunkUpstream(b)
	benchFirstChunk(b, u, "http://"+addr)
}
