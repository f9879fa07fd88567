package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/bodytrace/bodytrace/internal/invocation"
)

// otlpMetrics counts invocations by verdict and trigger as OpenTelemetry metrics, sent over
// OTLP with the traces' endpoint settings: the counterpart of the EMF lines for users with
// a backend. Sent at most once a minute (with a flush) and at SHUTDOWN.
type otlpMetrics struct {
	provider    *sdkmetric.MeterProvider
	invocations metric.Int64Counter
	lost        metric.Int64Counter
}

func newOTLPMetrics(ctx context.Context, cfg Config, res *resource.Resource) (*otlpMetrics, error) {
	exp := cfg.MetricExporter
	if exp == nil {
		var err error
		switch cfg.Protocol {
		case "grpc":
			exp, err = otlpmetricgrpc.New(ctx)
		default:
			exp, err = otlpmetrichttp.New(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("create OTLP %s metric exporter: %w", cfg.Protocol, err)
		}
	}
	// The reader's own timer is effectively off: the exporter decides when to send, so no
	// goroutine exports while the environment is frozen or an invocation runs.
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(24*time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	meter := mp.Meter("github.com/bodytrace/bodytrace")
	inv, err1 := meter.Int64Counter("bodytrace.invocations", metric.WithUnit("{invocation}"),
		metric.WithDescription("Invocations by verdict and trigger, sampled or not"))
	lost, err2 := meter.Int64Counter("bodytrace.lost_bodies", metric.WithUnit("{invocation}"),
		metric.WithDescription("Invocations whose response body was lost, by stage"))
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("create counters: %w", err)
	}
	return &otlpMetrics{provider: mp, invocations: inv, lost: lost}, nil
}

func (m *otlpMetrics) count(trigger string, v invocation.Verdict) {
	ctx := context.Background()
	attrs := metric.WithAttributes(keyVerdict.String(v.Verdict), attribute.String(keyPrefix+"trigger", trigger))
	m.invocations.Add(ctx, 1, attrs)
	if v.Lost() {
		m.lost.Add(ctx, 1, metric.WithAttributes(keyLostAt.String(v.LostAt), attribute.String(keyPrefix+"trigger", trigger)))
	}
}
