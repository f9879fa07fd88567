package runtimeproxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// nopObserver discards observations, so benchmarks measure the proxy.
type nopObserver struct{}

func (nopObserver) Next(Next)         {}
func (nopObserver) Response(Response) {}

func benchUpstream(b testing.TB) string {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "16")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, accepted)
	}))
	b.Cleanup(up.Close)
	return up.Listener.Addr().String()
}

// BenchmarkProxyBuffered1MiB posts a 1 MiB buffered response through the proxy.
func BenchmarkProxyBuffered1MiB(b *testing.B) {
	_, base := startProxy(b, Config{Upstream: benchUpstream(b)}, nopObserver{})
	body := randomBytes(1<<20, 1)
	b.SetBytes(int64(len(body)))
	benchPost(b, base, body)
}

// BenchmarkProxyStream streams a 1 MiB response in 64 chunks of 16 KiB.
func BenchmarkProxyStream(b *testing.B) {
	_, base := startProxy(b, Config{Upstream: benchUpstream(b)}, nopObserver{})
	body := randomBytes(1<<20, 2)
	var chunks [][]byte
	for c := range slices.Chunk(body, 16<<10) {
		chunks = append(chunks, c)
	}
	b.SetBytes(int64(len(body)))
	benchResults(b, func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, base+responsePath, streamBody(chunks, nil))
		req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
		req.Header.Set("Content-Type", "application/octet-stream")
		return req
	})
}

// BenchmarkProxySmall posts a 1 KiB buffered result through the proxy, the exchange of
// most invocations: what each one costs in hand-offs and wake-ups, not in bytes.
func BenchmarkProxySmall(b *testing.B) {
	_, base := startProxy(b, Config{Upstream: benchUpstream(b)}, nopObserver{})
	benchPost(b, base, randomBytes(1<<10, 3))
}

// BenchmarkDirectSmall is BenchmarkProxySmall without the proxy.
func BenchmarkDirectSmall(b *testing.B) {
	benchPost(b, "http://"+benchUpstream(b), randomBytes(1<<10, 3))
}

// benchPost posts body as a buffered result to base until the benchmark ends.
func benchPost(b *testing.B, base string, body []byte) {
	benchResults(b, func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, base+responsePath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return req
	})
}

// benchResults sends the results next makes until the benchmark ends; each must be accepted.
func benchResults(b *testing.B, next func() *http.Request) {
	client := runtimeClient(b)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Do(next())
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
