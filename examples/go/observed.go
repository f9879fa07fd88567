//go:build bodytrace

package main

// Built with -tags bodytrace, the example is what the README asks of a Go function: the one
// import that points aws-lambda-go at the bodytrace proxy, no steps.Wrap. The benchmark
// runs this build wherever bodytrace is attached, and the plain one as its baseline.
import _ "github.com/bodytrace/bodytrace/steps"
