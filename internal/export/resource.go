package export

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/bodytrace/bodytrace/internal/version"
)

// Function describes the Lambda function the extension runs beside.
type Function struct {
	Name, Version, Region string
	MemoryMB              int
	// ServiceName is service.name when OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES do
	// not set one: the function's name (config.Config.ServiceName), so that traces do not
	// arrive as unknown_service.
	ServiceName string
}

// distroName is telemetry.distro.name: the SDK is OpenTelemetry Go, packaged by bodytrace.
const distroName = "bodytrace"

// newResource describes the function as the FaaS resource conventions do. Precedence,
// lowest first: the SDK's own attributes, ours, then OTEL_RESOURCE_ATTRIBUTES and
// OTEL_SERVICE_NAME, which the user sets on purpose.
func newResource(fn Function) *resource.Resource {
	res, err := resource.New(context.Background(),
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(resourceAttrs(fn)...),
		resource.WithFromEnv())
	if err != nil && res == nil {
		// A malformed OTEL_RESOURCE_ATTRIBUTES is not worth losing traces over.
		return resource.NewSchemaless(resourceAttrs(fn)...)
	}
	return res
}

func resourceAttrs(fn Function) []attribute.KeyValue {
	service := fn.ServiceName
	if service == "" {
		service = fn.Name
	}
	if service == "" {
		service = "unknown_service:bodytrace"
	}
	attrs := []attribute.KeyValue{semconv.CloudProviderAWS, semconv.CloudPlatformAWSLambda,
		semconv.ServiceName(service),
		semconv.TelemetryDistroName(distroName), semconv.TelemetryDistroVersion(version.String())}
	if fn.Name != "" {
		attrs = append(attrs, semconv.FaaSName(fn.Name))
	}
	if fn.Version != "" {
		attrs = append(attrs, semconv.FaaSVersion(fn.Version))
	}
	if fn.Region != "" {
		attrs = append(attrs, semconv.CloudRegion(fn.Region))
	}
	if fn.MemoryMB > 0 {
		attrs = append(attrs, semconv.FaaSMaxMemory(fn.MemoryMB*1024*1024))
	}
	return attrs
}

// newTracer names bodytrace's instrumentation scope, with the running version, so a
// backend tells which layer version made a span.
func newTracer(tp *sdktrace.TracerProvider) trace.Tracer {
	return tp.Tracer(version.Module, trace.WithInstrumentationVersion(version.String()),
		trace.WithSchemaURL(semconv.SchemaURL))
}
