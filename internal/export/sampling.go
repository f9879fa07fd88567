package export

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/bodytrace/bodytrace/internal/invocation"
)

// healthy reports whether a verdict says the body was fine: the only traces sampling may drop.
func healthy(v invocation.Verdict) bool {
	return v.Verdict == invocation.VerdictDelivered || v.Verdict == invocation.VerdictEmptyByDesign
}

// keep decides whether an invocation's trace is exported. bodytrace decides after the
// invocation, knowing its verdict: every lost or unknown body is kept; healthy ones are
// sampled by request id (so the same invocation always gets the same answer), and, when
// asked, by the caller's sampled flag.
func (e *Exporter) keep(r *invocation.Record, v invocation.Verdict) bool {
	if !healthy(v) {
		return true
	}
	if e.cfg.ParentBased {
		if sc := trace.SpanContextFromContext(parentContext(r, e.cfg.Propagators)); sc.IsValid() && !sc.IsSampled() {
			return false
		}
	}
	if e.cfg.SampleHealthy == nil || *e.cfg.SampleHealthy >= 1 {
		return true
	}
	if *e.cfg.SampleHealthy <= 0 {
		return false
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(r.RequestID))
	return float64(h.Sum64()%1_000_000) < *e.cfg.SampleHealthy*1_000_000
}

// countKey groups invocations for the metrics.
type countKey struct{ verdict, trigger string }

func (e *Exporter) count(r *invocation.Record, v invocation.Verdict) {
	trigger := "unknown"
	if r.Request != nil {
		trigger = string(r.Request.Trigger)
	}
	if e.cfg.Metrics == nil && e.metrics == nil {
		return
	}
	e.mu.Lock()
	if e.counts == nil {
		e.counts = map[countKey]int{}
	}
	e.counts[countKey{v.Verdict, trigger}]++
	e.mu.Unlock()
}

// emfLine is one CloudWatch Embedded Metric Format record: CloudWatch turns it into the
// metrics Invocations and LostBodies in the namespace bodytrace, by function, verdict and
// trigger, with no agent and no API call.
type emfLine struct {
	AWS          emfMeta `json:"_aws"`
	FunctionName string  `json:"FunctionName"`
	Verdict      string  `json:"Verdict"`
	Trigger      string  `json:"Trigger"`
	Invocations  int     `json:"Invocations"`
	LostBodies   int     `json:"LostBodies"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

var emfDirectives = []emfDirective{{
	Namespace:  "bodytrace",
	Dimensions: [][]string{{"FunctionName"}, {"FunctionName", "Verdict"}, {"FunctionName", "Trigger"}},
	Metrics:    []emfMetric{{Name: "Invocations", Unit: "Count"}, {Name: "LostBodies", Unit: "Count"}},
}}

// metricsEvery spaces the EMF lines: CloudWatch metrics have a one-minute resolution, and a
// line per invocation would double the log's volume for nothing.
const metricsEvery = time.Minute

// writeMetrics writes the counts since the last write as EMF lines and resets them: at a
// flush once metricsEvery has passed, and always when forced (SHUTDOWN).
func (e *Exporter) writeMetrics(ctx context.Context, force bool) error {
	if e.cfg.Metrics == nil && e.metrics == nil {
		return nil
	}
	e.mu.Lock()
	if !force && time.Since(e.metricsAt) < metricsEvery {
		e.mu.Unlock()
		return nil
	}
	counts := e.counts
	e.counts, e.metricsAt = nil, time.Now()
	e.mu.Unlock()
	var err error
	if e.metrics != nil {
		if err = e.metrics.flush(ctx, counts); err != nil {
			err = fmt.Errorf("send metrics: %w", err)
		}
	}
	if e.cfg.Metrics == nil {
		return err
	}
	keys := make([]countKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].verdict+keys[i].trigger < keys[j].verdict+keys[j].trigger
	})
	now := time.Now().UnixMilli()
	for _, k := range keys {
		n := counts[k]
		line := emfLine{AWS: emfMeta{Timestamp: now, CloudWatchMetrics: emfDirectives},
			FunctionName: e.cfg.Function.Name, Verdict: k.verdict, Trigger: k.trigger, Invocations: n}
		if strings.HasPrefix(k.verdict, invocation.LostPrefix) {
			line.LostBodies = n
		}
		b, _ := json.Marshal(line)
		e.summary.Lock()
		_, _ = e.cfg.Metrics.Write(append(b, '\n'))
		e.summary.Unlock()
	}
	return err
}
