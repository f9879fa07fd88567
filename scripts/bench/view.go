package main

// The report as the templates (report.md.tmpl, remote.md.tmpl) show it: every figure
// formatted here, so the templates only lay them out. The cost and remote sections' views
// are in cost.go and remote.go, beside what they show.

import (
	"fmt"
	"strings"
	"time"
)

// reportView is the report as the templates show it: every figure formatted, every table
// as rows in order, a section nil (or empty) when the suite did not measure it.
type reportView struct {
	Command, Date, Elapsed, Machine string
	// Keys are the configurations' keys in order; Peer and PeerEnv are C's (Peer empty
	// without C, and then the tables have no C column).
	Keys          []string
	Peer, PeerEnv string

	Targets     targetsView
	FirstChunk  *firstChunkView
	Cold        *coldView
	Phases      []phaseView
	StreamSpans []streamSpanView
	Cost        *costView
	Remote      *remoteView
	Memory      memoryView
	Layers      []layerView
	Packages    *packagesView
	Micro       *microView

	// History is appended as it is, after a blank line, when HasHistory.
	HasHistory bool
	History    string
}

// vsA is one configuration's median X against A's.
type vsA struct {
	Delta   string // X − A, ms with its sign
	Percent string // X/A − 1 in percent with its sign, one decimal
	A, X    string // ms
	Ratio   string // X/A, two decimals
}

func newVsA(a, x float64) vsA {
	return vsA{Delta: signed(x-a, ""), Percent: fmt.Sprintf("%+.1f", (x/a-1)*100),
		A: fmtMs(a), X: fmtMs(x), Ratio: fmt.Sprintf("%.2f", x/a)}
}

// targetsView holds the Targets rows before the remote phase's and the layers'.
type targetsView struct {
	Cold []coldTargetRow   // node, then go
	KB   *latencyTargetRow // 1 KB, in ms
	Six  *latencyTargetRow // 6 MB, in percent
	Flat *flatTargetRow
	RSS  *rssTargetRow
}

// coldTargetRow is B's (and C's) cold start against A's for one runtime.
type coldTargetRow struct {
	Runtime, Limit string
	B, C           vsA
	Floor          string // N − A, empty without N
	OK             bool
}

// latencyTargetRow is B's (and C's) client latency against A's on one buffered load.
type latencyTargetRow struct {
	Load, Limit string
	B, C        vsA
	Summary     string // S − A, empty without S (and on the 6 MB row)
	OK          bool
}

// flatTargetRow is the peak rise during one stream, big against small, for B and C.
type flatTargetRow struct {
	Big, Small string // the loads
	B, C       struct{ Big, Small string }
	OK         bool
}

// rssTargetRow is the extension's RSS after the first buffered load, B and C.
type rssTargetRow struct {
	Invocations int
	B, C        string
	OK          bool
}

// firstChunkView is BenchmarkProxyFirstChunk's median against BenchmarkDirectFirstChunk's, µs.
type firstChunkView struct {
	Proxy, Direct string
	OK            bool
}

type coldView struct {
	Runs    int
	Rows    []coldRow
	Startup *startupView
}

type coldRow struct {
	Runtime, Config                                           string
	Invoke, Total, InitToRegistered, InitMs, RegisteredToNext string
}

type startupView struct {
	ExecToMain, TopInits, ExecToRegister string
	Wrapper, Bare, WrapperAdds, Probe    string
	Lookup                               string
}

type phaseView struct {
	Kind     string // Buffered or Streamed
	Streamed bool
	Handler  string
	Warmup   int
	ChunkKiB int
	Rows     []latencyRow
}

type latencyRow struct {
	Load               string
	N                  int
	Config             string
	P50, P99, P25, P75 string
	Added              *vsA // nil for A
}

type streamSpanView struct {
	Load, TTFB string
	Streams    int
	Bytes      string
}

type memoryView struct {
	After []memoryAfter
	Peaks []memoryPeak
}

type memoryAfter struct {
	Config    string
	N         int
	Load      string
	Kind      string // buffered or streamed
	RSS, Peak string
}

type memoryPeak struct {
	Config, Load, Kind     string
	Peak, PeakMin, PeakMax string
	Rise, RiseMin, RiseMax string
}

type layerView struct {
	Zip                  string
	Zipped, Bin          int64
	ZipMB, ZipMiB, BinMB string
	OK                   bool
}

type packagesView struct {
	TotalMB string
	Top     []packageRow // the 15 largest
}

type packageRow struct {
	Name  string
	Bytes int64
	Share string
}

type microView struct {
	Count    int
	Packages string // the go test arguments naming them
	Rows     []microRow
}

type microRow struct {
	Pkg, Name, Time, Throughput, Bytes, Allocs, Other string
}

// view formats everything the report shows.
func (r *report) view() *reportView {
	v := &reportView{
		Command: strings.TrimSpace(r.Command),
		Date:    r.Started.UTC().Format("2006-01-02 15:04 MST"),
		Elapsed: r.Elapsed.Round(time.Second).String(),
		Machine: r.Machine,
		Peer:    r.Peer, PeerEnv: r.PeerEnv,
		Cost:   r.Cost.view(),
		Remote: r.Remote.view(),
	}
	for _, c := range r.Configs {
		v.Keys = append(v.Keys, c.Key)
	}
	v.Targets = r.targets()
	if fc := r.microMedian("BenchmarkProxyFirstChunk", "first-chunk-µs"); !isNaN(fc) {
		v.FirstChunk = &firstChunkView{Proxy: fmt.Sprintf("%.0f", fc),
			Direct: fmt.Sprintf("%.0f", r.microMedian("BenchmarkDirectFirstChunk", "first-chunk-µs")), OK: fc < chunkTargetUs}
	}
	v.Cold = r.coldView()
	for _, ph := range []*phase{r.Buffered, r.Streamed} {
		if ph != nil {
			v.Phases = append(v.Phases, r.phaseView(ph))
		}
	}
	if ph := r.Streamed; ph != nil {
		for _, ld := range ph.Loads {
			if s := ph.TTFB[ld.Name]; len(s) > 0 {
				v.StreamSpans = append(v.StreamSpans, streamSpanView{Load: ld.Name, TTFB: s.medRange(), Streams: len(s),
					Bytes: fmt.Sprintf("%.0f", ph.StreamBytes[ld.Name].median())})
			}
		}
	}
	v.Memory = r.memoryView()
	for _, l := range r.Layer {
		v.Layers = append(v.Layers, layerView{Zip: l.Zip, Zipped: l.Zipped, Bin: l.Bin,
			ZipMB: fmt.Sprintf("%.2f", float64(l.Zipped)/1e6), ZipMiB: fmt.Sprintf("%.2f", float64(l.Zipped)/(1<<20)),
			BinMB: fmt.Sprintf("%.2f", float64(l.Bin)/1e6), OK: l.Zipped < zipTarget})
	}
	if len(r.Packages) > 0 {
		var total int64
		for _, s := range r.Packages {
			total += s.Bytes
		}
		v.Packages = &packagesView{TotalMB: fmt.Sprintf("%.1f", float64(total)/1e6)}
		for _, s := range r.Packages[:min(15, len(r.Packages))] {
			v.Packages.Top = append(v.Packages.Top, packageRow{Name: s.Name, Bytes: s.Bytes,
				Share: fmt.Sprintf("%.1f", float64(s.Bytes)*100/float64(total))})
		}
	}
	if len(r.Micro) > 0 {
		v.Micro = &microView{Count: r.Counts.MicroCount, Packages: strings.Join(microPackages, " ")}
		for _, b := range r.Micro {
			v.Micro.Rows = append(v.Micro.Rows, b.row())
		}
	}
	return v
}

// targets are the Targets rows measured by the cold starts and the latency phases.
func (r *report) targets() targetsView {
	var t targetsView
	for _, rt := range []string{"node", "go"} {
		a := r.cold(rt, "A", coldInvoke).median()
		b := r.cold(rt, "B", coldInvoke).median()
		ct := coldTargetRow{Runtime: rt, Limit: fmt.Sprintf("%.0f", coldTargetMs), B: newVsA(a, b),
			C: newVsA(a, r.cold(rt, "C", coldInvoke).median()), OK: b-a < coldTargetMs}
		if n := r.cold(rt, "N", coldInvoke).median(); !isNaN(n) {
			ct.Floor = signed(n-a, "")
		}
		t.Cold = append(t.Cold, ct)
	}
	if ph := r.Buffered; ph != nil {
		kb := ph.Loads[0].Name
		a, b := r.lat(ph, kb, "A").median(), r.lat(ph, kb, "B").median()
		t.KB = &latencyTargetRow{Load: kb, Limit: fmt.Sprintf("%.1f", kbTargetMs), B: newVsA(a, b),
			C: newVsA(a, r.lat(ph, kb, "C").median()), OK: b-a < kbTargetMs}
		if s := r.lat(ph, kb, "S").median(); !isNaN(s) {
			t.KB.Summary = signed(s-a, "")
		}
		six := ph.Loads[len(ph.Loads)-1].Name
		a, b = r.lat(ph, six, "A").median(), r.lat(ph, six, "B").median()
		t.Six = &latencyTargetRow{Load: six, Limit: fmt.Sprintf("%.0f", sixTargetRatio*100), B: newVsA(a, b),
			C: newVsA(a, r.lat(ph, six, "C").median()), OK: b/a-1 < sixTargetRatio}
	}
	if ph := r.Streamed; ph != nil && len(ph.Loads) == 2 {
		small, big := ph.Loads[0].Name, ph.Loads[1].Name
		g1, g50 := ph.Growth[small]["B"].median(), ph.Growth[big]["B"].median()
		t.Flat = &flatTargetRow{Big: big, Small: small, OK: g50-g1 < flatTolerance}
		t.Flat.B.Big, t.Flat.B.Small = mib(g50), mib(g1)
		t.Flat.C.Big, t.Flat.C.Small = mib(ph.Growth[big]["C"].median()), mib(ph.Growth[small]["C"].median())
	}
	if ph := r.Buffered; ph != nil {
		first := ph.Loads[0].Name
		bm, cm := ph.After[first]["B"], ph.After[first]["C"]
		t.RSS = &rssTargetRow{Invocations: ph.Done["B@first"], B: mib(float64(bm.RSS)), C: mib(float64(cm.RSS)),
			OK: bm.RSS > 0 && bm.RSS < rssTarget}
	}
	return t
}

// coldView is the cold start section; nil without cold starts.
func (r *report) coldView() *coldView {
	if r.Cold == nil {
		return nil
	}
	v := &coldView{Runs: r.Counts.Cold}
	for _, rt := range []string{"node", "go"} {
		for _, c := range r.ColdConfigs {
			v.Rows = append(v.Rows, coldRow{Runtime: rt, Config: c.Label,
				Invoke: r.cold(rt, c.Key, coldInvoke).medRange(), Total: r.cold(rt, c.Key, coldTotal).medRange(),
				InitToRegistered: r.cold(rt, c.Key, func(c coldRun) float64 { return c.InitToRegistered }).medRange(),
				InitMs:           r.cold(rt, c.Key, func(c coldRun) float64 { return c.InitMs }).medRange(),
				RegisteredToNext: r.cold(rt, c.Key, func(c coldRun) float64 { return c.RegisteredToNext }).medRange()})
		}
	}
	if s := r.Startup; s != nil {
		v.Startup = &startupView{
			ExecToMain: s.ExecToMain.medRange(), TopInits: strings.Join(s.TopInits, ", "),
			ExecToRegister: fmtMs(s.ExecToMain.median() + r.cold("node", "B", func(c coldRun) float64 { return c.InitMs }).median()),
			Wrapper:        s.Wrapper.medRange(), Bare: s.Bare.medRange(), WrapperAdds: fmtMs(s.Wrapper.median() - s.Bare.median()),
			Probe: s.Probe.medRange(), Lookup: s.Lookup.medRange(),
		}
	}
	return v
}

// phaseView is one latency phase's table.
func (r *report) phaseView(ph *phase) phaseView {
	v := phaseView{Kind: "Buffered", Handler: ph.Handler, Warmup: ph.Warmup}
	if ph.Loads[0].Chunk > 0 {
		v.Kind, v.Streamed, v.ChunkKiB = "Streamed", true, ph.Loads[0].Chunk>>10
	}
	for _, ld := range ph.Loads {
		a := r.lat(ph, ld.Name, "A").median()
		for _, c := range r.WarmConfigs {
			s := r.lat(ph, ld.Name, c.Key)
			row := latencyRow{Load: ld.Name, N: len(s), Config: c.Label,
				P50: fmtMs(s.median()), P99: fmtMs(s.q(0.99)), P25: fmtMs(s.q(0.25)), P75: fmtMs(s.q(0.75))}
			if c.Key != "A" {
				added := newVsA(a, s.median())
				row.Added = &added
			}
			v.Rows = append(v.Rows, row)
		}
	}
	return v
}

// memoryView is the extension memory tables: every configuration with an extension, for
// every load of the buffered then the streamed phase.
func (r *report) memoryView() memoryView {
	var v memoryView
	for _, ph := range []*phase{r.Buffered, r.Streamed} {
		if ph == nil {
			continue
		}
		for _, c := range r.WarmConfigs {
			if c.noExt {
				continue
			}
			for _, ld := range ph.Loads {
				kind := "buffered"
				if ld.Chunk > 0 {
					kind = "streamed"
				}
				m := ph.After[ld.Name][c.Key]
				v.After = append(v.After, memoryAfter{Config: c.Label, N: ld.N, Load: ld.Name, Kind: kind,
					RSS: mib(float64(m.RSS)), Peak: mib(float64(m.Peak))})
				pk, g := ph.Peak[ld.Name][c.Key], ph.Growth[ld.Name][c.Key]
				v.Peaks = append(v.Peaks, memoryPeak{Config: c.Label, Load: ld.Name, Kind: kind,
					Peak: mib(pk.median()), PeakMin: mib(pk.min()), PeakMax: mib(pk.max()),
					Rise: mib(g.median()), RiseMin: mib(g.min()), RiseMax: mib(g.max())})
			}
		}
	}
	return v
}

// row is the microbenchmark's table row.
func (b *bench) row() microRow {
	cell := func(unit string) string {
		s, ok := b.Values[unit]
		if !ok {
			return "–"
		}
		return medSpread(s, unit)
	}
	var other []string
	for _, u := range b.Units {
		switch u {
		case "ns/op", "MB/s", "B/op", "allocs/op":
		default:
			other = append(other, medSpread(b.Values[u], u))
		}
	}
	return microRow{Pkg: b.Pkg, Name: b.Name, Time: cell("ns/op"), Throughput: cell("MB/s"),
		Bytes: cell("B/op"), Allocs: cell("allocs/op"), Other: strings.Join(other, ", ")}
}

// medSpread formats a benchmark value as benchstat does: median ± spread%.
func medSpread(s sample, unit string) string {
	m := s.median()
	spread := 0.0
	if m != 0 {
		spread = (s.max() - s.min()) / 2 / m * 100
	}
	v := ""
	switch {
	case unit == "ns/op" && m >= 1e6:
		v = fmt.Sprintf("%.3f ms", m/1e6)
	case unit == "ns/op" && m >= 1e3:
		v = fmt.Sprintf("%.2f µs", m/1e3)
	case unit == "ns/op":
		v = fmt.Sprintf("%.0f ns", m)
	case unit == "B/op" || unit == "allocs/op":
		v = fmt.Sprintf("%.0f", m)
	default:
		v = fmt.Sprintf("%.4g %s", m, unit)
	}
	if len(s) > 1 {
		v += fmt.Sprintf(" ± %.0f%%", spread)
	}
	return v
}
