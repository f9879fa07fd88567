package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// qemuAarch64 is Debian's qemu-user-static (scripts/install-qemu.sh), which runs an arm64
// binary on an amd64 machine.
const qemuAarch64 = "/usr/bin/qemu-aarch64-static"

// TestArm64Extension runs the arm64 build of the extension, as the arm64 layer ships it,
// under qemu-user-static beside the amd64 emulator and Node.js function: every invocation
// must get its verdict and its trace, as with the amd64 build.
func TestArm64Extension(t *testing.T) {
	needParts(t)
	if _, err := os.Stat(qemuAarch64); err != nil {
		t.Fatalf("qemu-user-static is not installed: run `make tools` (scripts/install-qemu.sh): %v", err)
	}
	dir := t.TempDir()
	// The arm64 binary keeps the extension's file name: it registers under os.Args[0]'s.
	bin := filepath.Join(dir, "arm64", "bodytrace")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./extension")
	build.Dir = localrun.Root()
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build (arm64): %v\n%s", err, out)
	}
	elf, err := os.ReadFile(bin)
	if err != nil || len(elf) < 20 || elf[18] != 0xB7 { // e_machine: AArch64
		t.Fatalf("%s is not an arm64 binary", bin)
	}
	// A two-line shim in /opt/extensions starts it through qemu, by a link named like the
	// extension: the process then has the name the wrapper checks before it trusts the
	// ready file (/proc/<pid>/comm is "bodytrace" on Lambda, where no emulator runs it).
	qemu := filepath.Join(dir, "qemu", "bodytrace")
	if err := errors.Join(os.MkdirAll(filepath.Dir(qemu), 0o755), os.Symlink(qemuAarch64, qemu)); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "bodytrace")
	if err := os.WriteFile(shim, []byte("#!/bin/sh\nexec "+qemu+" "+bin+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := art
	a.Extension = shim
	service := fmt.Sprintf("e2e-arm64-%d", time.Now().UnixNano())
	l := StartLambda(t, tools, a, localrun.Function{Runtime: "node", Handler: "index.handler"},
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+jaeger.OTLPHTTP, "OTEL_SERVICE_NAME="+service, "BODYTRACE_SUMMARY=on")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	cases := []struct {
		query   map[string]string
		verdict string
	}{
		{map[string]string{"bytes": "64"}, "delivered"},
		{map[string]string{"empty": "1"}, "lost:handler"},
		{map[string]string{"status": "204"}, "empty-by-design"},
		{map[string]string{"bytes": "300000"}, "delivered"},
	}
	for i, c := range cases {
		if _, err := l.Invoke(ctx, event(t, "apigw-v2.json", c.query)); err != nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
		sums, err := l.WaitSummaries(ctx, i+1)
		if err != nil {
			t.Fatal(err)
		}
		s := sums[i]
		if s["verdict"] != c.verdict {
			t.Errorf("invoke %d %v: verdict %v (%v), want %s", i, c.query, s["verdict"], s["reason"], c.verdict)
		}
		if obs := fmt.Sprint(s["observed"]); obs != "[runtime-api]" && obs != "[runtime-api telemetry]" {
			t.Errorf("invoke %d: observed %s: the arm64 proxy did not see the Runtime API", i, obs)
		}
		if _, _, err := fetchTrace(ctx, fmt.Sprint(s["traceId"])); err != nil {
			t.Errorf("invoke %d: %v", i, err)
		}
	}
}
