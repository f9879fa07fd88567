package localrun

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Remote stands in for a trace backend at a distance (a SaaS endpoint, a gateway in
// another VPC): a loopback OTLP/HTTP endpoint that forwards each request to a real
// receiver (Jaeger) and answers after a set delay. A stand-in because the network
// between Lambda and a real backend cannot run here; the receiver behind it is real.
type Remote struct {
	// Addr is the endpoint's host:port: OTEL_EXPORTER_OTLP_ENDPOINT=http://<Addr>.
	Addr string

	srv   *http.Server
	delay time.Duration

	arrived, answered atomic.Int64

	mu     sync.Mutex
	gate   chan struct{} // while not nil, requests wait for it to close
	bodies [][]byte      // the requests answered, in order
}

// StartRemote serves a stand-in in front of the OTLP/HTTP receiver at upstream
// (host:port) that answers each request delay after it arrived.
func StartRemote(upstream string, delay time.Duration) (*Remote, error) {
	target, err := url.Parse("http://" + upstream)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Remote{Addr: ln.Addr().String(), delay: delay}
	rp := httputil.NewSingleHostReverseProxy(target)
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived := time.Now()
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		// An empty request opens a connection ahead of the first export (Warm): not an export.
		export := len(body) > 0
		if export {
			r.arrived.Add(1)
		}
		r.mu.Lock()
		gate := r.gate
		r.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-req.Context().Done():
				return
			}
		}
		t := time.NewTimer(time.Until(arrived.Add(delay)))
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(&answering{ResponseWriter: w, done: func() {
			// Counted before the answer is written: once the exporter has read it, the
			// count includes it.
			if !export {
				return
			}
			r.mu.Lock()
			r.bodies = append(r.bodies, body)
			r.mu.Unlock()
			r.answered.Add(1)
		}}, req)
	})}
	go r.srv.Serve(ln)
	return r, nil
}

// answering calls done once, before the response's header is written.
type answering struct {
	http.ResponseWriter
	once sync.Once
	done func()
}

func (a *answering) WriteHeader(code int) {
	a.once.Do(a.done)
	a.ResponseWriter.WriteHeader(code)
}

func (a *answering) Write(p []byte) (int, error) {
	a.once.Do(a.done)
	return a.ResponseWriter.Write(p)
}

// Hold makes requests wait, from now until Release, before their delay starts.
func (r *Remote) Hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gate == nil {
		r.gate = make(chan struct{})
	}
}

// Release lets held requests go on.
func (r *Remote) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gate != nil {
		close(r.gate)
		r.gate = nil
	}
}

// Arrived counts the exports received (empty requests aside); Answered those answered.
func (r *Remote) Arrived() int64  { return r.arrived.Load() }
func (r *Remote) Answered() int64 { return r.answered.Load() }

// Bodies returns the requests answered so far, in order.
func (r *Remote) Bodies() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// Close stops the stand-in.
func (r *Remote) Close() {
	r.Release()
	_ = r.srv.Close()
}
