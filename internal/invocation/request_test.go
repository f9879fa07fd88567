package invocation

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseEventExamples(t *testing.T) {
	tests := []struct {
		file    string
		trigger Trigger
		method  string
		path    string
	}{
		{"function-url.json", TriggerFunctionURL, "GET", "/bytes"},
		{"apigw-v2.json", TriggerAPIGatewayV2, "GET", "/bytes"},
		{"apigw-v1.json", TriggerAPIGatewayV1, "GET", "/bytes"},
		{"alb.json", TriggerALB, "GET", "/bytes"},
		{"direct.json", TriggerDirect, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "examples", "events", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := ParseEvent(data)
			if got.Trigger != tt.trigger || got.Method != tt.method || got.Path != tt.path {
				t.Errorf("ParseEvent = trigger %q method %q path %q, want %q %q %q", got.Trigger, got.Method, got.Path, tt.trigger, tt.method, tt.path)
			}
			if got.EventBytes != int64(len(data)) {
				t.Errorf("EventBytes = %d, want %d", got.EventBytes, len(data))
			}
			if got.IfNoneMatch || got.IfModifiedSince || got.TraceParent != "" {
				t.Errorf("example has no conditional or traceparent headers, got %+v", got)
			}
			if got.Trigger.HTTP() != (tt.trigger != TriggerDirect) {
				t.Errorf("Trigger.HTTP() = %v for %q", got.Trigger.HTTP(), got.Trigger)
			}
		})
	}
}

func TestParseEventHeaders(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name        string
		event       string
		trigger     Trigger
		noneMatch   bool
		modSince    bool
		traceParent string
	}{
		{
			name:        "v2 lower-case headers",
			event:       `{"version":"2.0","rawPath":"/a","headers":{"if-none-match":"\"abc\"","traceparent":"` + tp + `"},"requestContext":{"domainName":"x.execute-api.us-east-1.amazonaws.com","http":{"method":"GET"}}}`,
			trigger:     TriggerAPIGatewayV2,
			noneMatch:   true,
			traceParent: tp,
		},
		{
			name:     "function URL mixed-case If-Modified-Since",
			event:    `{"version":"2.0","rawPath":"/a","headers":{"If-Modified-Since":"Wed, 21 Oct 2015 07:28:00 GMT"},"requestContext":{"domainName":"abc.lambda-url.us-east-1.on.aws","http":{"method":"GET"}}}`,
			trigger:  TriggerFunctionURL,
			modSince: true,
		},
		{
			name:        "v1 multiValueHeaders only",
			event:       `{"resource":"/{proxy+}","path":"/a","httpMethod":"GET","multiValueHeaders":{"If-None-Match":["\"x\""],"Traceparent":["` + tp + `"]},"requestContext":{"stage":"prod"}}`,
			trigger:     TriggerAPIGatewayV1,
			noneMatch:   true,
			traceParent: tp,
		},
		{
			name:      "ALB both conditionals",
			event:     `{"httpMethod":"HEAD","path":"/a","headers":{"if-none-match":"*","if-modified-since":"x"},"requestContext":{"elb":{"targetGroupArn":"arn:tg"}}}`,
			trigger:   TriggerALB,
			noneMatch: true, modSince: true,
		},
		{
			name:    "direct invoke with headers-looking fields is still direct",
			event:   `{"headers":{"if-none-match":"x"}}`,
			trigger: TriggerDirect,
		},
		{name: "not JSON", event: `hello`, trigger: TriggerDirect},
		{name: "JSON array", event: `[1,2]`, trigger: TriggerDirect},
		{name: "empty", event: ``, trigger: TriggerDirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseEvent([]byte(tt.event))
			if got.Trigger != tt.trigger || got.IfNoneMatch != tt.noneMatch || got.IfModifiedSince != tt.modSince || got.TraceParent != tt.traceParent {
				t.Errorf("ParseEvent = %+v, want trigger %q ifNoneMatch %v ifModifiedSince %v traceparent %q", got, tt.trigger, tt.noneMatch, tt.modSince, tt.traceParent)
			}
		})
	}
}

func TestParseEventEdgeHeaders(t *testing.T) {
	ev := []byte(`{"version":"2.0","rawPath":"/api","requestContext":{"domainName":"x.lambda-url.us-east-1.on.aws","http":{"method":"GET"}},
		"headers":{"X-Amz-Cf-Id":"abcEdgeId==","via":"2.0 7a5d.cloudfront.net (CloudFront)","cache-control":"max-age=0","if-none-match":"\"v1\""}}`)
	r := ParseEvent(ev)
	if r.EdgeRequestID != "abcEdgeId==" || r.Via != "2.0 7a5d.cloudfront.net (CloudFront)" || r.CacheControl != "max-age=0" || !r.IfNoneMatch {
		t.Fatalf("edge fields %+v", r)
	}
}
