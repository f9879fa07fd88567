// Package cli is the bodytrace command-line tool: it reads the extension's summary lines
// (files, stdin, CloudWatch Logs) or traces from Jaeger's query API, prints one row per
// invocation, and serves a local web view that draws where each body's bytes went.
// scripts/bodytrace is its main package.
package cli
