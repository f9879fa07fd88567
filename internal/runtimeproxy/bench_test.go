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

func benchUpstream(b *testing.B) string {
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
	client := runtimeClient(b)
	body := randomBytes(1<<20, 1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(base+responsePath, "application/octet-stream", bytes.NewReader(body))
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

// BenchmarkProxyStream streams a 1 MiB response in 64 chunks of 16 KiB.
func BenchmarkProxyStream(b *testing.B) {
	_, base := startProxy(b, Config{Upstream: benchUpstream(b)}, nopObserver{})
	client := runtimeClient(b)
	body := randomBytes(1<<20, 2)
	var chunks [][]byte
	for c := range slices.Chunk(body, 16<<10) {
		chunks = append(chunks, c)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, base+responsePath, streamBody(chunks, nil))
		req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := client.Do(req)
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
