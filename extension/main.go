// Command bodytrace is the Lambda extension: it registers with the Extensions API, serves
// the Runtime API proxy and the Telemetry API listener, and exports one trace per
// invocation. This file is wiring only; the loop lives in internal/lifecycle.
package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bodytrace/bodytrace/internal/capture"
	"github.com/bodytrace/bodytrace/internal/config"
	"github.com/bodytrace/bodytrace/internal/export"
	"github.com/bodytrace/bodytrace/internal/extapi"
	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/lifecycle"
	"github.com/bodytrace/bodytrace/internal/runtimeproxy"
	"github.com/bodytrace/bodytrace/internal/secrets"
	"github.com/bodytrace/bodytrace/internal/steps"
	"github.com/bodytrace/bodytrace/internal/telemetry"
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
	captureCfg, problems := capture.FromEnv(os.Getenv)
	for _, p := range problems {
		log.Warn("config", "problem", p)
	}
	otlpHeadersFromAWS(ctx, log)
	exp := newExporter(ctx, cfg, log)

	var (
		observer  *runtimeproxy.AsyncObserver
		proxy     *runtimeproxy.Proxy
		stepsLn   *steps.Listener
		stepCount = steps.NewCounter(log)
	)
	ext := extapi.New(runtimeAPI)
	loop := lifecycle.New(lifecycle.Config{
		FlushTimeout:      cfg.FlushTimeout,
		TelemetryWait:     cfg.TelemetryWait,
		ResponseGrace:     cfg.ResponseGrace,
		LateWriteWait:     cfg.LateWriteWait,
		Capture:           captureCfg,
		Started:           started,
		RuntimeObserved:   func() bool { return proxy != nil && proxy.Seen() },
		DrainObservations: func(ctx context.Context) error { return observer.Flush(ctx) },
		SyncSteps: func(ctx context.Context) error {
			if stepsLn == nil {
				return nil
			}
			return stepsLn.Sync(ctx)
		},
	}, ext, exp, log)

	// Observations reach the loop on a goroutine of their own: parsing a 6 MB event must
	// never delay the runtime's next request.
	observer = runtimeproxy.Async(loop, 4096, log)

	// Step lines by datagram: the wrapper advertises this address to the function.
	if ln, err := steps.Listen(cfg.StepsAddr, loop.Step, stepCount); err != nil {
		log.Warn("step line listener not started; steps only from the function's log", "addr", cfg.StepsAddr, "err", err)
	} else {
		stepsLn = ln
		defer ln.Close()
	}

	// The proxy listens before /register: the runtime starts as soon as every extension
	// has registered, and the wrapper sends it here only if something is listening. Its
	// observations reach the loop through the queue above, and buffered results are
	// measured by a scanner as they pass, so only their first 64 KiB are kept.
	proxy = runtimeproxy.New(runtimeproxy.Config{Upstream: runtimeAPI, Logger: log,
		Scan: func(*http.Request) io.Writer { return new(invocation.ResultScanner) }}, observer)
	if srv, err := runtimeproxy.Listen(cfg.ProxyAddr, proxy); err != nil {
		// Fail open: the wrapper finds nothing listening and leaves the runtime alone.
		log.Warn("runtime API proxy not started; responses will not be observed", "addr", cfg.ProxyAddr, "err", err)
	} else {
		defer srv.Close(context.Background())
		if ready, err := writeReady(cfg.ProxyAddr); err == nil {
			defer os.Remove(ready)
		}
	}

	// Resolve the telemetry listener's address while registering: a DNS lookup need not
	// lengthen the cold start.
	telemetryAddr := make(chan string, 1)
	go func() {
		if cfg.TelemetryAddr != "" {
			telemetryAddr <- cfg.TelemetryAddr
			return
		}
		telemetryAddr <- telemetry.DefaultAddr(ctx)
	}()

	reg, err := ext.Register(ctx, filepath.Base(os.Args[0]), extapi.Invoke, extapi.Shutdown)
	if err != nil {
		return err
	}
	log.Info("registered", "function", reg.FunctionName, "events", reg.Events,
		"proxy", cfg.ProxyAddr, "init_ms", strconv.FormatFloat(float64(time.Since(started).Microseconds())/1000, 'f', 2, 64))

	subscribeTelemetry(ctx, <-telemetryAddr, runtimeAPI, ext.ID(), loop, log)
	if err := loop.Run(ctx); err != nil {
		// The event loop lost the Extensions API: say so to Lambda before exiting.
		_ = ext.ExitError(context.Background(), "Extension.EventLoopFailed", err)
		return err
	}
	return nil
}

// subscribeTelemetry starts the listener and subscribes; without telemetry bodytrace
// carries on with the proxy alone.
func subscribeTelemetry(ctx context.Context, addr, runtimeAPI, extID string, loop *lifecycle.Loop, log *slog.Logger) {
	ln, err := telemetry.Listen(addr, loop.Telemetry, log)
	if err != nil {
		log.Warn("telemetry listener not started", "addr", addr, "err", err)
		return
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	sub, err := telemetry.Subscribe(ctx, client, runtimeAPI, extID, ln.URI(),
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
	}
}

// otlpHeadersFromAWS reads the OTLP headers (API keys) from Secrets Manager or SSM when
// BODYTRACE_OTLP_HEADERS_SECRET_ARN names one, once, bounded, and never logs them.
func otlpHeadersFromAWS(ctx context.Context, log *slog.Logger) {
	arn := strings.TrimSpace(os.Getenv(secrets.EnvARN))
	if arn == "" {
		return
	}
	h, err := secrets.Resolve(ctx, arn)
	if err != nil {
		log.Warn("OTLP headers not read; exporting without them", "err", err)
		return
	}
	if old := os.Getenv("OTEL_EXPORTER_OTLP_HEADERS"); old != "" {
		h = old + "," + h
	}
	_ = os.Setenv("OTEL_EXPORTER_OTLP_HEADERS", h)
	log.Debug("OTLP headers read", "arn", arn)
}

func newExporter(ctx context.Context, cfg config.Config, log *slog.Logger) *export.Exporter {
	ecfg := export.Config{
		OTLP:         cfg.OTLP,
		Protocol:     cfg.Protocol,
		FlushTimeout: cfg.FlushTimeout,
		Function: export.Function{
			Name:    os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
			Version: os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"),
			Region:  os.Getenv("AWS_REGION"),
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
	ecfg.OTLPMetrics = cfg.OTLPMetrics
	ecfg.ParentBased = cfg.ParentBased
	ratio := cfg.SampleHealthy
	ecfg.SampleHealthy = &ratio
	exp, err := export.New(ctx, ecfg)
	if err != nil {
		// Never fail init over our own configuration: fall back to summary lines.
		log.Warn("OTLP exporter not available; writing summary lines instead", "err", err)
		exp, _ = export.New(ctx, export.Config{Summary: os.Stdout, Function: ecfg.Function})
	}
	return exp
}

// writeReady leaves this process's pid where the exec wrapper looks before it points the
// runtime at the proxy (TMPDIR/bodytrace/proxy-<port>): it then needs no probe.
func writeReady(proxyAddr string) (string, error) {
	_, port, err := net.SplitHostPort(proxyAddr)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), "bodytrace")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "proxy-"+port)
	return path, os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l})).With("ext", "bodytrace")
}
