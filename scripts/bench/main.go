// Command bench is bodytrace's benchmark suite (`make bench`): it runs the example functions
// under the Lambda Runtime Interface Emulator with no extension (A), with bodytrace exporting
// to a local Jaeger (B) and, when BENCH_PEER names one, with another extension binary (C),
// side by side in one run with the configurations alternated, adds the layer's sizes and the
// hot paths' `go test -bench` microbenchmarks, and writes BENCHMARKS.md.
//
//	BENCH_PEER=/path/to/extension BENCH_PEER_ENV="K=V K2=V2" go run ./scripts/bench
//
// Progress goes to stderr; the report to -out (BENCHMARKS.md at the repository root).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// counts are the repetitions of each measurement.
type counts struct {
	Cold                           int // cold starts per configuration and runtime
	Freeze                         int // invocations in the freeze run
	KB, MB, Six, Stream1, Stream50 int // invocations per configuration
	MicroCount                     int // go test -count
}

var (
	fullCounts  = counts{Cold: 20, Freeze: 1000, KB: 1000, MB: 300, Six: 100, Stream1: 200, Stream50: 30, MicroCount: 6}
	quickCounts = counts{Cold: 3, Freeze: 30, KB: 100, MB: 20, Six: 6, Stream1: 10, Stream50: 3, MicroCount: 1}
)

func main() {
	out := flag.String("out", filepath.Join(localrun.Root(), "BENCHMARKS.md"), "report to write")
	quick := flag.Bool("quick", false, "few repetitions, to try the suite out (figures not meaningful)")
	noMicro := flag.Bool("no-micro", false, "skip the go test microbenchmarks")
	remoteOnly := flag.Bool("remote-only", false, "run only the remote backend and freeze phases (the report has only their sections)")
	flag.Parse()
	n := fullCounts
	if *quick {
		n = quickCounts
	}
	if *remoteOnly {
		if err := runRemoteOnly(*out, n); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*out, n, !*noMicro); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var suiteStart = time.Now()

// progress prints a progress line to stderr.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %6.1fs  %s\n", time.Since(suiteStart).Seconds(), fmt.Sprintf(format, args...))
}

// config is one column of the comparison.
type config struct {
	Key, Label string
	art        localrun.Artifacts
	noExt      bool
	env        []string
	// latencyOnly keeps a configuration out of the cold starts (S: the same start as B),
	// coldOnly out of everything else (N: a reference for the start alone).
	latencyOnly, coldOnly bool
}

func run(out string, n counts, micro bool) error {
	root := localrun.Root()
	tools, err := localrun.FindTools()
	if err != nil {
		return err
	}
	r := &report{Counts: n, Started: time.Now(), Command: "go run ./scripts/bench " + strings.Join(os.Args[1:], " ")}
	r.Machine = machine()

	progress("building the layer (scripts/build-layer.sh)")
	if r.Layer, err = buildLayer(root); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bodytrace-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	progress("sizing the extension's packages (go tool nm)")
	if r.Packages, err = packageSizes(root, tmp); err != nil {
		return err
	}
	nullExt, err := localrun.Build(tmp, "./scripts/bench/nullext", "nullext")
	if err != nil {
		return err
	}
	base, observed, err := benchArtifacts(tmp)
	if err != nil {
		return err
	}

	if micro {
		progress("microbenchmarks (go test -bench, -count %d)", n.MicroCount)
		if r.Micro, err = microbenchmarks(root, n.MicroCount); err != nil {
			return err
		}
	}

	progress("extension start-up parts (inittrace, wrapper, sandbox lookup)")
	if r.Startup, err = startupParts(base, root); err != nil {
		return err
	}

	progress("starting Jaeger")
	jaeger, err := localrun.StartJaeger(tools.Jaeger, false)
	if err != nil {
		return err
	}
	defer jaeger.Stop()

	cfgs := []config{
		{Key: "A", Label: "A: no extension", art: base, noExt: true},
		{Key: "B", Label: "B: bodytrace → OTLP (Jaeger)", art: observed, env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + jaeger.OTLPHTTP}},
		// B without a backend: what bodytrace itself adds, apart from the export's round trip
		// that the emulator puts in the caller's latency.
		{Key: "S", Label: "S: bodytrace → summary lines (no backend)", art: observed, latencyOnly: true},
	}
	// N: the floor any extension written in Go pays to start here.
	null := base
	null.Extension, null.NodeHelper, null.Wrapper = nullExt, "", ""
	cfgs = append(cfgs, config{Key: "N", Label: "N: null extension (Go, /register + /next only)", art: null, coldOnly: true})
	if peer := os.Getenv("BENCH_PEER"); peer != "" {
		if _, err := os.Stat(peer); err != nil {
			return fmt.Errorf("BENCH_PEER: %w", err)
		}
		art := base
		art.Extension = peer
		art.NodeHelper, art.Wrapper = "", "" // the peer runs alone: no bodytrace wrapper or helper
		env := strings.Fields(os.Getenv("BENCH_PEER_ENV"))
		cfgs = append(cfgs, config{Key: "C", Label: "C: " + filepath.Base(peer), art: art, env: env})
		r.Peer = peer
		r.PeerEnv = os.Getenv("BENCH_PEER_ENV")
	}
	r.Configs = cfgs
	r.ColdConfigs = slices.DeleteFunc(slices.Clone(cfgs), func(c config) bool { return c.latencyOnly })
	r.WarmConfigs = slices.DeleteFunc(slices.Clone(cfgs), func(c config) bool { return c.coldOnly })

	ctx := context.Background()
	if r.Cold, err = coldStarts(ctx, tools, r.ColdConfigs, n.Cold); err != nil {
		return err
	}
	if r.Buffered, err = latencyPhase(ctx, tools, r.WarmConfigs, jaeger, "index.handler", []load{
		{Name: "1 KB", Bytes: 1024, N: n.KB},
		{Name: "1 MB", Bytes: 1 << 20, N: n.MB},
		{Name: "6 MB (6,000,000 B)", Bytes: 6_000_000, N: n.Six},
	}); err != nil {
		return err
	}
	if r.Streamed, err = latencyPhase(ctx, tools, r.WarmConfigs, jaeger, "index.stream", []load{
		{Name: "1 MB", Bytes: 1 << 20, N: n.Stream1, Chunk: 16 << 10},
		{Name: "50 MB", Bytes: 50 << 20, N: n.Stream50, Chunk: 16 << 10, TooLarge: true},
	}); err != nil {
		return err
	}
	if r.Cost, err = costPhase(ctx, tools, r.WarmConfigs, jaeger, n.KB); err != nil {
		return err
	}
	if r.Remote, err = remotePhase(ctx, tools, base, observed, jaeger, n.KB, n.Freeze); err != nil {
		return err
	}
	r.Elapsed = time.Since(suiteStart)
	progress("writing %s", out)
	md, err := r.markdown(readHistory())
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		return err
	}
	progress("done in %s", r.Elapsed.Round(time.Second))
	return nil
}

// benchArtifacts returns the layer's artifacts with the Go example built into tmp twice:
// plain, for the configurations without bodytrace, and observed, for those with it: built
// with -tags bodytrace, the one import the README asks for, without which aws-lambda-go
// bypasses the proxy and bodytrace would be measured without the Runtime API in the path.
func benchArtifacts(tmp string) (plain, observed localrun.Artifacts, err error) {
	if plain, err = localrun.LayerArtifacts(); err != nil {
		return plain, observed, err
	}
	if plain.GoExample, err = localrun.Build(tmp, "./examples/go", "go-example"); err != nil {
		return plain, observed, err
	}
	observed = plain
	observed.GoExample, err = localrun.Build(tmp, "./examples/go", "go-example-observed", "bodytrace")
	return plain, observed, err
}

// machine describes where the suite ran.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	gover, _ := exec.Command("go", "env", "GOVERSION").Output()
	return fmt.Sprintf("%d CPUs (nproc), %s, %s, %s %s/%s", runtime.NumCPU(), model,
		strings.TrimSpace(string(kernel)), strings.TrimSpace(string(gover)), runtime.GOOS, runtime.GOARCH)
}
