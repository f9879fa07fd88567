package e2e

import (
	"flag"
	"fmt"
	"github.com/bodytrace/bodytrace/internal/localrun"
	"os"
	"testing"
)

var (
	tools  localrun.Tools
	art    localrun.Artifacts
	jaeger *localrun.Jaeger
	// skipWhy is set when the real parts are not installed; tests skip with it.
	skipWhy string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		skipWhy = "end-to-end tests skipped in -short mode"
		return m.Run()
	}
	var err error
	if tools, err = localrun.FindTools(); err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		skipWhy = err.Error()
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "bodytrace-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if art, err = localrun.BuildArtifacts(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if jaeger, err = localrun.StartJaeger(tools.Jaeger, false); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer jaeger.Stop()
	return m.Run()
}

func needParts(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
	if os.Geteuid() != 0 {
		t.Skip("the emulator needs root for its private mount namespace")
	}
}
