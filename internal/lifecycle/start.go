package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/bodytrace/bodytrace/internal/config"
	"github.com/bodytrace/bodytrace/internal/export"
	"github.com/bodytrace/bodytrace/internal/extapi"
	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/otlp"
	"github.com/bodytrace/bodytrace/internal/runtimeproxy"
	"github.com/bodytrace/bodytrace/internal/secrets"
	"github.com/bodytrace/bodytrace/internal/steps"
	"github.com/bodytrace/bodytrace/internal/telemetry"
	"github.com/bodytrace/bodytrace/internal/version"
	"github.com/bodytrace/bodytrace/steps/ready"
)

// Process is what Start needs of the extension's process besides its configuration.
type Process struct {
	Name    string       // the name it registers under: its file name, as Lambda runs it
	Started time.Time    // when the process started, for the init span and the init_ms figure
	Log     *slog.Logger // the extension's log
	Out     io.Writer    // where summary and metric lines go: the function's log, through stdout
	TempDir string       // where the ready file goes (TMPDIR, /tmp on Lambda)
}

// Start runs the extension in one execution environment until SHUTDOWN or ctx ends, in the
// order the cold start needs:
//
//  1. bind the proxy's port and write the ready file (the exec wrapper and the Go steps
//     package wait for neither: without the file they leave the runtime alone);
//  2. /register, in the background: the runtime starts once every extension has
//     registered, so each step before it lengthens the cold start; meanwhile resolve the
//     telemetry address, read the OTLP headers' secret, build the exporter, the loop and
//     the proxy, and serve the proxy (connections made before wait in the listen backlog);
//  3. after /register: the step listener, the exporter's first connection, the telemetry
//     subscription (the OTLP headers' secret is still being read meanwhile: exports wait
//     for it, the first /next does not);
//  4. the event loop, then one "stopped" line with every part's counts.
//
// Nothing here fails the function's init: a part that cannot start is logged and left
// out. Only a failed /register, or the loop losing the Extensions API, returns an error.
func Start(ctx context.Context, cfg config.Config, p Process) error {
	log := p.Log
	nonce := ready.NewNonce()
	proxyLn, proxyErr := listenProxy(cfg.ProxyAddr)
	var readyErr, fifoErr error
	var fifo *steps.FIFO
	if proxyErr == nil {
		defer proxyLn.Close()
		// The step pipe first: the wrapper looks for it once the ready file is there.
		if readyPath, err := ready.Path(p.TempDir, cfg.ProxyAddr); err == nil {
			if fifo, fifoErr = steps.MakeFIFO(steps.FIFOPath(readyPath)); fifoErr == nil {
				defer fifo.Close()
			}
		}
		path, err := writeReady(p.TempDir, cfg.ProxyAddr, proxyLn.Addr().String(), nonce)
		if err == nil {
			defer os.Remove(path)
		} else {
			readyErr = err // unproven, the wrapper and the Go probe leave the runtime alone
		}
	}

	ext := extapi.New(cfg.RuntimeAPI)
	type registration struct {
		extapi.Registration
		err  error
		took time.Duration // process start to /register done
	}
	registered := make(chan registration, 1)
	go func() {
		reg, err := ext.Register(ctx, p.Name, extapi.Invoke, extapi.Shutdown)
		registered <- registration{reg, err, time.Since(p.Started)}
	}()
	telemetryAddr := make(chan string, 1)
	go func() {
		if cfg.TelemetryAddr != "" {
			telemetryAddr <- cfg.TelemetryAddr
			return
		}
		telemetryAddr <- telemetry.DefaultAddr(ctx) // a DNS lookup: not on the cold start's path
	}()
	headers := otlpHeaders(ctx, cfg.HeadersSecretARN, log)

	exp := export.New(exporterConfig(cfg, p, log))
	// The secret is read while the function initialises: exports wait for its headers,
	// the first /next does not.
	exp.HeadersFrom(headers)
	loop := New(Config{
		FlushTimeout:  cfg.FlushTimeout,
		TelemetryWait: cfg.TelemetryWait,
		ResponseGrace: cfg.ResponseGrace,
		LateWriteWait: cfg.LateWriteWait,
		Capture:       cfg.Capture,
		Started:       p.Started,
	}, ext, exp, log)
	// Observations reach the loop on a goroutine of their own: parsing a 6 MB event must
	// never delay the runtime's next request.
	observer := runtimeproxy.Async(loop, 4096, log)
	loop.DrainAtShutdown(observer.Flush)
	// Buffered results are measured by a scanner as they pass, so only their first 64 KiB
	// are kept.
	proxy := runtimeproxy.New(runtimeproxy.Config{Upstream: cfg.RuntimeAPI, Logger: log, Nonce: nonce,
		Scan: func(*http.Request) io.Writer { return new(invocation.ResultScanner) }}, observer)
	loop.ProxySeen(proxy.Seen)
	if proxyErr != nil {
		// Fail open: the wrapper finds nothing listening and leaves the runtime alone.
		log.Warn("runtime API proxy not started; responses will not be observed", "addr", cfg.ProxyAddr, "err", proxyErr)
	} else {
		if readyErr != nil {
			log.Warn("ready file not written; the exec wrapper and the Go steps package will leave the runtime untouched", "err", readyErr)
		}
		if got := proxyLn.Addr().String(); got != cfg.ProxyAddr {
			log.Warn("runtime API proxy port taken; listening on another, named in the ready file", "configured", cfg.ProxyAddr, "addr", got)
		}
		srv := runtimeproxy.Serve(proxyLn, proxy)
		defer srv.Close(context.Background())
	}

	reg := <-registered
	if reg.err != nil {
		return reg.err
	}
	log.Info("registered", "version", version.String(), "function", reg.FunctionName, "events", reg.Events,
		"proxy", cfg.ProxyAddr, "init_ms", strconv.FormatFloat(float64(reg.took.Microseconds())/1000, 'f', 2, 64))

	// Step lines come by pipe (the Node.js helper), by datagram (the Go steps package, and
	// the helper's lines too long for one pipe write) and in the function's log, all with
	// one count. The wrapper advertises the pipe and the address to the function, which
	// sends nothing before its first invocation, after our first /next.
	var syncs []func(context.Context) error
	if ln, err := steps.Listen(cfg.StepsAddr, loop.Step, loop.stepLines); err != nil {
		log.Warn("step line listener not started; steps only from the function's log", "addr", cfg.StepsAddr, "err", err)
	} else {
		syncs = append(syncs, ln.Sync)
		defer ln.Close()
	}
	if fifo != nil {
		fifo.Serve(loop.Step, loop.stepLines)
		syncs = append(syncs, fifo.Sync)
	} else if fifoErr != nil {
		log.Warn("step pipe not made; the Node.js helper sends its step lines by datagram", "err", fifoErr)
	}
	loop.SyncSteps(func(ctx context.Context) error {
		var err error
		for _, sync := range syncs {
			err = errors.Join(err, sync(ctx))
		}
		return err
	})
	// The first export's connection is opened now, while the runtime initialises.
	exp.Warm(cfg.FlushTimeout)
	telem := subscribeTelemetry(ctx, <-telemetryAddr, cfg.RuntimeAPI, ext, loop, log)
	if telem != nil {
		loop.DrainAtShutdown(telem.Sync)
	}

	err := loop.Run(ctx)
	if err != nil {
		// The event loop lost the Extensions API: say so to Lambda before exiting.
		_ = ext.ExitError(context.Background(), "Extension.EventLoopFailed", err)
	}
	logStopped(log, loop, exp, proxy, observer, fifo, telem)
	return err
}

// logStopped writes the one line that sums up an execution environment: what the loop
// finished and every part's counts, so a part that silently dropped work shows.
func logStopped(log *slog.Logger, loop *Loop, exp *export.Exporter, proxy *runtimeproxy.Proxy,
	observer *runtimeproxy.AsyncObserver, fifo *steps.FIFO, telem *telemetry.Listener) {
	st, ps, ss := loop.Stats(), proxy.Stats(), loop.stepLines.Stats()
	attrs := []any{"finished", st.Finished, "late_events", st.LateEvents, "evicted", st.Dropped,
		"strays", st.Strays, "failed_flushes", st.FlushFailures, "spans_dropped", exp.Dropped(),
		"runtime_nexts", ps.Nexts, "runtime_results", ps.Responses, "runtime_errors", ps.Errors,
		"observations_dropped", observer.Dropped(),
		"step_lines", ss.Accepted, "step_lines_rejected", ss.Rejected}
	if fifo != nil {
		attrs = append(attrs, "step_lines_by_pipe", fifo.Lines())
	}
	if telem != nil {
		ts := telem.Stats()
		attrs = append(attrs, "telemetry_events", ts.Events, "telemetry_malformed", ts.Malformed+ts.Oversized,
			"telemetry_dropped", ts.Dropped)
	}
	log.Info("stopped", attrs...)
}

// subscribeTelemetry starts the listener and subscribes, returning the listener while
// telemetry is delivered; without telemetry bodytrace carries on with the proxy alone.
func subscribeTelemetry(ctx context.Context, addr, runtimeAPI string, ext *extapi.Client, loop *Loop, log *slog.Logger) *telemetry.Listener {
	ln, err := telemetry.Listen(addr, loop.Telemetry, log)
	if err != nil {
		log.Warn("telemetry listener not started", "addr", addr, "err", err)
		return nil
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: ext.Transport()}
	sub, err := telemetry.Subscribe(ctx, client, runtimeAPI, ext.ID(), ln.URI(),
		[]string{"platform", "function", "extension"}, telemetry.Buffering{})
	switch {
	case err != nil:
		log.Warn("telemetry subscription failed; carrying on with the Runtime API proxy alone", "err", err)
	case !sub.Supported:
		log.Info("telemetry not supported here; carrying on with the Runtime API proxy alone")
	default:
		loop.SetTelemetry(true)
		log.Debug("subscribed to telemetry", "schema", sub.Schema, "uri", ln.URI())
		return ln
	}
	_ = ln.Close(ctx)
	return nil
}

// otlpHeaders reads the OTLP headers (API keys) from Secrets Manager or SSM when arn names
// one: once, in the background, bounded, never logged. The channel yields them, or closes
// without them.
func otlpHeaders(ctx context.Context, arn string, log *slog.Logger) <-chan map[string]string {
	out := make(chan map[string]string, 1)
	if arn == "" {
		close(out)
		return out
	}
	go func() {
		defer close(out)
		raw, err := secrets.Resolve(ctx, arn)
		if err != nil {
			log.Warn("OTLP headers not read; exporting without them", "err", err)
			return
		}
		h, problems := otlp.ParseHeaders("the secret at "+arn, raw)
		for _, p := range problems {
			log.Warn("config", "problem", p)
		}
		out <- h
		log.Debug("OTLP headers read", "arn", arn)
	}()
	return out
}

// exporterConfig is the exporter's part of the configuration.
func exporterConfig(cfg config.Config, p Process, log *slog.Logger) export.Config {
	ecfg := export.Config{
		FlushTimeout: cfg.FlushTimeout,
		Flush:        cfg.Flush,
		Log:          log,
		Function:     cfg.Function,
		ParentBased:  cfg.ParentBased,
		Propagators:  cfg.Propagators,
	}
	if cfg.Summary {
		ecfg.Summary = p.Out
	}
	if cfg.Metrics {
		ecfg.Metrics = p.Out
	}
	if ep, ok := cfg.Endpoints[otlp.Traces]; ok {
		ecfg.OTLP = &ep
	}
	if ep, ok := cfg.Endpoints[otlp.Metrics]; ok {
		ecfg.OTLPMetrics = &ep
	}
	ratio := cfg.SampleHealthy
	ecfg.SampleHealthy = &ratio
	return ecfg
}

// listenProxy binds the proxy's address, or, when another program holds that port, any
// free port on the same host: the ready file tells the wrapper and the Go probe which.
func listenProxy(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return nil, err
	}
	ln, err2 := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err2 != nil {
		return nil, fmt.Errorf("%w; and no other port: %w", err, err2)
	}
	return ln, nil
}

// writeReady leaves this process's pid, the proxy's bound address and the nonce it echoes
// where the exec wrapper and the Go probe look before they point the runtime at the proxy
// (TMPDIR/bodytrace/proxy-<configured port>).
func writeReady(dir, configured, bound, nonce string) (string, error) {
	path, err := ready.Path(dir, configured)
	if err != nil {
		return "", err
	}
	return path, ready.Write(path, ready.File{Pid: os.Getpid(), Addr: bound, Nonce: nonce})
}
