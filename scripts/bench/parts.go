package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
	"github.com/bodytrace/bodytrace/steps/ready"
)

// layerSize is one built layer zip and its extension binary.
type layerSize struct {
	Zip         string
	Zipped, Bin int64
}

var layerLine = regexp.MustCompile(`(?m)^(\S+\.zip)\t(\d+) bytes \(binary (\d+) bytes\)`)

// buildLayer runs scripts/build-layer.sh (as `make layer` does) and reads its sizes.
func buildLayer(root string) ([]layerSize, error) {
	cmd := exec.Command(filepath.Join(root, "scripts", "build-layer.sh"))
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("build-layer.sh: %w", err)
	}
	var out []layerSize
	for _, m := range layerLine.FindAllStringSubmatch(string(b), -1) {
		z, _ := strconv.ParseInt(m[2], 10, 64)
		bin, _ := strconv.ParseInt(m[3], 10, 64)
		out = append(out, layerSize{Zip: m[1], Zipped: z, Bin: bin})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("build-layer.sh printed no sizes:\n%s", b)
	}
	return out, nil
}

// pkgSize is the symbol bytes (code and data) of one module or standard-library area.
type pkgSize struct {
	Name  string
	Bytes int64
}

// packageSizes builds the extension as the layer does but keeps its symbol table, and adds
// up `go tool nm -size` by module (or standard-library top folder).
func packageSizes(root, dir string) ([]pkgSize, error) {
	bin := filepath.Join(dir, "bodytrace-symbols")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./extension")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./extension: %w\n%s", err, b)
	}
	nm := exec.Command("go", "tool", "nm", "-size", bin)
	nm.Dir = root
	b, err := nm.Output()
	if err != nil {
		return nil, fmt.Errorf("go tool nm: %w", err)
	}
	sizes := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		// Code and read-only data make the file; data and bss symbols (D, B) are memory.
		if err != nil || !strings.Contains("TtRr", f[2]) {
			continue
		}
		sym := strings.Join(f[3:], " ")
		if strings.HasPrefix(sym, "go:func.") || strings.HasPrefix(sym, "runtime.") && strings.Contains(sym, "tab") {
			sizes["(runtime tables: func data, pclntab)"] += n
			continue
		}
		sizes[moduleOf(sym)] += n
	}
	var out []pkgSize
	for k, v := range sizes {
		out = append(out, pkgSize{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	return out, nil
}

// moduleOf names the module a symbol belongs to: the first three path elements of a
// domain-named package (go.opentelemetry.io/otel/sdk, google.golang.org/grpc), the first
// element of a standard-library one (net, crypto, runtime).
func moduleOf(sym string) string {
	sym = strings.TrimPrefix(sym, "type:")
	sym = strings.TrimPrefix(sym, "go:")
	if i := strings.IndexAny(sym, "(["); i > 0 {
		sym = sym[:i]
	}
	pkg := sym
	if slash := strings.LastIndexByte(sym, '/'); slash >= 0 {
		if dot := strings.IndexByte(sym[slash:], '.'); dot >= 0 {
			pkg = sym[:slash+dot]
		}
	} else if dot := strings.IndexByte(sym, '.'); dot >= 0 {
		pkg = sym[:dot]
	}
	parts := strings.Split(pkg, "/")
	if strings.Contains(parts[0], ".") {
		if parts[0] == "github.com" && len(parts) >= 3 && parts[1] == "bodytrace" {
			return strings.Join(parts[:min(len(parts), 4)], "/")
		}
		return strings.Join(parts[:min(len(parts), 3)], "/")
	}
	if pkg == "" {
		return "(other)"
	}
	return parts[0]
}

// startup holds the parts of bodytrace's cold start measured outside the emulator.
type startup struct {
	// ExecToMain is Go's runtime and package initialisation of the extension binary, from
	// GODEBUG=inittrace=1 (the last init's start plus its clock time), ms.
	ExecToMain sample
	// TopInits are the slowest package initialisers of one run.
	TopInits []string
	// Wrapper is bodytrace-wrapper running /bin/true with the extension's ready file in
	// place (as in Lambda: the extension writes it before /register; the wrapper checks the
	// process and asks the proxy for its nonce), Probe the same with no ready file (the
	// wrapper leaves the runtime alone), and Bare is
	// /bin/true alone, ms.
	Wrapper, Probe, Bare sample
	// Lookup is resolving sandbox.localdomain here (the telemetry listener's address), ms.
	Lookup sample
}

var initLine = regexp.MustCompile(`(?m)^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock`)

func startupParts(art localrun.Artifacts, root string) (*startup, error) {
	s := &startup{}
	for i := range 15 {
		// Nothing listens on api: the extension stops at /register, after every initialiser
		// ran. Its own listeners take other free ports.
		var ports [3]int
		for k := range ports {
			p, err := localrun.FreePort()
			if err != nil {
				return nil, err
			}
			ports[k] = p
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, art.Extension)
		cmd.Env = []string{"GODEBUG=inittrace=1", fmt.Sprintf("AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", ports[0]),
			fmt.Sprintf("BODYTRACE_PROXY_PORT=%d", ports[1]), fmt.Sprintf("BODYTRACE_STEPS_PORT=%d", ports[2])}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		_ = cmd.Run()
		cancel()
		var last float64
		type one struct {
			name string
			ms   float64
		}
		var inits []one
		for _, m := range initLine.FindAllStringSubmatch(stderr.String(), -1) {
			at, _ := strconv.ParseFloat(m[2], 64)
			clock, _ := strconv.ParseFloat(m[3], 64)
			last = max(last, at+clock)
			inits = append(inits, one{m[1], clock})
		}
		if last == 0 {
			return nil, fmt.Errorf("no inittrace from %s:\n%s", art.Extension, stderr.String())
		}
		s.ExecToMain = append(s.ExecToMain, last)
		if i == 0 {
			sort.Slice(inits, func(a, b int) bool { return inits[a].ms > inits[b].ms })
			for _, in := range inits[:min(5, len(inits))] {
				s.TopInits = append(s.TopInits, fmt.Sprintf("%s %.2f ms", in.name, in.ms))
			}
		}
	}

	// A stand-in for the extension as the wrapper proves it: a live process named bodytrace
	// (a copy of sleep), a proxy echoing the nonce, and the ready file naming both.
	tmp, err := os.MkdirTemp("", "bench-wrapper-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	nonce := ready.NewNonce()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, nonce) }))
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	truePath, err := exec.LookPath("true")
	if err != nil {
		return nil, err
	}
	sleepPath, err := exec.LookPath("sleep")
	if err != nil {
		return nil, err
	}
	sleepBin, err := os.ReadFile(sleepPath)
	if err != nil {
		return nil, err
	}
	fake := filepath.Join(tmp, ready.ProcessName)
	if err := os.WriteFile(fake, sleepBin, 0o755); err != nil {
		return nil, err
	}
	ext := exec.Command(fake, "600")
	if err := ext.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = ext.Process.Kill(); _ = ext.Wait() }()
	readyPath, err := ready.Path(filepath.Join(tmp, "ready"), "127.0.0.1:"+port)
	if err != nil {
		return nil, err
	}
	if err := ready.Write(readyPath, ready.File{Pid: ext.Process.Pid, Addr: ln.Addr().String(), Nonce: nonce}); err != nil {
		return nil, err
	}
	wrapper := func(tmpdir string) (float64, error) {
		t := time.Now()
		cmd := exec.Command(filepath.Join(root, "layer", "bodytrace-wrapper"), truePath)
		cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001", "BODYTRACE_PROXY_PORT="+port, "TMPDIR="+tmpdir)
		if b, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("bodytrace-wrapper: %w\n%s", err, b)
		}
		return float64(time.Since(t).Microseconds()) / 1000, nil
	}
	for range 15 {
		ready, err1 := wrapper(filepath.Join(tmp, "ready"))
		probe, err2 := wrapper(tmp)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		s.Wrapper, s.Probe = append(s.Wrapper, ready), append(s.Probe, probe)
		t := time.Now()
		if err := exec.Command(truePath).Run(); err != nil {
			return nil, err
		}
		s.Bare = append(s.Bare, float64(time.Since(t).Microseconds())/1000)
	}
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		t := time.Now()
		_, _ = net.DefaultResolver.LookupHost(ctx, "sandbox.localdomain")
		s.Lookup = append(s.Lookup, float64(time.Since(t).Microseconds())/1000)
		cancel()
	}
	return s, nil
}

// bench is one microbenchmark's results over -count runs.
type bench struct {
	Pkg, Name string
	Units     []string // in the order go test printed them
	Values    map[string]sample
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// microPackages are the hot paths' packages, by import path (steps/line is in the steps
// module, reached through the replace in go.mod).
var microPackages = []string{"./internal/telemetry", "github.com/bodytrace/bodytrace/steps/line", "./internal/runtimeproxy",
	"./internal/invocation", "./internal/export", "./internal/otlp"}

// microbenchmarks runs the hot paths' go test benchmarks.
func microbenchmarks(root string, count int) ([]*bench, error) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(count)}, microPackages...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %w\n%s", err, b)
	}
	var out []*bench
	byName := map[string]*bench{}
	pkg := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/bodytrace/bodytrace/")
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := pkg + " " + m[1]
		bn := byName[key]
		if bn == nil {
			bn = &bench{Pkg: pkg, Name: m[1], Values: map[string]sample{}}
			byName[key] = bn
			out = append(out, bn)
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if _, seen := bn.Values[unit]; !seen {
				bn.Units = append(bn.Units, unit)
			}
			bn.Values[unit] = append(bn.Values[unit], v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("go test -bench printed no results:\n%s", b)
	}
	return out, nil
}
