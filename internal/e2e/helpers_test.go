package e2e

import (
	"testing"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// StartLambda launches the emulator for a test and stops it when the test ends, printing
// its log when the test failed.
func StartLambda(t *testing.T, tools localrun.Tools, art localrun.Artifacts, fn localrun.Function, env ...string) *localrun.Lambda {
	t.Helper()
	l, err := localrun.Launch(tools, art, fn, env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Stop()
		if t.Failed() {
			t.Logf("emulator log:\n%s", l.Log)
		}
	})
	return l
}
