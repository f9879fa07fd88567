package main

// What bodytrace costs: the billed duration it adds per invocation, read from the
// emulator's REPORT lines (A and B alternated, 1 KB buffered), priced at AWS Lambda's
// published duration prices; and the bytes it exports per invocation with and without
// sampling, counted by a reverse proxy in front of Jaeger's OTLP/HTTP port.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"sync/atomic"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// Lambda's on-demand duration prices, first pricing tier, us-east-1.
const (
	priceX86     = 0.0000166667 // USD per GB-second, x86_64
	priceArm     = 0.0000133334 // USD per GB-second, arm64
	priceChecked = "2026-11-25"
	priceSource  = "https://aws.amazon.com/lambda/pricing/"
)

// bytesRuns is the invocations per sampling setting in the bytes-exported measurement.
const bytesRuns = 200

// costResult is what the cost phase measured.
type costResult struct {
	Load string
	// Billed and Duration are the REPORT lines' Billed Duration and Duration (ms) per
	// configuration, warm invocations only.
	Billed, Duration map[string]sample
	Bytes            []exportBytes
}

// exportBytes is one bytes-exported run.
type exportBytes struct {
	Setting     string // BODYTRACE_SAMPLE_HEALTHY and compression
	Invocations int
	Requests    int64 // POSTs to the OTLP endpoint
	Bytes       int64 // request body bytes (as sent: compressed when gzip)
}

var reportLine = regexp.MustCompile(`REPORT RequestId: [0-9a-f-]+\s.*?Duration: ([0-9.]+) ms\s+Billed Duration: ([0-9]+) ms`)

// reports parses the emulator's REPORT lines: Duration and Billed Duration, ms.
func reports(log string) (dur, billed sample) {
	for _, m := range reportLine.FindAllStringSubmatch(log, -1) {
		d, err1 := strconv.ParseFloat(m[1], 64)
		b, err2 := strconv.ParseFloat(m[2], 64)
		if err1 == nil && err2 == nil {
			dur, billed = append(dur, d), append(billed, b)
		}
	}
	return dur, billed
}

// costPhase runs configurations A and B side by side, alternated, on the 1 KB buffered
// load and reads their REPORT lines, then measures the bytes B exports per invocation.
func costPhase(ctx context.Context, tools localrun.Tools, cfgs []config, jaeger *localrun.Jaeger, n int) (*costResult, error) {
	ld := load{Name: "1 KB", Bytes: 1024, N: n}
	res := &costResult{Load: ld.Name, Billed: map[string]sample{}, Duration: map[string]sample{}}
	var ab []config
	for _, c := range cfgs {
		if c.Key == "A" || c.Key == "B" {
			ab = append(ab, c)
		}
	}
	progress("cost: %d × %s buffered per configuration (A, B), REPORT lines", n, ld.Name)
	lambdas := map[string]*localrun.Lambda{}
	marks := map[string]int{}
	defer func() {
		for _, l := range lambdas {
			l.Stop()
		}
	}()
	for _, c := range ab {
		l, err := localrun.Launch(tools, c.art, localrun.Function{Runtime: "node", Handler: "index.handler", NoExtension: c.noExt},
			append(c.env, "OTEL_SERVICE_NAME=bench-cost")...)
		if err != nil {
			return nil, fmt.Errorf("cost %s: %w", c.Key, err)
		}
		lambdas[c.Key] = l
		for range warmup {
			if err := invokeChecked(ctx, l, ld); err != nil {
				return nil, fmt.Errorf("cost %s warm-up: %w", c.Key, err)
			}
		}
		marks[c.Key] = len(l.Log.String())
	}
	for i := range n {
		for j := range ab {
			c := ab[(i+j)%len(ab)]
			if err := invokeChecked(ctx, lambdas[c.Key], ld); err != nil {
				return nil, fmt.Errorf("cost %s: %w", c.Key, err)
			}
		}
	}
	for _, c := range ab {
		l := lambdas[c.Key]
		l.Stop() // the last REPORT is written once the extensions are done with the invoke
		delete(lambdas, c.Key)
		res.Duration[c.Key], res.Billed[c.Key] = reports(l.Log.String()[marks[c.Key]:])
		if len(res.Billed[c.Key]) < n*9/10 {
			return nil, fmt.Errorf("cost %s: %d REPORT lines for %d invocations", c.Key, len(res.Billed[c.Key]), n)
		}
	}

	var b *config
	for i := range ab {
		if ab[i].Key == "B" {
			b = &ab[i]
		}
	}
	if b == nil {
		return res, nil
	}
	for _, s := range []struct{ label, ratio, compression string }{
		{"1 (every trace)", "1", ""},
		{"0.1", "0.1", ""},
		{"1 (every trace), gzip", "1", "gzip"},
		{"0.1, gzip", "0.1", "gzip"},
	} {
		progress("cost: bytes exported, %d × %s, BODYTRACE_SAMPLE_HEALTHY=%s", bytesRuns, ld.Name, s.label)
		eb, err := exportedBytes(ctx, tools, *b, jaeger, ld, s.ratio, s.compression)
		if err != nil {
			return nil, err
		}
		eb.Setting = s.label
		res.Bytes = append(res.Bytes, eb)
	}
	return res, nil
}

// exportedBytes runs B against a byte-counting reverse proxy in front of Jaeger's
// OTLP/HTTP port, bytesRuns healthy invocations, and stops it (SHUTDOWN flushes).
func exportedBytes(ctx context.Context, tools localrun.Tools, b config, jaeger *localrun.Jaeger, ld load, ratio, compression string) (exportBytes, error) {
	target, _ := url.Parse("http://" + jaeger.OTLPHTTP)
	rp := httputil.NewSingleHostReverseProxy(target)
	var reqs, body atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		r.Body = &countingBody{ReadCloser: r.Body, n: &body}
		rp.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return exportBytes{}, err
	}
	go srv.Serve(ln)
	defer srv.Close()

	env := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + ln.Addr().String(), "OTEL_SERVICE_NAME=bench-bytes",
		"BODYTRACE_SAMPLE_HEALTHY=" + ratio}
	if compression != "" {
		env = append(env, "OTEL_EXPORTER_OTLP_COMPRESSION="+compression)
	}
	l, err := localrun.Launch(tools, b.art, localrun.Function{Runtime: "node", Handler: "index.handler"}, env...)
	if err != nil {
		return exportBytes{}, fmt.Errorf("bytes %s: %w", ratio, err)
	}
	for range bytesRuns {
		if err := invokeChecked(ctx, l, ld); err != nil {
			l.Stop()
			return exportBytes{}, fmt.Errorf("bytes %s: %w", ratio, err)
		}
	}
	l.Stop()
	return exportBytes{Invocations: bytesRuns, Requests: reqs.Load(), Bytes: body.Load()}, nil
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	k, err := c.ReadCloser.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// usdPerMillion is the duration cost of addedMs per invocation, a million times.
func usdPerMillion(addedMs float64, memMB int, price float64) float64 {
	return addedMs / 1000 * float64(memMB) / 1024 * price * 1e6
}

// costView is the cost section as the report shows it.
type costView struct {
	Load        string
	Invocations int // B's REPORT lines
	Rows        []costRow
	// MedianAdded, MeanAdded: B − A, Billed Duration; DurationAdded: B − A, Duration median.
	MedianAdded, MeanAdded, DurationAdded         string
	PriceX86, PriceArm, PriceSource, PriceChecked string
	Prices                                        []priceRow
	BytesRuns                                     int
	Bytes                                         []bytesRow
}

type costRow struct {
	Key, Median, P25, P75    string // Duration
	BilledMedian, BilledMean string
}

type priceRow struct {
	Label, Added string
	MemoryMB     int
	X86, Arm     string
}

type bytesRow struct {
	Setting         string
	Invocations     int
	Requests, Bytes int64
	PerInvocation   string
}

// view is the cost section; nil without a cost phase.
func (c *costResult) view() *costView {
	if c == nil {
		return nil
	}
	a, b := c.Billed["A"], c.Billed["B"]
	da, db := c.Duration["A"], c.Duration["B"]
	medAdded, meanAdded := b.median()-a.median(), mean(b)-mean(a)
	v := &costView{Load: c.Load, Invocations: len(b),
		MedianAdded: fmt.Sprintf("%+.0f", medAdded), MeanAdded: fmt.Sprintf("%+.3f", meanAdded),
		DurationAdded: fmt.Sprintf("%+.3f", db.median()-da.median()),
		PriceX86:      fmt.Sprintf("%.10f", priceX86), PriceArm: fmt.Sprintf("%.10f", priceArm),
		PriceSource: priceSource, PriceChecked: priceChecked, BytesRuns: bytesRuns}
	for _, k := range []string{"A", "B"} {
		d, bl := c.Duration[k], c.Billed[k]
		v.Rows = append(v.Rows, costRow{Key: k, Median: fmtMs(d.median()), P25: fmtMs(d.q(0.25)), P75: fmtMs(d.q(0.75)),
			BilledMedian: fmt.Sprintf("%.0f", bl.median()), BilledMean: fmt.Sprintf("%.3f", mean(bl))})
	}
	for _, row := range []struct {
		label string
		ms    float64
	}{{"billed median", medAdded}, {"billed mean", meanAdded}} {
		for _, mem := range []int{128, 1024} {
			v.Prices = append(v.Prices, priceRow{Label: row.label, Added: fmt.Sprintf("%+.3f", row.ms), MemoryMB: mem,
				X86: fmt.Sprintf("%.4f", usdPerMillion(row.ms, mem, priceX86)), Arm: fmt.Sprintf("%.4f", usdPerMillion(row.ms, mem, priceArm))})
		}
	}
	for _, e := range c.Bytes {
		v.Bytes = append(v.Bytes, bytesRow{Setting: e.Setting, Invocations: e.Invocations, Requests: e.Requests, Bytes: e.Bytes,
			PerInvocation: fmt.Sprintf("%.0f", float64(e.Bytes)/float64(e.Invocations))})
	}
	return v
}

func mean(s sample) float64 {
	if len(s) == 0 {
		return nan
	}
	t := 0.0
	for _, v := range s {
		t += v
	}
	return t / float64(len(s))
}
