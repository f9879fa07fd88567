// Command bodytrace reads the bodytrace extension's summary lines (files, stdin, CloudWatch
// Logs) or its traces in Jaeger, prints one row per invocation, and serves a local web view
// of where each response body went.
//
//	go run github.com/bodytrace/bodytrace/scripts/bodytrace@latest read --log-group /aws/lambda/my-function --verdict lost
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bodytrace/bodytrace/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
