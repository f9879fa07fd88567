package main

import (
	"embed"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

var nan = math.NaN()

func isNaN(v float64) bool { return math.IsNaN(v) }

// report is everything the suite measured.
type report struct {
	Started time.Time
	Elapsed time.Duration
	Command string
	Machine string
	Counts  counts
	Configs []config
	// ColdConfigs run the cold starts (all but S), WarmConfigs the warm phases (all but N).
	ColdConfigs, WarmConfigs []config
	Peer, PeerEnv            string

	Layer    []layerSize
	Packages []pkgSize
	Micro    []*bench
	Startup  *startup
	Cold     map[string]map[string][]coldRun // runtime → config → runs
	Buffered *phase
	Streamed *phase
	Cost     *costResult
	Remote   *remoteResult
}

const (
	coldTargetMs   = 5.0
	kbTargetMs     = 0.2
	sixTargetRatio = 0.10
	chunkTargetUs  = 1000.0
	rssTarget      = 20 << 20
	zipTarget      = 5_000_000
	flatTolerance  = 1 << 20
)

func verdict(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}

func (r *report) cold(rt, key string, f func(coldRun) float64) sample {
	var s sample
	for _, c := range r.Cold[rt][key] {
		if v := f(c); !isNaN(v) {
			s = append(s, v)
		}
	}
	return s
}

func coldInvoke(c coldRun) float64 { return float64(c.Invoke.Microseconds()) / 1000 }
func coldTotal(c coldRun) float64  { return float64(c.Total.Microseconds()) / 1000 }

func (r *report) lat(p *phase, ld, key string) sample { return durations(p.Latency[ld][key]) }

func (r *report) microMedian(name, unit string) float64 {
	for _, b := range r.Micro {
		if b.Name == name {
			return b.Values[unit].median()
		}
	}
	return nan
}

// readHistory reads scripts/bench/history.md, the before/after records of the fixes the suite
// led to, kept by hand; nil when it cannot be read (the report then has no history).
func readHistory() []byte {
	h, err := os.ReadFile(filepath.Join(localrun.Root(), "scripts", "bench", "history.md"))
	if err != nil {
		return nil
	}
	return h
}

//go:embed report.md.tmpl remote.md.tmpl remote-only.md.tmpl
var templateFiles embed.FS

// templates are the reports' documents: report.md.tmpl (BENCHMARKS.md), remote-only.md.tmpl,
// and remote.md.tmpl, the remote backend's part of both.
var templates = template.Must(template.New("").Funcs(template.FuncMap{"verdict": verdict}).
	ParseFS(templateFiles, "*.md.tmpl"))

// render executes the document name with v.
func render(name string, v *reportView) (string, error) {
	var w strings.Builder
	if err := templates.ExecuteTemplate(&w, name, v); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return w.String(), nil
}

// markdown is BENCHMARKS.md: the report, then history (see readHistory) unless nil.
func (r *report) markdown(history []byte) (string, error) {
	v := r.view()
	v.HasHistory, v.History = history != nil, string(history)
	return render("report.md.tmpl", v)
}
