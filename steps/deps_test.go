package steps_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// allowed is every module a function importing steps may link besides the standard
// library: aws-lambda-go, which the function already has, and this module.
var allowed = []string{"github.com/aws/aws-lambda-go/", "github.com/bodytrace/bodytrace/steps"}

// TestDependencies fails when steps, or a package it imports, links anything beyond
// aws-lambda-go and the standard library: every such package would land in each function
// that imports steps, and its module could raise the function's own versions.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var linked int
	for _, p := range strings.Fields(string(out)) {
		linked++
		if !hasAnyPrefix(p, allowed) {
			t.Errorf("steps links %s: only aws-lambda-go and the standard library are allowed (see steps/go.mod)", p)
		}
	}
	if linked == 0 {
		t.Fatal("go list -deps named no package at all, not even steps")
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && (f[0] == "require" || strings.HasPrefix(l, "\t")) &&
			strings.Contains(f[len(f)-2], ".") && !hasAnyPrefix(f[len(f)-2]+"/", allowed) {
			t.Errorf("steps/go.mod requires %s: a function's module would then require it too", f[len(f)-2])
		}
	}
}

// TestBinaryGrowth builds the same aws-lambda-go function without and with steps (imported
// and used: Wrap around the handler) and bounds what steps adds to its binary.
func TestBinaryGrowth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	const limit = 200 << 10
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	plain := buildFunction(t, here, sum, `package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, in map[string]any) (map[string]any, error) { return in, nil }

func main() { lambda.Start(handler) }
`)
	withSteps := buildFunction(t, here, sum, `package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/bodytrace/bodytrace/steps"
)

func handler(ctx context.Context, in map[string]any) (map[string]any, error) { return in, nil }

func main() { lambda.Start(steps.Wrap("handler", handler)) }
`)
	grew := withSteps - plain
	t.Logf("function binary: %d B without steps, %d B with it (+%d B)", plain, withSteps, grew)
	if grew > limit {
		t.Errorf("importing steps grows a function by %d B, more than %d B: look at what steps now links (go list -deps)", grew, limit)
	}
}

// buildFunction builds src as a function in its own module that requires steps from this
// folder, stripped as a release build would be, and returns the binary's size.
func buildFunction(t *testing.T, steps string, sum []byte, src string) int64 {
	t.Helper()
	dir := t.TempDir()
	mod := "module example.com/fn\n\ngo 1.26\n\nrequire (\n\tgithub.com/aws/aws-lambda-go v1.55.1\n\tgithub.com/bodytrace/bodytrace/steps v0.0.0\n)\n\n" +
		"replace github.com/bodytrace/bodytrace/steps => " + steps + "\n"
	for name, body := range map[string][]byte{"go.mod": []byte(mod), "go.sum": sum, "main.go": []byte(src)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-mod=mod", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) || s+"/" == p {
			return true
		}
	}
	return false
}
