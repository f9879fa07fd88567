package export

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/otlp"
)

// otlpMetrics sends the invocation counts by verdict and trigger as OpenTelemetry metrics,
// over OTLP with the traces' endpoint settings: the counterpart of the EMF lines for users
// with a backend. Cumulative sums of the counts the exporter keeps for both, sent at most
// once a minute (with a flush) and at SHUTDOWN; nothing is sent by a timer of its own, so
// nothing runs while the environment is frozen.
type otlpMetrics struct {
	send   func(ctx context.Context, msg []byte) error
	client *otlp.Client // nil when SendMetrics replaces it
	res    *resource.Resource
	start  time.Time

	mu     sync.Mutex
	totals map[countKey]int64 // since start
}

func newOTLPMetrics(cfg Config, res *resource.Resource) *otlpMetrics {
	m := &otlpMetrics{send: cfg.SendMetrics, res: res, start: time.Now(), totals: map[countKey]int64{}}
	if m.send == nil {
		m.client = otlp.NewClient(*cfg.OTLPMetrics, retryBudget(cfg.FlushTimeout))
		m.send = func(ctx context.Context, msg []byte) error {
			_, err := m.client.Send(ctx, msg)
			return err
		}
	}
	return m
}

// flush adds the counts since the last flush to the totals and sends them. Lost bodies are
// the lost verdicts, by the stage their verdict names.
func (m *otlpMetrics) flush(ctx context.Context, counts map[countKey]int) error {
	m.mu.Lock()
	lost := map[countKey]int64{} // the stage in place of the verdict
	for k, n := range counts {
		m.totals[k] += int64(n)
	}
	for k, n := range m.totals {
		if stage, ok := strings.CutPrefix(k.verdict, invocation.LostPrefix); ok {
			lost[countKey{stage, k.trigger}] += n
		}
	}
	sums := []otlp.Sum{
		{Name: "bodytrace.invocations", Unit: "{invocation}", Description: "Invocations by verdict and trigger, sampled or not",
			Points: points(m.totals, keyVerdict)},
		{Name: "bodytrace.lost_bodies", Unit: "{invocation}", Description: "Invocations whose response body was lost, by stage",
			Points: points(lost, keyLostAt)},
	}
	// A fresh buffer: sent once a minute, and a send must not race the next flush's encoding.
	msg := otlp.AppendMetrics(nil, m.res, instrumentation.Scope{Name: "github.com/bodytrace/bodytrace"}, m.start, time.Now(), sums)
	m.mu.Unlock()
	return m.send(ctx, msg)
}

// points lists counts in a stable order, each key's first part under first.
func points(counts map[countKey]int64, first attribute.Key) []otlp.Point {
	keys := make([]countKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].verdict+"\x00"+keys[i].trigger < keys[j].verdict+"\x00"+keys[j].trigger
	})
	ps := make([]otlp.Point, 0, len(keys))
	for _, k := range keys {
		ps = append(ps, otlp.Point{Value: counts[k],
			Attrs: []attribute.KeyValue{first.String(k.verdict), attribute.String(keyPrefix+"trigger", k.trigger)}})
	}
	return ps
}
