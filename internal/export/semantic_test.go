package export

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/version"
)

// exportOne exports r through a fresh exporter for fn and returns its spans.
func exportOne(t *testing.T, fn Function, p Propagators, r invocation.Record) tracetest.SpanStubs {
	t.Helper()
	mem := tracetest.NewInMemoryExporter()
	e := New(Config{SpanExporter: mem, Function: fn, Propagators: p})
	e.Export(r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return mem.GetSpans()
}

// rootOf is the span that carries the verdict.
func rootOf(t *testing.T, spans tracetest.SpanStubs) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if _, ok := attr(s, string(keyVerdict)); ok {
			return s
		}
	}
	t.Fatalf("no root span among %v", names(spans))
	return tracetest.SpanStub{}
}

func TestRootSpanNamedAsFaaSConventions(t *testing.T) {
	fn := Function{Name: "shop-web", Version: "7"}
	for _, tc := range []struct {
		name string
		req  *invocation.Request
		want string
	}{
		{"HTTP API route", &invocation.Request{Trigger: invocation.TriggerAPIGatewayV2, Method: "GET", Path: "/items/7", Route: "/items/{id}"}, "GET /items/{id}"},
		{"REST API proxy resource", &invocation.Request{Trigger: invocation.TriggerAPIGatewayV1, Method: "POST", Path: "/a/b", Route: "/{proxy+}"}, "POST /{proxy+}"},
		// A path is not a route: its cardinality is unbounded.
		{"function URL", &invocation.Request{Trigger: invocation.TriggerFunctionURL, Method: "GET", Path: "/items/7"}, "shop-web"},
		{"direct invoke", &invocation.Request{Trigger: invocation.TriggerDirect}, "shop-web"},
	} {
		r := record("req-"+tc.name, 10, "")
		r.Request = tc.req
		root := rootOf(t, exportOne(t, fn, nil, r))
		if root.Name != tc.want {
			t.Errorf("%s: root span %q, want %q", tc.name, root.Name, tc.want)
		}
		if v, ok := attr(root, "http.route"); tc.req.Route != "" && (!ok || v.AsString() != tc.req.Route) {
			t.Errorf("%s: http.route = %v, want %q", tc.name, v.AsInterface(), tc.req.Route)
		} else if tc.req.Route == "" && ok {
			t.Errorf("%s: http.route %q without a route", tc.name, v.AsString())
		}
	}
}

func TestCloudAttributesFromTheFunctionARN(t *testing.T) {
	for _, tc := range []struct {
		name, arn, version, want string
	}{
		{"alias replaced by the version", "arn:aws:lambda:eu-west-1:123456789012:function:shop-web:live", "7", "arn:aws:lambda:eu-west-1:123456789012:function:shop-web:7"},
		{"$LATEST is unqualified", "arn:aws:lambda:eu-west-1:123456789012:function:shop-web", "$LATEST", "arn:aws:lambda:eu-west-1:123456789012:function:shop-web"},
		{"China partition", "arn:aws-cn:lambda:cn-north-1:123456789012:function:f", "", "arn:aws-cn:lambda:cn-north-1:123456789012:function:f"},
	} {
		r := record("req-arn", 10, "")
		r.Invoke = &invocation.Invoke{InvokedFunctionARN: tc.arn}
		root := rootOf(t, exportOne(t, Function{Name: "shop-web", Version: tc.version}, nil, r))
		wantAttr(t, root, "cloud.resource_id", tc.want)
		wantAttr(t, root, "cloud.account.id", "123456789012")
	}
	// Without an ARN (the emulator's is made up but well formed; nothing at all here):
	// no attribute rather than a wrong one.
	root := rootOf(t, exportOne(t, Function{Name: "f"}, nil, record("req-none", 10, "")))
	if _, ok := attr(root, "cloud.resource_id"); ok {
		t.Error("cloud.resource_id without an ARN")
	}
}

func TestResourceServiceNameAndVersion(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
	res := func(fn Function) map[string]string {
		m := map[string]string{}
		for _, kv := range newResource(fn).Attributes() {
			m[string(kv.Key)] = kv.Value.String()
		}
		return m
	}
	if got := res(Function{Name: "shop-web"})["service.name"]; got != "shop-web" {
		t.Errorf("service.name = %q without OTEL_SERVICE_NAME, want the function's name", got)
	}
	m := res(Function{Name: "shop-web", ServiceName: "shop"})
	if m["service.name"] != "shop" || m["telemetry.distro.name"] != "bodytrace" || m["telemetry.distro.version"] != version.String() || m["telemetry.sdk.language"] != "go" {
		t.Errorf("resource %v", m)
	}
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,deployment.environment.name=prod")
	if m := res(Function{Name: "shop-web"}); m["service.name"] != "from-attrs" || m["deployment.environment.name"] != "prod" {
		t.Errorf("OTEL_RESOURCE_ATTRIBUTES does not win: %v", m)
	}
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	if got := res(Function{Name: "shop-web"})["service.name"]; got != "from-env" {
		t.Errorf("OTEL_SERVICE_NAME does not win: %q", got)
	}
	// The scope names bodytrace and its version.
	root := rootOf(t, exportOne(t, Function{Name: "f"}, nil, record("req-scope", 10, "")))
	if root.InstrumentationScope.Name != version.Module || root.InstrumentationScope.Version != version.String() {
		t.Errorf("scope %+v", root.InstrumentationScope)
	}
}

func TestPropagators(t *testing.T) {
	const (
		w3c  = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	)
	r := record("req-prop", 10, w3c)
	r.Invoke = &invocation.Invoke{XRayTraceID: xray}
	for _, tc := range []struct {
		name string
		p    Propagators
		want string // the root's trace id; "" a new trace
	}{
		{"default: traceparent first", nil, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"tracecontext", Propagators{"tracecontext"}, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"xray only", Propagators{"xray"}, "5759e988bd862e3fe1be46a994272793"},
		{"xray-lambda", Propagators{"xray-lambda", "baggage"}, "5759e988bd862e3fe1be46a994272793"},
		{"none", Propagators{}, ""},
	} {
		root := rootOf(t, exportOne(t, Function{Name: "f"}, tc.p, r))
		got := root.SpanContext.TraceID().String()
		switch {
		case tc.want != "" && got != tc.want:
			t.Errorf("%s: trace %s, want %s", tc.name, got, tc.want)
		case tc.want == "" && (root.Parent.IsValid() || got == "4bf92f3577b34da6a3ce929d0e0e4736" || got == "5759e988bd862e3fe1be46a994272793"):
			t.Errorf("%s: the root continued a caller's trace (%s)", tc.name, got)
		}
	}
}
