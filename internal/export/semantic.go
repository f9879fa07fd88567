package export

import (
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/bodytrace/bodytrace/internal/invocation"
)

// rootName names the invocation's span as the FaaS conventions do: after the function
// (faas.name), or, for an HTTP trigger whose route template is known, as an HTTP server
// span: "{method} {route}". A path is never a name: it is not low-cardinality.
func rootName(r *invocation.Record, fn Function) string {
	if q := r.Request; q != nil && q.Method != "" && q.Route != "" {
		return q.Method + " " + q.Route
	}
	if fn.Name != "" {
		return fn.Name
	}
	return spanInvoke
}

// arnAttrs are cloud.account.id and cloud.resource_id from the invoked function's ARN.
// The resource id is the function's ARN qualified by the version that ran, not by the
// alias it was invoked through, as the cloud conventions ask.
func arnAttrs(r *invocation.Record, fn Function) []attribute.KeyValue {
	arn := ""
	if r.Invoke != nil {
		arn = r.Invoke.InvokedFunctionARN
	}
	if arn == "" && r.Request != nil {
		arn = r.Request.FunctionARN
	}
	// arn:partition:lambda:region:account:function:name[:qualifier]
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" {
		return nil
	}
	id := strings.Join(parts[:7], ":")
	if fn.Version != "" && fn.Version != "$LATEST" {
		id += ":" + fn.Version
	}
	return []attribute.KeyValue{semconv.CloudAccountID(parts[4]), semconv.CloudResourceID(id)}
}

// Propagators are the trace context formats bodytrace reads from an invocation, from
// OTEL_PROPAGATORS (config.Config.Propagators). Nil reads both it knows: W3C trace context
// (the event's traceparent header) and X-Ray (Lambda's trace header).
type Propagators []string

func (p Propagators) traceContext() bool { return p == nil || slices.Contains(p, "tracecontext") }

func (p Propagators) xray() bool {
	return p == nil || slices.Contains(p, "xray") || slices.Contains(p, "xray-lambda")
}
