package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// coldRun is one cold start: the emulator started, one invoke, the emulator stopped.
type coldRun struct {
	Total  time.Duration // emulator start → first response at the client
	Invoke time.Duration // first invoke sent → its response (the emulator initialises on it)
	// InitToRegistered is the emulator's INIT START → "External agent ... registered", in ms
	// from its own log (1 ms resolution); NaN without an extension.
	InitToRegistered float64
	// bodytrace's own log (B only; NaN otherwise): process main → /register done, and
	// /register done → the telemetry subscription answered, right before its first /next.
	InitMs, RegisteredToNext float64
}

// coldStarts starts every configuration n times for each runtime, in rotating order so drift
// spreads over all of them.
func coldStarts(ctx context.Context, tools localrun.Tools, cfgs []config, n int) (map[string]map[string][]coldRun, error) {
	out := map[string]map[string][]coldRun{}
	runtimes := []localrun.Function{{Runtime: "node", Handler: "index.handler"}, {Runtime: "go", Handler: "buffered"}}
	for i := range n {
		progress("cold starts: round %d of %d", i+1, n)
		for j := range cfgs {
			c := cfgs[(i+j)%len(cfgs)]
			for _, fn := range runtimes {
				run, err := coldStart(ctx, tools, c, fn)
				if err != nil {
					return nil, fmt.Errorf("cold start %s %s: %w", c.Key, fn.Runtime, err)
				}
				if out[fn.Runtime] == nil {
					out[fn.Runtime] = map[string][]coldRun{}
				}
				out[fn.Runtime][c.Key] = append(out[fn.Runtime][c.Key], run)
			}
		}
	}
	return out, nil
}

func coldStart(ctx context.Context, tools localrun.Tools, c config, fn localrun.Function) (coldRun, error) {
	fn.NoExtension = c.noExt
	env := append(c.env, "OTEL_SERVICE_NAME=bench-"+strings.ToLower(c.Key)+"-cold")
	t0 := time.Now()
	l, err := localrun.Launch(tools, c.art, fn, env...)
	if err != nil {
		return coldRun{}, err
	}
	defer l.Stop()
	t1 := time.Now()
	ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := l.Invoke(ictx, []byte(`{"bytes":1024}`)); err != nil {
		return coldRun{}, fmt.Errorf("%w\n%s", err, l.Log)
	}
	t2 := time.Now()
	run := coldRun{Total: t2.Sub(t0), Invoke: t2.Sub(t1)}
	run.InitToRegistered, run.InitMs, run.RegisteredToNext = parseStartLog(l.Log.String())
	return run, nil
}

var (
	rieInitStart  = regexp.MustCompile(`(?m)^(\d\d \w{3} \d{4} \d\d:\d\d:\d\d,\d{3}) \[INFO\] \(rapid\) INIT START`)
	rieRegistered = regexp.MustCompile(`(?m)^(\d\d \w{3} \d{4} \d\d:\d\d:\d\d,\d{3}) \[INFO\] \(rapid\) External agent \S+ \(\S+\) registered`)
	extLogLine    = regexp.MustCompile(`(?m)^\{"time":.*"ext":"bodytrace".*$`)
)

const rieTimeLayout = "02 Jan 2006 15:04:05,000"

// parseStartLog reads the emulator's and bodytrace's start-up lines (NaN where absent).
func parseStartLog(log string) (initToRegistered, initMs, registeredToNext float64) {
	initToRegistered, initMs, registeredToNext = nan, nan, nan
	if a, b := rieInitStart.FindStringSubmatch(log), rieRegistered.FindStringSubmatch(log); a != nil && b != nil {
		ta, err1 := time.ParseInLocation(rieTimeLayout, a[1], time.Local)
		tb, err2 := time.ParseInLocation(rieTimeLayout, b[1], time.Local)
		if err1 == nil && err2 == nil {
			initToRegistered = float64(tb.Sub(ta).Microseconds()) / 1000
		}
	}
	var registered time.Time
	for _, line := range extLogLine.FindAllString(log, -1) {
		var m struct {
			Time   time.Time `json:"time"`
			Msg    string    `json:"msg"`
			InitMs string    `json:"init_ms"`
		}
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		switch {
		case m.Msg == "registered":
			registered = m.Time
			initMs, _ = strconv.ParseFloat(m.InitMs, 64)
		case !registered.IsZero() && strings.Contains(m.Msg, "telemetry") && isNaN(registeredToNext):
			registeredToNext = float64(m.Time.Sub(registered).Microseconds()) / 1000
		}
	}
	return
}
