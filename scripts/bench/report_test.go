package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

var update = flag.Bool("update", false, "rewrite the golden reports under testdata/")

// seq is n values from start, step apart: fixed fake measurements.
func seq(start, step float64, n int) sample {
	s := make(sample, n)
	for i := range s {
		// A fixed shuffle so medians and quantiles are not just the ends of a line.
		s[i] = start + step*float64((i*7)%n)
	}
	return s
}

// durs is seq in milliseconds as durations.
func durs(start, step float64, n int) []time.Duration {
	var out []time.Duration
	for _, v := range seq(start, step, n) {
		out = append(out, time.Duration(v*1e6))
	}
	return out
}

// coldRuns are n fake cold starts; a NaN figure stays NaN, as for a configuration without it.
func coldRuns(invoke, total, initToReg, initMs, regToNext float64, n int) []coldRun {
	var out []coldRun
	for i := range n {
		f := float64(i)
		add := func(v, step float64) float64 {
			if math.IsNaN(v) {
				return v
			}
			return v + step*f
		}
		out = append(out, coldRun{
			Invoke: time.Duration(add(invoke, 0.7) * 1e6), Total: time.Duration(add(total, 1.3) * 1e6),
			InitToRegistered: add(initToReg, 1), InitMs: add(initMs, 0.11), RegisteredToNext: add(regToNext, 0.05),
		})
	}
	return out
}

// fakeConfigs are the configurations as run() builds them, with C when peer.
func fakeConfigs(peer bool) (all, cold, warm []config) {
	all = []config{
		{Key: "A", Label: "A: no extension", noExt: true},
		{Key: "B", Label: "B: bodytrace → OTLP (Jaeger)"},
		{Key: "S", Label: "S: bodytrace → summary lines (no backend)", latencyOnly: true},
		{Key: "N", Label: "N: null extension (Go, /register + /next only)", coldOnly: true},
	}
	if peer {
		all = append(all, config{Key: "C", Label: "C: collector"})
	}
	for _, c := range all {
		if !c.latencyOnly {
			cold = append(cold, c)
		}
		if !c.coldOnly {
			warm = append(warm, c)
		}
	}
	return all, cold, warm
}

// fakePhase is a latency phase over loads for the configurations warm, with figures that
// grow with the configuration's place (A fastest) and the load's size.
func fakePhase(handler string, loads []load, warm []config, ttfb bool) *phase {
	p := &phase{Handler: handler, Loads: loads, Warmup: warmup,
		Latency: map[string]map[string][]time.Duration{}, Peak: map[string]map[string]sample{},
		Growth: map[string]map[string]sample{}, After: map[string]map[string]localrun.Memory{}, Done: map[string]int{},
		TTFB: map[string]sample{}, StreamBytes: map[string]sample{}}
	for li, ld := range loads {
		scale := float64(ld.Bytes) / 1024
		p.Latency[ld.Name] = map[string][]time.Duration{}
		p.Peak[ld.Name], p.Growth[ld.Name] = map[string]sample{}, map[string]sample{}
		p.After[ld.Name] = map[string]localrun.Memory{}
		for ci, c := range warm {
			base := 1.2 + 0.013*scale + 0.45*float64(ci)
			p.Latency[ld.Name][c.Key] = durs(base, base/50, ld.N)
			if c.noExt {
				continue
			}
			p.Peak[ld.Name][c.Key] = seq(14e6+float64(ci)*3e6, 12345, 9)
			p.Growth[ld.Name][c.Key] = seq(float64(li)*150000, 40000, 9)
			p.After[ld.Name][c.Key] = localrun.Memory{RSS: 14_987_264 + int64(ci)*7_000_000 + int64(li)*65536, Peak: 16_252_928 + int64(ci)*7_000_000}
		}
		if ttfb {
			p.TTFB[ld.Name] = seq(140+float64(li)*20, 3, 11)
			p.StreamBytes[ld.Name] = seq(float64(ld.Bytes)+187, 0, 11)
		}
	}
	for _, c := range warm {
		p.Done[c.Key+"@first"] = warmup + loads[0].N
	}
	return p
}

func fakeRemote(freeze, warnings bool) *remoteResult {
	rr := &remoteResult{Delay: 30 * time.Millisecond, N: 40, Rows: map[string]map[string]*remoteRow{}}
	for ri, rt := range []string{"node", "go"} {
		rows := map[string]*remoteRow{}
		for ci, c := range remoteConfigs {
			lat := 1.1 + 0.3*float64(ri) + []float64{0, 0.55, 31.4, 0.61}[ci]
			dur := 0.9 + 0.2*float64(ri) + []float64{0, 0.5, 32.2, 0.7}[ci]
			rows[c.Key] = &remoteRow{Latency: durs(lat, 0.021, rr.N), Duration: seq(dur, 0.017, rr.N), Billed: seq(math.Ceil(dur), 1, 2)}
			if lambdaModel[c.Key] {
				rows[c.Key].Lambda = durs(lat/2+0.05*float64(ci), 0.013, rr.N)
			}
		}
		if rt == "go" {
			rows[relayKey] = &remoteRow{Lambda: durs(0.7+0.08, 0.013, rr.N)}
		}
		rr.Rows[rt] = rows
	}
	if freeze {
		rr.Freeze = &freezeResult{Invocations: 100, Lost: 10, Missing: 1, LostMissing: 0, Stop: freezeStop, Bound: freezeBound,
			Exports: 97, FlushWarnings: 1, Errors: 0}
		if warnings {
			rr.Freeze.Warnings = []string{
				`{"time":"2026-12-07T10:00:00Z","level":"WARN","msg":"flush","err":"context deadline exceeded"}`,
				`{"time":"2026-12-07T10:00:01Z","level":"INFO","msg":"export recovered","after":"1.2s"}`,
			}
		}
	}
	return rr
}

// fakeReport is a full report with fixed fake figures, with a peer (C) when peer.
func fakeReport(peer bool) *report {
	all, cold, warm := fakeConfigs(peer)
	r := &report{
		Started: time.Date(2026, 12, 7, 20, 41, 5, 0, time.UTC), Elapsed: 3*time.Minute + 37*time.Second + 600*time.Millisecond,
		Command: "go run ./scripts/bench ", Machine: "2 CPUs (nproc), Fake CPU, Linux 6.0, go1.26.8 linux/amd64",
		Counts: fullCounts, Configs: all, ColdConfigs: cold, WarmConfigs: warm,
		Layer: []layerSize{{Zip: "layer/build/bodytrace-x86_64.zip", Zipped: 3570719, Bin: 8712345}, {Zip: "layer/build/bodytrace-arm64.zip", Zipped: 5228054, Bin: 8123456}},
		Micro: []*bench{
			{Pkg: "internal/runtimeproxy", Name: "BenchmarkProxyFirstChunk", Units: []string{"ns/op", "first-chunk-µs", "B/op", "allocs/op"},
				Values: map[string]sample{"ns/op": seq(1.5e6, 2e4, 6), "first-chunk-µs": seq(31, 1, 6), "B/op": seq(4096, 0, 6), "allocs/op": seq(12, 0, 6)}},
			{Pkg: "internal/runtimeproxy", Name: "BenchmarkDirectFirstChunk", Units: []string{"ns/op", "first-chunk-µs"},
				Values: map[string]sample{"ns/op": seq(2.5e4, 300, 6), "first-chunk-µs": seq(17, 1, 6)}},
			{Pkg: "internal/invocation", Name: "BenchmarkScanner6MB", Units: []string{"ns/op", "MB/s", "B/op", "allocs/op"},
				Values: map[string]sample{"ns/op": seq(1.4e6, 1e4, 6), "MB/s": seq(4290.5, 3, 6), "B/op": seq(0, 0, 6), "allocs/op": seq(0, 0, 6)}},
			{Pkg: "steps/line", Name: "BenchmarkParse", Units: []string{"ns/op", "B/op", "allocs/op"},
				Values: map[string]sample{"ns/op": seq(412, 2, 6), "B/op": seq(96, 0, 6), "allocs/op": seq(2, 0, 6)}},
		},
		Startup: &startup{ExecToMain: seq(1.6, 0.05, 15), TopInits: []string{"internal/godebug 0.52 ms", "net/netip 0.16 ms"},
			Wrapper: seq(2.84, 0.1, 15), Probe: seq(5.96, 0.2, 15), Bare: seq(0.98, 0.02, 15), Lookup: seq(0.458, 0.09, 15)},
		Cold: map[string]map[string][]coldRun{},
		Cost: &costResult{Load: "1 KB",
			Billed:   map[string]sample{"A": seq(2, 1, 40), "B": seq(2, 1.05, 40)},
			Duration: map[string]sample{"A": seq(1.2, 0.011, 40), "B": seq(2.5, 0.013, 40)},
			Bytes: []exportBytes{{Setting: "1 (every trace)", Invocations: bytesRuns, Requests: 201, Bytes: 412345},
				{Setting: "0.1, gzip", Invocations: bytesRuns, Requests: 21, Bytes: 19876}}},
		Remote: fakeRemote(true, true),
	}
	for p := range 20 {
		r.Packages = append(r.Packages, pkgSize{Name: "module/" + string(rune('a'+p)), Bytes: int64(2_000_000 / (p + 1))})
	}
	for ri, rt := range []string{"node", "go"} {
		base := []float64{91.6, 6.09}[ri]
		r.Cold[rt] = map[string][]coldRun{
			"A": coldRuns(base, base+25, nan, nan, nan, 20),
			"B": coldRuns(base+18.7, base+60, 6, 2.66, 0.934, 20),
			"N": coldRuns(base+3.8, base+40, 4, nan, nan, 20),
		}
		if peer {
			r.Cold[rt]["C"] = coldRuns(base+34.3, base+80, 9, nan, nan, 20)
		}
	}
	r.Buffered = fakePhase("index.handler", []load{
		{Name: "1 KB", Bytes: 1024, N: 100}, {Name: "1 MB", Bytes: 1 << 20, N: 30}, {Name: "6 MB (6,000,000 B)", Bytes: 6_000_000, N: 10},
	}, warm, false)
	r.Streamed = fakePhase("index.stream", []load{
		{Name: "1 MB", Bytes: 1 << 20, N: 20, Chunk: 16 << 10}, {Name: "50 MB", Bytes: 50 << 20, N: 3, Chunk: 16 << 10, TooLarge: true},
	}, warm, true)
	if peer {
		r.Peer, r.PeerEnv = "/opt/peer/collector", "OPENTELEMETRY_COLLECTOR_CONFIG_URI=/opt/collector.yaml"
	}
	return r
}

// partialReport has some of every kind of missing data: no N for go, a one-load stream
// phase without stream spans, no first-chunk benchmark, a cost run without the bytes, a
// remote run without A for go and without freezes, an empty history file.
func partialReport() *report {
	r := fakeReport(false)
	delete(r.Cold["go"], "N")
	r.Cold["node"]["B"] = coldRuns(110, 150, nan, nan, nan, 3)
	r.Streamed = fakePhase("index.stream", []load{{Name: "1 MB", Bytes: 1 << 20, N: 5, Chunk: 16 << 10}}, r.WarmConfigs, false)
	for _, ph := range []*phase{r.Buffered} {
		for ld := range ph.Latency {
			delete(ph.Latency[ld], "S")
		}
	}
	r.Micro = r.Micro[2:]
	r.Micro[0].Values["ns/op"] = sample{1.4e6}
	r.Cost.Bytes = nil
	r.Cost.Billed["B"] = nil
	r.Remote = fakeRemote(false, false)
	delete(r.Remote.Rows["go"], "A")
	r.Layer = r.Layer[:1]
	r.Packages = r.Packages[:3]
	r.Startup.TopInits = nil
	return r
}

// sparseReport has only what every run has: the header, the configurations and the sizes.
func sparseReport() *report {
	all, cold, warm := fakeConfigs(false)
	return &report{
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Elapsed: 59 * time.Second,
		Command: "go run ./scripts/bench -quick -no-micro", Machine: "1 CPU", Counts: quickCounts,
		Configs: all[:2], ColdConfigs: cold[:2], WarmConfigs: warm[:2],
	}
}

// TestReportGolden renders the report from fixed fake results and compares it with
// testdata/*.md, the output of the Printf report this template replaced (go test -update
// rewrites them).
func TestReportGolden(t *testing.T) {
	history := []byte("## Fixes this suite led to\n\n| when | change |\n|---|---|\n| 2026-11-25 | a fix |\n")
	fullRemoteOnly := fakeReport(false)
	fullRemoteOnly.Remote = fakeRemote(true, false)
	for _, tc := range []struct {
		name   string
		render func() (string, error)
	}{
		{"full", func() (string, error) { return fakeReport(false).markdown(history) }},
		{"peer", func() (string, error) { return fakeReport(true).markdown(history) }},
		{"partial", func() (string, error) { return partialReport().markdown([]byte{}) }},
		{"sparse", func() (string, error) { return sparseReport().markdown(nil) }},
		{"remote-only", func() (string, error) { return fakeReport(false).remoteOnlyMarkdown() }},
		{"remote-only-partial", func() (string, error) { return partialReport().remoteOnlyMarkdown() }},
		{"remote-only-no-warnings", func() (string, error) { return fullRemoteOnly.remoteOnlyMarkdown() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.render()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "report-"+tc.name+".md")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n%s", tc.name, path, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff shows the first line where got differs from want.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, w, g)
		}
	}
	return "no line differs"
}
