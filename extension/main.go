// Command bodytrace is the Lambda extension: it registers with the Extensions API, serves
// the Runtime API proxy and the Telemetry API listener, and exports one trace per
// invocation. This file is wiring only; the loop lives in internal/lifecycle.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bodytrace/bodytrace/internal/capture"
	"github.com/bodytrace/bodytrace/internal/config"
	"github.com/bodytrace/bodytrace/internal/export"
	"github.com/bodytrace/bodytrace/internal/extapi"
	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/lifecycle"
	"github.com/bodytrace/bodytrace/internal/otlp"
	"github.com/bodytrace/bodytrace/internal/runtimeproxy"
	"github.com/bodytrace/bodytrace/internal/secrets"
	"github.com/bodytrace/bodytrace/internal/steps"
	"github.com/bodytrace/bodytrace/internal/telemetry"
	"github.com/bodytrace/bodytrace/internal/version"
	"github.com/bodytrace/bodytrace/steps/ready"
)

func main() {
	started := time.Now()
	cfg := config.Load(os.Getenv)
	log := newLogger(cfg.LogLevel)
	for _, p := range cfg.Problems {
		log.Warn("config", "problem", p)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, started, cfg, log); err != nil {
		log.Error("bodytrace stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, started time.Time, cfg config.Config, log *slog.Logger) error {
	runtimeAPI := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	// /register comes first: the runtime starts as soon as every extension has registered,
	// so each step before it lengthens the cold start. Only the proxy's port is bound
	// before (the wrapper finds the proxy by its ready file, written once the port is
	// bound); connections made before the proxy serves wait in the listen backlog, and
	// everything else is built while /register is in flight.
	nonce := ready.NewNonce()
	var readyErr error
	proxyLn, proxyErr := listenProxy(cfg.ProxyAddr)
	if proxyErr == nil {
		defer proxyLn.Close()
		path, err := writeReady(cfg.ProxyAddr, proxyLn.Addr().String(), nonce)
		if err == nil {
			defer os.Remove(path)
		} else {
			readyErr = err // unproven, the wrapper and the Go probe leave the runtime alone
		}
	}
	ext := extapi.New(runtimeAPI)
	type registration struct {
		extapi.Registration
		err  error
		took time.Duration // process start to /register done
	}
	registered := make(chan registration, 1)
	go func() {
		reg, err := ext.Register(ctx, filepath.Base(os.Args[0]), extapi.Invoke, extapi.Shutdown)
		registered <- registration{reg, err, time.Since(started)}
	}()
	// Resolve the telemetry listener's address meanwhile too: a DNS lookup need not
	// lengthen the cold start.
	telemetryAddr := make(chan string, 1)
	go func() {
		if cfg.TelemetryAddr != "" {
			telemetryAddr <- cfg.TelemetryAddr
			return
		}
		telemetryAddr <- telemetry.DefaultAddr(ctx)
	}()

	captureCfg, problems := capture.FromEnv(os.Getenv)
	for _, p := range problems {
		log.Warn("config", "problem", p)
	}
	// A secret's headers are read in the background and applied before the first /next.
	headers := otlpHeadersFromAWS(ctx, log)
	exp := newExporter(cfg, log)

	var (
		observer  *runtimeproxy.AsyncObserver
		proxy     *runtimeproxy.Proxy
		stepsLn   atomic.Pointer[steps.Listener]
		telemLn   atomic.Pointer[telemetry.Listener]
		stepCount = steps.NewCounter(log)
	)
	loop := lifecycle.New(lifecycle.Config{
		FlushTimeout:    cfg.FlushTimeout,
		TelemetryWait:   cfg.TelemetryWait,
		ResponseGrace:   cfg.ResponseGrace,
		LateWriteWait:   cfg.LateWriteWait,
		Capture:         captureCfg,
		Started:         started,
		RuntimeObserved: func() bool { return proxy != nil && proxy.Seen() },
		DrainObservations: func(ctx context.Context) error {
			err := observer.Flush(ctx)
			if ln := telemLn.Load(); ln != nil {
				err = errors.Join(err, ln.Sync(ctx))
			}
			return err
		},
		SyncSteps: func(ctx context.Context) error {
			if ln := stepsLn.Load(); ln != nil {
				return ln.Sync(ctx)
			}
			return nil
		},
	}, ext, exp, log)

	// Observations reach the loop on a goroutine of their own: parsing a 6 MB event must
	// never delay the runtime's next request.
	observer = runtimeproxy.Async(loop, 4096, log)

	// Buffered results are measured by a scanner as they pass, so only their first 64 KiB
	// are kept.
	proxy = runtimeproxy.New(runtimeproxy.Config{Upstream: runtimeAPI, Logger: log, Nonce: nonce,
		Scan: func(*http.Request) io.Writer { return new(invocation.ResultScanner) }}, observer)
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

	// Step lines by datagram: the wrapper advertises this address to the function, which
	// sends nothing before its first invocation, after our first /next.
	if ln, err := steps.Listen(cfg.StepsAddr, loop.Step, stepCount); err != nil {
		log.Warn("step line listener not started; steps only from the function's log", "addr", cfg.StepsAddr, "err", err)
	} else {
		stepsLn.Store(ln)
		defer ln.Close()
	}
	if h, ok := <-headers; ok {
		exp.AddHeaders(h)
	}
	// The first export's connection is opened now, while the runtime initialises.
	exp.Warm(cfg.FlushTimeout)
	if ln := subscribeTelemetry(ctx, <-telemetryAddr, runtimeAPI, ext, loop, log); ln != nil {
		telemLn.Store(ln)
	}
	if err := loop.Run(ctx); err != nil {
		// The event loop lost the Extensions API: say so to Lambda before exiting.
		_ = ext.ExitError(context.Background(), "Extension.EventLoopFailed", err)
		return err
	}
	return nil
}

// subscribeTelemetry starts the listener and subscribes, returning the listener while
// telemetry is delivered; without telemetry bodytrace carries on with the proxy alone.
func subscribeTelemetry(ctx context.Context, addr, runtimeAPI string, ext *extapi.Client, loop *lifecycle.Loop, log *slog.Logger) *telemetry.Listener {
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
	}
	if err != nil || !sub.Supported {
		_ = ln.Close(ctx)
		return nil
	}
	return ln
}

// otlpHeadersFromAWS reads the OTLP headers (API keys) from Secrets Manager or SSM when
// BODYTRACE_OTLP_HEADERS_SECRET_ARN names one: once, in the background, bounded, never
// logged. The channel yields them, or closes without them.
func otlpHeadersFromAWS(ctx context.Context, log *slog.Logger) <-chan map[string]string {
	out := make(chan map[string]string, 1)
	arn := strings.TrimSpace(os.Getenv(secrets.EnvARN))
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

func newExporter(cfg config.Config, log *slog.Logger) *export.Exporter {
	ecfg := export.Config{
		FlushTimeout: cfg.FlushTimeout,
		Flush:        cfg.Flush,
		Log:          log,
		Function: export.Function{
			Name:    os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
			Version: os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"),
			Region:  os.Getenv("AWS_REGION"),
			// OTEL_SERVICE_NAME, else the function's name.
			ServiceName: cfg.ServiceName,
		},
	}
	if mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil {
		ecfg.Function.MemoryMB = mb
	}
	if cfg.Summary {
		ecfg.Summary = os.Stdout
	}
	if cfg.Metrics {
		ecfg.Metrics = os.Stdout
	}
	var sigs []otlp.Signal
	if cfg.OTLP {
		sigs = append(sigs, otlp.Traces)
	}
	if cfg.OTLPMetrics {
		sigs = append(sigs, otlp.Metrics)
	}
	eps, problems := otlp.FromEnv(os.Getenv, cfg.Protocol, sigs...)
	for _, p := range problems {
		log.Warn("config", "problem", p)
	}
	if ep, ok := eps[otlp.Traces]; ok {
		ecfg.OTLP = &ep
	}
	if ep, ok := eps[otlp.Metrics]; ok {
		ecfg.OTLPMetrics = &ep
	}
	ecfg.ParentBased = cfg.ParentBased
	ecfg.Propagators = cfg.Propagators
	ratio := cfg.SampleHealthy
	ecfg.SampleHealthy = &ratio
	return export.New(ecfg)
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
func writeReady(configured, bound, nonce string) (string, error) {
	path, err := ready.Path(os.TempDir(), configured)
	if err != nil {
		return "", err
	}
	return path, ready.Write(path, ready.File{Pid: os.Getpid(), Addr: bound, Nonce: nonce})
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l})).With("ext", "bodytrace")
}
