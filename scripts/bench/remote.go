package main

// The backend at a distance: bodytrace exporting to a loopback stand-in in front of
// Jaeger that answers each OTLP request after a set delay (BENCH_REMOTE_DELAY, default
// 30 ms), as a SaaS endpoint or a gateway in another VPC would. For each flush strategy
// and runtime: the caller's latency, and the REPORT lines' Duration and Billed Duration
// (in the emulator's classic mode the invocation lasts until every extension's next
// /next: what an extension does after the response is billed there, as on Lambda). Then
// the freeze run: many invocations with the extension stopped (SIGSTOP) after each,
// longer than its flush bound, and every trace looked up in Jaeger.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/localrun"
)

// remoteRow is one configuration's figures in the remote phase.
type remoteRow struct {
	Latency          []time.Duration
	Duration, Billed sample
	// Lambda is the client latency in the emulator's Managed Instances mode (A and V only),
	// which answers the caller as soon as the runtime posts the response, as Lambda does;
	// classic mode (Latency) also makes the caller wait for every extension's next /next.
	Lambda []time.Duration
}

// lambdaModel are the configurations also measured in Managed Instances mode.
var lambdaModel = map[string]bool{"A": true, "V": true}

// relayKey is the Go function behind a bare TCP relay, measured in Managed Instances mode
// only: the floor for any Runtime API proxy on this machine.
const relayKey = "R"

// remoteResult is what the remote phase measured: runtime → configuration key → row.
type remoteResult struct {
	Delay  time.Duration
	N      int
	Rows   map[string]map[string]*remoteRow
	Freeze *freezeResult
}

// remoteConfigs are the remote phase's columns.
var remoteConfigs = []struct{ Key, Flush, Label string }{
	{"A", "", "no extension"},
	{"S", "summary", "bodytrace without an OTLP endpoint (summary lines in the log): what bodytrace adds apart from exporting"},
	{"E", "end", "bodytrace, `BODYTRACE_FLUSH=end` (every trace before the next event)"},
	{"V", "verdict", "bodytrace, `BODYTRACE_FLUSH=verdict` (the default: lost bodies before the next event, healthy ones in the background)"},
}

// remoteDelay reads BENCH_REMOTE_DELAY (a Go duration), 30 ms by default.
func remoteDelay() (time.Duration, error) {
	v := os.Getenv("BENCH_REMOTE_DELAY")
	if v == "" {
		return 30 * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("BENCH_REMOTE_DELAY=%q: use a duration such as 30ms", v)
	}
	return d, nil
}

// remotePhase runs A, E and V side by side, alternated, on the 1 KB buffered load, for the
// Node.js and the Go example: plain for A, observed (the Go function with the steps import)
// for the others.
func remotePhase(ctx context.Context, tools localrun.Tools, plain, observed localrun.Artifacts, jaeger *localrun.Jaeger, n, freezeN int) (*remoteResult, error) {
	delay, err := remoteDelay()
	if err != nil {
		return nil, err
	}
	remote, err := localrun.StartRemote(jaeger.OTLPHTTP, delay)
	if err != nil {
		return nil, err
	}
	defer remote.Close()
	res := &remoteResult{Delay: delay, N: n, Rows: map[string]map[string]*remoteRow{}}
	ld := load{Name: "1 KB", Bytes: 1024, N: n}
	for _, fn := range []localrun.Function{{Runtime: "node", Handler: "index.handler"}, {Runtime: "go", Handler: "buffered"}} {
		progress("remote backend (%v away): %d × %s %s per configuration (A, S, E, V%s)", delay, n, ld.Name, fn.Runtime, map[string]string{"go": "; R, the bare relay"}[fn.Runtime])
		rows, err := remoteRun(ctx, tools, plain, observed, fn, remote, ld)
		if err != nil {
			return nil, fmt.Errorf("remote %s: %w", fn.Runtime, err)
		}
		res.Rows[fn.Runtime] = rows
	}
	if freezeN > 0 {
		progress("freezes: %d invocations, the extension stopped after each", freezeN)
		if res.Freeze, err = freezeRun(ctx, tools, observed, jaeger, remote, freezeN); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func remoteRun(ctx context.Context, tools localrun.Tools, plain, observed localrun.Artifacts, fn localrun.Function, remote *localrun.Remote, ld load) (map[string]*remoteRow, error) {
	lambdas := map[string]*localrun.Lambda{}
	marks := map[string]int{}
	defer func() {
		for _, l := range lambdas {
			l.Stop()
		}
	}()
	for _, c := range remoteConfigs {
		f := fn
		f.NoExtension = c.Flush == ""
		env := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + remote.Addr, "OTEL_SERVICE_NAME=bench-remote", "BODYTRACE_FLUSH=" + c.Flush}
		if c.Flush == "summary" {
			env = []string{"OTEL_SERVICE_NAME=bench-remote"}
		}
		art := observed
		if f.NoExtension {
			art = plain
		}
		l, err := localrun.Launch(tools, art, f, env...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Key, err)
		}
		lambdas[c.Key] = l
		marks[c.Key] = -1
		if lambdaModel[c.Key] {
			f.ManagedInstances = true
			mi, err := localrun.Launch(tools, art, f, env...)
			if err != nil {
				return nil, fmt.Errorf("%s in Managed Instances mode: %w", c.Key, err)
			}
			lambdas[c.Key+"/mi"] = mi
		}
	}
	if fn.Runtime == "go" {
		// R: the plain function behind a bare TCP relay, no extension (scripts/bench/relay):
		// what one more process in the Runtime API's path costs here before any parsing.
		// In Managed Instances mode the runtime runs as another user: the function it starts
		// must sit in a folder that user can read, not in the bench's private one.
		dir, err := os.MkdirTemp("", "bodytrace-relay-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		relay, err := localrun.Build(dir, "./scripts/bench/relay", "relay")
		if err != nil {
			return nil, err
		}
		function, err := localrun.Build(dir, "./examples/go", "function") // the plain build, as A's
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
		art := plain
		art.GoExample = relay
		f := fn
		f.NoExtension, f.ManagedInstances = true, true
		l, err := localrun.Launch(tools, art, f, "RELAY_FUNCTION="+function)
		if err != nil {
			return nil, fmt.Errorf("%s in Managed Instances mode: %w", relayKey, err)
		}
		lambdas[relayKey+"/mi"] = l
	}
	for key, l := range lambdas {
		for range warmup {
			if err := invokeChecked(ctx, l, ld); err != nil {
				return nil, fmt.Errorf("%s warm-up: %w", key, err)
			}
		}
		if _, classic := marks[key]; classic {
			marks[key] = len(l.Log.String())
		}
	}
	rows := map[string]*remoteRow{}
	var order []string // every function, alternated invocation by invocation
	for _, c := range remoteConfigs {
		rows[c.Key] = &remoteRow{}
		order = append(order, c.Key)
		if lambdaModel[c.Key] {
			order = append(order, c.Key+"/mi")
		}
	}
	if _, ok := lambdas[relayKey+"/mi"]; ok {
		rows[relayKey] = &remoteRow{}
		order = append(order, relayKey+"/mi")
	}
	for i := range ld.N {
		for j := range order {
			key := order[(i+j)%len(order)]
			t := time.Now()
			if err := invokeChecked(ctx, lambdas[key], ld); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			took := time.Since(t)
			if c, mi := strings.CutSuffix(key, "/mi"); mi {
				rows[c].Lambda = append(rows[c].Lambda, took)
			} else {
				rows[key].Latency = append(rows[key].Latency, took)
			}
		}
	}
	for _, c := range remoteConfigs {
		l := lambdas[c.Key]
		l.Stop() // the last REPORT is written once the extensions are done with the invoke
		delete(lambdas, c.Key)
		log := l.Log.String()[marks[c.Key]:]
		if strings.Contains(log, invocation.NotObserved) {
			// bodytrace running beside the Runtime API instead of in its path costs less
			// and observes nothing: figures from it would flatter.
			return nil, fmt.Errorf("%s %s: bodytrace did not observe the Runtime API (%q in its summary lines)", c.Key, fn.Runtime, invocation.NotObserved)
		}
		rows[c.Key].Duration, rows[c.Key].Billed = reports(log)
		if len(rows[c.Key].Billed) < ld.N*9/10 {
			return nil, fmt.Errorf("%s: %d REPORT lines for %d invocations", c.Key, len(rows[c.Key].Billed), ld.N)
		}
	}
	return rows, nil
}

// freezeResult is the freeze run: every trace looked up in Jaeger after SHUTDOWN.
type freezeResult struct {
	Invocations, Lost     int
	Missing, LostMissing  int
	Stop, Bound           time.Duration
	Exports               int64
	FlushWarnings, Errors int
	Warnings              []string // the extension's flush warnings and recoveries, as logged
}

const (
	freezeBound = 200 * time.Millisecond // BODYTRACE_FLUSH_TIMEOUT in the freeze run
	freezeStop  = 300 * time.Millisecond // each freeze: longer than the bound
)

// freezeRun invokes the Node.js example n times through a function URL event, one in ten
// with an empty body (lost:handler), stopping the extension after each invocation for
// longer than its flush bound, then stops the emulator (SHUTDOWN) and looks every trace up.
func freezeRun(ctx context.Context, tools localrun.Tools, art localrun.Artifacts, jaeger *localrun.Jaeger, remote *localrun.Remote, n int) (*freezeResult, error) {
	res := &freezeResult{Invocations: n, Stop: freezeStop, Bound: freezeBound}
	before := remote.Answered()
	service := fmt.Sprintf("bench-freeze-%d", time.Now().Unix())
	l, err := localrun.Launch(tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"},
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+remote.Addr, "OTEL_SERVICE_NAME="+service,
		"BODYTRACE_SUMMARY=on", "BODYTRACE_FLUSH_TIMEOUT="+freezeBound.String())
	if err != nil {
		return nil, err
	}
	defer l.Stop()
	pid := 0
	for i := range n {
		q := map[string]string{"bytes": "1024"}
		if i%10 == 3 {
			q = map[string]string{"empty": "1"}
			res.Lost++
		}
		ev, err := functionURLEvent(q)
		if err != nil {
			return nil, err
		}
		ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
		_, err = l.Invoke(ictx, ev)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("freeze invocation %d: %w", i, err)
		}
		if pid == 0 {
			if pid, err = l.ExtensionPid(); err != nil {
				return nil, err
			}
		}
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			return nil, err
		}
		time.Sleep(freezeStop)
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			return nil, err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	sums, err := l.WaitSummaries(wctx, n)
	if err != nil {
		return nil, err
	}
	l.Stop()
	log := l.Log.String()
	res.FlushWarnings = strings.Count(log, `"msg":"flush"`)
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"msg":"flush"`) || strings.Contains(line, `"msg":"export recovered"`) {
			res.Warnings = append(res.Warnings, strings.TrimSpace(line))
		}
	}
	res.Exports = remote.Answered() - before
	for i, s := range sums {
		id, _ := s["traceId"].(string)
		lost := i%10 == 3
		if lost && s["verdict"] != "lost:handler" || !lost && s["verdict"] != "delivered" {
			res.Errors++
		}
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := jaeger.Trace(tctx, id, 3)
		tcancel()
		if id == "" || err != nil {
			res.Missing++
			if lost {
				res.LostMissing++
			}
		}
	}
	return res, nil
}

// functionURLEvent is examples/events/function-url.json with the query parameters q.
func functionURLEvent(q map[string]string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(localrun.Root(), "examples", "events", "function-url.json"))
	if err != nil {
		return nil, err
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, err
	}
	var raw []string
	qs := map[string]any{}
	for k, v := range q {
		qs[k] = v
		raw = append(raw, k+"="+v)
	}
	ev["queryStringParameters"], ev["rawQueryString"] = qs, strings.Join(raw, "&")
	return json.Marshal(ev)
}

// Targets with the backend at a distance (issue 19), for configuration V (the default).
const (
	remoteBilledMedianMs = 1.0
	remoteBilledMeanMs   = 2.0
	remoteClientMs       = 0.2
)

// remoteView is the remote phase as the reports show it (remote.md.tmpl).
type remoteView struct {
	Delay   time.Duration
	N       int
	Configs []struct{ Key, Flush, Label string }
	Rows    []remoteRowView
	Targets []remoteTarget // per runtime with A and V
	Freeze  *freezeView
}

type remoteRowView struct {
	Runtime, Key                       string
	Latency, LatencyP25, LatencyP75    string
	Added, AddedMean                   string // client latency − A's
	Duration, PostAdded, PostAddedMean string // REPORT Duration, and − A's
	Billed, BilledAdded                string // Billed Duration mean, and − A's
	Lambda                             string // Managed Instances mode client latency, median (p25–p75); "" when not measured
}

// remoteTarget is one runtime's targets with the backend at a distance, for V against A.
type remoteTarget struct {
	Runtime                            string
	BilledMedianLimit, BilledMeanLimit string
	Median, Mean, Billed, EndMedian    string // post-response added; Billed Duration mean added; E's median
	BilledOK                           bool
	ClientLimit, Client, ClientClassic string // Managed Instances mode (as on Lambda); classic mode
	ClientOK                           bool
	// Floor is R's client latency added in Managed Instances mode: a bare TCP relay where
	// the proxy sits (Go only); "" when not measured.
	Floor string
}

type freezeView struct {
	*freezeResult
	OK bool // no lost body's trace missing
}

// view is the remote phase's section and targets; nil without a remote phase.
func (rr *remoteResult) view() *remoteView {
	if rr == nil {
		return nil
	}
	v := &remoteView{Delay: rr.Delay, N: rr.N, Configs: remoteConfigs}
	for _, rt := range []string{"node", "go"} {
		rows := rr.Rows[rt]
		a := rows["A"]
		if a == nil {
			continue
		}
		la := durations(a.Latency)
		for _, c := range remoteConfigs {
			x := rows[c.Key]
			lx := durations(x.Latency)
			v.Rows = append(v.Rows, remoteRowView{Runtime: rt, Key: c.Key,
				Latency: fmtMs(lx.median()), LatencyP25: fmtMs(lx.q(0.25)), LatencyP75: fmtMs(lx.q(0.75)),
				Added: signed(lx.median()-la.median(), ""), AddedMean: signed(mean(lx)-mean(la), ""),
				Duration: fmtMs(x.Duration.median()), PostAdded: signed(x.Duration.median()-a.Duration.median(), ""),
				PostAddedMean: signed(mean(x.Duration)-mean(a.Duration), ""),
				Billed:        fmt.Sprintf("%.3f", mean(x.Billed)), BilledAdded: signed(mean(x.Billed)-mean(a.Billed), ""),
				Lambda: lambdaLatency(x.Lambda)})
		}
		vr := rows["V"]
		if vr == nil {
			continue
		}
		med := vr.Duration.median() - a.Duration.median()
		avg := mean(vr.Duration) - mean(a.Duration)
		lv, lmv, lma := durations(vr.Latency), durations(vr.Lambda), durations(a.Lambda)
		client := lmv.median() - lma.median()
		floor := ""
		if r := rows[relayKey]; r != nil && len(r.Lambda) > 0 && len(lma) > 0 {
			floor = signed(durations(r.Lambda).median()-lma.median(), "")
		}
		v.Targets = append(v.Targets, remoteTarget{Runtime: rt,
			BilledMedianLimit: fmt.Sprintf("%.0f", remoteBilledMedianMs), BilledMeanLimit: fmt.Sprintf("%.0f", remoteBilledMeanMs),
			Median: signed(med, ""), Mean: signed(avg, ""), Billed: signed(mean(vr.Billed)-mean(a.Billed), ""),
			EndMedian:   signed(rows["E"].Duration.median()-a.Duration.median(), ""),
			BilledOK:    med < remoteBilledMedianMs && avg < remoteBilledMeanMs,
			ClientLimit: fmt.Sprintf("%.1f", remoteClientMs), Client: signed(client, ""), ClientClassic: signed(lv.median()-la.median(), ""),
			ClientOK: len(lmv) > 0 && len(lma) > 0 && client < remoteClientMs, Floor: floor})
	}
	if f := rr.Freeze; f != nil {
		v.Freeze = &freezeView{freezeResult: f, OK: f.LostMissing == 0}
	}
	return v
}

// runRemoteOnly runs the remote and freeze phases alone and writes their sections to out.
func runRemoteOnly(out string, n counts) error {
	root := localrun.Root()
	tools, err := localrun.FindTools()
	if err != nil {
		return err
	}
	r := &report{Counts: n, Started: time.Now(), Command: "go run ./scripts/bench " + strings.Join(os.Args[1:], " "), Machine: machine()}
	progress("building the layer (scripts/build-layer.sh)")
	if r.Layer, err = buildLayer(root); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bodytrace-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	art, observed, err := benchArtifacts(tmp)
	if err != nil {
		return err
	}
	jaeger, err := localrun.StartJaeger(tools.Jaeger, false)
	if err != nil {
		return err
	}
	defer jaeger.Stop()
	if r.Remote, err = remotePhase(context.Background(), tools, art, observed, jaeger, n.KB, n.Freeze); err != nil {
		return err
	}
	md, err := r.remoteOnlyMarkdown()
	if err != nil {
		return err
	}
	return os.WriteFile(out, []byte(md), 0o644)
}

// remoteOnlyMarkdown is the report of runRemoteOnly: the remote targets and section.
func (r *report) remoteOnlyMarkdown() (string, error) {
	v := r.view()
	v.Peer = "" // the remote-only report has no C column
	return render("remote-only.md.tmpl", v)
}

// lambdaLatency formats a Managed Instances mode latency sample, or "" without one.
func lambdaLatency(d []time.Duration) string {
	if len(d) == 0 {
		return ""
	}
	l := durations(d)
	return fmt.Sprintf("%s (%s–%s)", fmtMs(l.median()), fmtMs(l.q(0.25)), fmtMs(l.q(0.75)))
}
