package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// load is one kind of invocation: a body of Bytes, buffered or (Chunk > 0) streamed.
type load struct {
	Name     string
	Bytes, N int
	Chunk    int
	// TooLarge accepts the emulator's Function.ResponseSizeTooLarge answer: it caps what it
	// buffers for the caller at 6 MiB, streams included, while the stream still crosses
	// the proxy (see the bytes bodytrace counted).
	TooLarge bool
}

func (l load) event() []byte {
	if l.Chunk > 0 {
		return fmt.Appendf(nil, `{"bytes":%d,"chunk":%d}`, l.Bytes, l.Chunk)
	}
	return fmt.Appendf(nil, `{"bytes":%d}`, l.Bytes)
}

// phase is what one set of warm functions (one per configuration) measured.
type phase struct {
	Handler string
	Loads   []load
	Warmup  int
	// Latency is the client-observed latency per load and configuration.
	Latency map[string]map[string][]time.Duration
	// Peak and Growth are the extension's VmHWM during each invocation and its rise over
	// the VmRSS just before (bytes), per load and configuration with an extension.
	Peak, Growth map[string]map[string]sample
	// After is the extension's memory after each load's invocations, with Done, the
	// invocations it had served by then (warm-up included).
	After map[string]map[string]localrun.Memory
	Done  map[string]int
	// TTFB is bodytrace's bodytrace.stream.ttfb_us per load (µs), and StreamBytes its
	// bodytrace.bytes.stream, read back from Jaeger.
	TTFB, StreamBytes map[string]sample
}

const warmup = 5

// latencyPhase keeps one warm function per configuration and invokes them in turn, rotating
// which goes first, for every load.
func latencyPhase(ctx context.Context, tools localrun.Tools, cfgs []config, jaeger *localrun.Jaeger, handler string, loads []load) (*phase, error) {
	p := &phase{Handler: handler, Loads: loads, Warmup: warmup,
		Latency: map[string]map[string][]time.Duration{}, Peak: map[string]map[string]sample{},
		Growth: map[string]map[string]sample{}, After: map[string]map[string]localrun.Memory{}, Done: map[string]int{},
		TTFB: map[string]sample{}, StreamBytes: map[string]sample{}}
	service := "bench-b-" + strings.ReplaceAll(handler, ".", "-") + "-" + strconv.FormatInt(time.Now().Unix(), 10)
	lambdas := map[string]*localrun.Lambda{}
	pids := map[string]int{}
	defer func() {
		for _, l := range lambdas {
			l.Stop()
		}
	}()
	for _, c := range cfgs {
		env := append(c.env, "OTEL_SERVICE_NAME="+service)
		l, err := localrun.Launch(tools, c.art, localrun.Function{Runtime: "node", Handler: handler, NoExtension: c.noExt}, env...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Key, err)
		}
		lambdas[c.Key] = l
		for range warmup {
			if err := invokeChecked(ctx, l, loads[0]); err != nil {
				return nil, fmt.Errorf("%s warm-up: %w", c.Key, err)
			}
		}
		p.Done[c.Key] = warmup
		if !c.noExt {
			pid, err := l.ExtensionPid()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Key, err)
			}
			pids[c.Key] = pid
		}
	}
	for _, ld := range loads {
		progress("%s: %d × %s per configuration", handler, ld.N, ld.Name)
		p.Latency[ld.Name] = map[string][]time.Duration{}
		p.Peak[ld.Name], p.Growth[ld.Name] = map[string]sample{}, map[string]sample{}
		p.After[ld.Name] = map[string]localrun.Memory{}
		for i := range ld.N {
			for j := range cfgs {
				c := cfgs[(i+j)%len(cfgs)]
				l := lambdas[c.Key]
				pid, ext := pids[c.Key]
				var before localrun.Memory
				if ext {
					if err := localrun.ResetPeak(pid); err != nil {
						return nil, err
					}
					var err error
					if before, err = localrun.ReadMemory(pid); err != nil {
						return nil, err
					}
				}
				t := time.Now()
				if err := invokeChecked(ctx, l, ld); err != nil {
					return nil, fmt.Errorf("%s %s: %w", c.Key, ld.Name, err)
				}
				p.Latency[ld.Name][c.Key] = append(p.Latency[ld.Name][c.Key], time.Since(t))
				p.Done[c.Key]++
				if ext {
					m, err := localrun.ReadMemory(pid)
					if err != nil {
						return nil, err
					}
					p.Peak[ld.Name][c.Key] = append(p.Peak[ld.Name][c.Key], float64(m.Peak))
					p.Growth[ld.Name][c.Key] = append(p.Growth[ld.Name][c.Key], float64(m.Peak-before.RSS))
				}
			}
		}
		for key, pid := range pids {
			m, err := localrun.ReadMemory(pid)
			if err != nil {
				return nil, err
			}
			p.After[ld.Name][key] = m
			if ld.Name == loads[0].Name {
				p.Done[key+"@first"] = p.Done[key]
			}
		}
	}
	if l := lambdas["B"]; l != nil && loads[0].Chunk > 0 {
		// SHUTDOWN flushes bodytrace's spans; then read the stream spans back.
		l.Stop()
		delete(lambdas, "B")
		want := warmup
		for _, ld := range loads {
			want += ld.N
		}
		ttfb, sizes, err := streamTTFB(ctx, jaeger, service, want, loads)
		if err != nil {
			progress("stream ttfb from Jaeger: %v", err)
		}
		p.TTFB, p.StreamBytes = ttfb, sizes
	}
	return p, nil
}

// invokeChecked invokes and checks that at least the body's bytes came back.
func invokeChecked(ctx context.Context, l *localrun.Lambda, ld load) error {
	ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	got, err := l.Invoke(ictx, ld.event())
	if err != nil {
		return err
	}
	if ld.TooLarge && bytes.Contains(got, []byte("Function.ResponseSizeTooLarge")) {
		return nil
	}
	if len(got) < ld.Bytes {
		return fmt.Errorf("caller got %d bytes, want at least %d: %.200s", len(got), ld.Bytes, got)
	}
	return nil
}

// streamTTFB reads the stream spans bodytrace exported and sorts their ttfb_us by load,
// telling loads apart by bodytrace.bytes.stream.
func streamTTFB(ctx context.Context, j *localrun.Jaeger, service string, want int, loads []load) (ttfb, sizes map[string]sample, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, sizes := map[string]sample{}, map[string]sample{}
	for {
		traces, err := j.Search(ctx, service, map[string]string{})
		if err == nil && len(traces) >= want {
			for _, tr := range traces {
				for _, s := range tr.Find("stream") {
					us, err1 := strconv.ParseFloat(s.Tag("bodytrace.stream.ttfb_us"), 64)
					n, err2 := strconv.ParseFloat(s.Tag("bodytrace.bytes.stream"), 64)
					if err1 != nil || err2 != nil {
						continue
					}
					// The nearest load by size: the wire bytes add the prelude and chunk framing.
					best, dist := "", math.Inf(1)
					for _, ld := range loads {
						if d := math.Abs(n - float64(ld.Bytes)); d < dist {
							best, dist = ld.Name, d
						}
					}
					out[best] = append(out[best], us)
					sizes[best] = append(sizes[best], n)
				}
			}
			return out, sizes, nil
		}
		select {
		case <-ctx.Done():
			return out, sizes, fmt.Errorf("found %d of %d traces of %s: %v", len(traces), want, service, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
