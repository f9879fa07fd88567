package runtimeproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/bodytrace/bodytrace/internal/connbudget"
)

// Bounds on what connections to the proxy may hold. Lambda gives the extension 1,024
// descriptors: the budget leaves room for the upstream, telemetry and export sockets, so
// idle connections from anyone in the sandbox cannot make accept fail for the runtime.
const (
	// MaxConns is the proxy's connection budget; past it the oldest idle ones are closed.
	MaxConns = 512
	// ReadHeaderTimeout bounds a request's headers (a runtime sends them at once), and so
	// a connection that never sends any.
	ReadHeaderTimeout = 10 * time.Second
	// IdleTimeout closes a keep-alive connection idle between requests. Long: a runtime's
	// pooled connection sits idle while the sandbox is frozen, and closing it under a
	// thawing runtime could cut its next request.
	IdleTimeout = 15 * time.Minute
)

// Server serves a Proxy on a bound listener.
type Server struct {
	proxy *Proxy
	ln    *connbudget.Listener
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
	budget := connbudget.New(ln, MaxConns)
	s := &Server{
		proxy: p,
		ln:    budget,
		// No read or write timeout: /next is a long poll, streams can last the whole
		// invocation, and the sandbox freezes between invocations. Headers and idle
		// connections are bounded, and so is their number.
		srv: &http.Server{
			Handler:           p,
			ReadHeaderTimeout: ReadHeaderTimeout,
			IdleTimeout:       IdleTimeout,
			ConnState: func(c net.Conn, st http.ConnState) {
				budget.ConnState(c, st)
				p.connState(c, st)
			},
			ConnContext: connContext,
			ErrorLog:    slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(budget); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("runtime api proxy: serve failed", "addr", ln.Addr().String(), "error", err.Error())
		}
	}()
	return s
}

// Conns returns how many connections the proxy holds open now, and how many idle ones it
// closed to stay within MaxConns.
func (s *Server) Conns() (open int, evicted uint64) { return s.ln.Open(), s.ln.Evicted() }

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
