package layer

import "testing"

func TestWrapperNames(t *testing.T) {
	for pkg, want := range map[string]string{
		"@sentry/aws-serverless": "sentry", "@sentry/nextjs": "sentry", "@opentelemetry/instrumentation-http": "opentelemetry",
		"dd-trace": "datadog", "datadog-lambda-js": "datadog", "dd-trace-extra": "dd-trace-extra",
		"newrelic": "newrelic", "@newrelic/aws-sdk": "newrelic", "@middy/core": "middy",
		"@aws-lambda-powertools/tracer": "powertools", "@lumigo/tracer": "lumigo",
		"fixture-wrapper": "fixture-wrapper", "sentry": "sentry", "@sentryx/a": "@sentryx/a",
	} {
		if got := WrapperName(pkg); got != want {
			t.Errorf("WrapperName(%q) = %q, want %q", pkg, got, want)
		}
		if _, known := KnownWrapper(pkg); known != (pkg != want || pkg == "newrelic") {
			t.Errorf("KnownWrapper(%q) = %v", pkg, known)
		}
	}
}
