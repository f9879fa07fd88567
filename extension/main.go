// Command bodytrace is the Lambda extension: it registers with the Extensions API, serves
// the Runtime API proxy and the Telemetry API listener, and exports one trace per
// invocation. This file is wiring only: the configuration is read once (internal/config)
// and the start-up order and the event loop live in internal/lifecycle (Start).
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bodytrace/bodytrace/internal/config"
	"github.com/bodytrace/bodytrace/internal/lifecycle"
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
	err := lifecycle.Start(ctx, cfg, lifecycle.Process{
		Name: filepath.Base(os.Args[0]), Started: started, Log: log, Out: os.Stdout, TempDir: os.TempDir(),
	})
	if err != nil {
		log.Error("bodytrace stopped", "err", err)
		os.Exit(1)
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l})).With("ext", "bodytrace")
}
