package runtimeproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
)

// Server serves a Proxy on a bound listener.
type Server struct {
	proxy *Proxy
	ln    net.Listener
	srv   *http.Server
	done  chan struct{}
}

// Listen binds addr now, so the proxy is reachable before the extension
// registers (the runtime starts as soon as every extension has registered),
// and serves p in a goroutine until Close.
func Listen(addr string, p *Proxy) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the runtime on %s: %w", addr, err)
	}
	return Serve(ln, p), nil
}

// Serve serves p on ln, bound earlier, in a goroutine until Close. Connections made
// between the bind and this call wait in the listen backlog.
func Serve(ln net.Listener, p *Proxy) *Server {
	s := &Server{
		proxy: p,
		ln:    ln,
		// No read or idle timeouts: /next is a long poll, streams can last
		// the whole invocation, and the sandbox freezes between invocations.
		srv: &http.Server{
			Handler:  p,
			ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("runtime api proxy: serve failed", "addr", ln.Addr().String(), "error", err.Error())
		}
	}()
	return s
}

// Addr returns the bound host:port, the value for AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting, waits until ctx is done for exchanges in flight to
// finish, then closes the remaining connections (a runtime blocked on /next
// never finishes) and the idle connections to the Runtime API.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	s.proxy.transport.CloseIdleConnections()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close runtime api proxy: %w", err)
	}
	return nil
}
