package export

import (
	"context"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/otlp"
)

// otlpMetrics counts invocations by verdict and trigger as OpenTelemetry metrics, sent over
// OTLP with the traces' endpoint settings: the counterpart of the EMF lines for users with
// a backend. Cumulative sums, sent at most once a minute (with a flush) and at SHUTDOWN;
// nothing is sent by a timer of its own, so nothing runs while the environment is frozen.
type otlpMetrics struct {
	send   func(ctx context.Context, msg []byte) error
	client *otlp.Client // nil when SendMetrics replaces it
	res    *resource.Resource
	start  time.Time

	mu          sync.Mutex
	invocations map[[2]string]int64 // verdict, trigger
	lost        map[[2]string]int64 // stage, trigger
}

func newOTLPMetrics(cfg Config, res *resource.Resource) *otlpMetrics {
	m := &otlpMetrics{send: cfg.SendMetrics, res: res, start: time.Now(),
		invocations: map[[2]string]int64{}, lost: map[[2]string]int64{}}
	if m.send == nil {
		m.client = otlp.NewClient(*cfg.OTLPMetrics, retryBudget(cfg.FlushTimeout))
		m.send = func(ctx context.Context, msg []byte) error {
			_, err := m.client.Send(ctx, msg)
			return err
		}
	}
	return m
}

func (m *otlpMetrics) count(trigger string, v invocation.Verdict) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.invocations[[2]string{v.Verdict, trigger}]++
	if v.Lost() {
		m.lost[[2]string{v.LostAt, trigger}]++
	}
}

// flush sends the counts so far.
func (m *otlpMetrics) flush(ctx context.Context) error {
	m.mu.Lock()
	sums := []otlp.Sum{
		{Name: "bodytrace.invocations", Unit: "{invocation}", Description: "Invocations by verdict and trigger, sampled or not",
			Points: points(m.invocations, keyVerdict)},
		{Name: "bodytrace.lost_bodies", Unit: "{invocation}", Description: "Invocations whose response body was lost, by stage",
			Points: points(m.lost, keyLostAt)},
	}
	// A fresh buffer: sent once a minute, and a send must not race the next flush's encoding.
	msg := otlp.AppendMetrics(nil, m.res, instrumentation.Scope{Name: "github.com/bodytrace/bodytrace"}, m.start, time.Now(), sums)
	m.mu.Unlock()
	return m.send(ctx, msg)
}

// points lists counts in a stable order, the first part of each key under first.
func points(counts map[[2]string]int64, first attribute.Key) []otlp.Point {
	keys := make([][2]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	ps := make([]otlp.Point, 0, len(keys))
	for _, k := range keys {
		ps = append(ps, otlp.Point{Value: counts[k],
			Attrs: []attribute.KeyValue{first.String(k[0]), attribute.String(keyPrefix+"trigger", k[1])}})
	}
	return ps
}
