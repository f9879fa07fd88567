package invocation

import (
	"strings"
	"testing"

	"github.com/bodytrace/bodytrace/steps/line"
)

func n(v int64) *int64 { return &v }

func TestCompareBodies(t *testing.T) {
	id := func(b int64) Stage { return Stage{Name: "a", Bytes: b, Enc: EncodingIdentity} }
	enc := func(e string, b int64, dec *int64) Stage { return Stage{Name: "b", Bytes: b, Enc: e, Decoded: dec} }
	tests := []struct {
		name    string
		in, out Stage
		want    bodyComparison
		why     string
	}{
		{"identity kept", id(100), id(100), bodyKept, ""},
		{"identity grown", id(100), id(150), bodyKept, ""},
		{"identity cut", id(100), id(40), bodyShort, ""},
		{"compressed, decoded whole", id(1000), enc("gzip", 300, n(1000)), bodyKept, ""},
		{"compressed, decoded short", id(1000), enc("gzip", 300, n(600)), bodyShort, ""},
		{"compressed, no decoded length", id(1000), enc("br", 300, nil), bodyKept, ""},
		{"decompressed", enc("gzip", 300, nil), id(1000), bodyKept, ""},
		{"decompressed short", enc("gzip", 300, n(1000)), id(900), bodyShort, ""},
		{"same encoding, fewer bytes", enc("gzip", 300, nil), enc("gzip", 200, nil), bodyUncertain, "recompression"},
		{"same encoding, same bytes", enc("gzip", 300, nil), enc("gzip", 300, nil), bodyKept, ""},
		{"unstated, fewer bytes", Stage{Name: "a", Bytes: 1000}, enc("", 300, nil), bodyUncertain, "did not say"},
		{"unstated, same bytes", Stage{Name: "a", Bytes: 1000}, id(1000), bodyKept, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _, why := compareBodies(tt.in, tt.out)
			if c != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("compareBodies = %v %q, want %v %q", c, why, tt.want, tt.why)
			}
		})
	}
}

func TestNormalEncoding(t *testing.T) {
	for in, want := range map[string]string{"": "identity", " Identity ": "identity", "GZIP": "gzip", "x-gzip": "gzip", "gzip, br": "gzip,br", "br": "br"} {
		if got := normalEncoding(in); got != want {
			t.Errorf("normalEncoding(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResponseEncoding(t *testing.T) {
	tests := []struct {
		resp Response
		want string
	}{
		{Response{HTTP: true, ContentEncoding: "BR"}, "br"},
		{Response{HTTP: true}, "identity"},
		{Response{}, "identity"}, // a direct invoke's result is its own body
		{Response{HTTP: true, HeadersUnread: true}, ""},
	}
	for _, tt := range tests {
		if got := tt.resp.encoding(); got != tt.want {
			t.Errorf("%+v: encoding %q, want %q", tt.resp, got, tt.want)
		}
	}
}

// TestJudgeShortEdges covers the short-body rules the recorded shapes do not: streams
// whose count may or may not hold the prelude, late writes, and what is never judged.
func TestJudgeShortEdges(t *testing.T) {
	get := &Request{Trigger: TriggerFunctionURL, Method: "GET"}
	streamEnd := func(b int64) line.Step {
		return line.Step{V: 1, RequestID: "r", Seq: 5, Stage: "stream", Phase: "end", Kind: "stream", Bytes: b}
	}
	out := func(seq int, stage string, b int64, status int) line.Step {
		return line.Step{V: 1, RequestID: "r", Seq: seq, Stage: stage, Phase: "out", Kind: "http", Bytes: b, Status: status, Enc: "identity"}
	}
	buffered := func(status int, b int64) *Response {
		return &Response{Mode: ModeBuffered, HTTP: true, StatusCode: status, BodyBytes: b, WireBytes: b + 50, Upstream: 202}
	}
	tests := []struct {
		name    string
		steps   []line.Step
		resp    *Response
		verdict string
		reason  string
	}{
		{
			name:  "stream count between body and wire: cannot tell whether it holds the prelude",
			steps: []line.Step{streamEnd(1100)}, resp: &Response{Mode: ModeStreaming, HTTP: true, StatusCode: 200, BodyBytes: 1000, WireBytes: 1200},
			verdict: VerdictUnknown, reason: "short?",
		},
		{
			name:  "stream count above the wire bytes",
			steps: []line.Step{streamEnd(1300)}, resp: &Response{Mode: ModeStreaming, HTTP: true, StatusCode: 200, BodyBytes: 1000, WireBytes: 1200},
			verdict: "lost:streaming", reason: "short: 1000 of 1300 bytes",
		},
		{
			name: "late write after a non-empty snapshot",
			steps: []line.Step{out(0, "handler", 400, 200),
				{V: 1, RequestID: "r", Seq: 1, Stage: "late-write", Phase: "write", Bytes: 100, After: 3, Who: "sentry"},
				{V: 1, RequestID: "r", Seq: 2, Stage: "late-write", Phase: "write", Bytes: 250, After: 4, Who: "sentry"}},
			resp: buffered(200, 400), verdict: "lost:late-write:sentry", reason: "short: 400 of 650 bytes",
		},
		{
			name: "res.end after the handler settled, nothing written late",
			steps: []line.Step{out(0, "handler", 400, 200),
				{V: 1, RequestID: "r", Seq: 1, Stage: "write", Phase: "end", Bytes: 400, After: 2}},
			resp: buffered(200, 400), verdict: VerdictDelivered,
		},
		{
			name:  "an error page rewritten smaller with the same status",
			steps: []line.Step{out(0, "handler", 4000, 500), out(1, "middleware:errors", 21, 500)},
			resp:  buffered(500, 21), verdict: VerdictDelivered,
		},
		{
			name:  "a new status with a smaller body",
			steps: []line.Step{out(0, "handler", 4000, 200), out(1, "middleware:auth", 12, 401)},
			resp:  buffered(401, 12), verdict: VerdictDelivered,
		},
		{
			name:  "a 304 from a middleware without a conditional request is still lost",
			steps: []line.Step{out(0, "handler", 4000, 200), out(1, "middleware:etag", 0, 304)},
			resp:  buffered(304, 0), verdict: "lost:handler", reason: "If-None-Match",
		},
		{
			name:  "a short middleware before an empty response",
			steps: []line.Step{out(0, "handler", 4000, 200), out(1, "middleware:a", 1000, 200), out(2, "middleware:b", 0, 200)},
			resp:  buffered(200, 0), verdict: "lost:middleware:b",
		},
		{
			name:    "steps alone (no Runtime API) show a short middleware",
			steps:   []line.Step{out(0, "handler", 4000, 200), out(1, "middleware:a", 1000, 200)},
			verdict: "lost:middleware:a", reason: "short: 1000 of 4000 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{RequestID: "r", Observed: Observed{RuntimeAPI: tt.resp != nil}, Request: get, Response: tt.resp, Steps: tt.steps}
			v := r.Judge()
			if v.Verdict != tt.verdict || !strings.Contains(v.Reason, tt.reason) {
				t.Fatalf("verdict %q (%s), want %q with %q", v.Verdict, v.Reason, tt.verdict, tt.reason)
			}
		})
	}
}

func TestPackageOnStack(t *testing.T) {
	tests := []struct{ text, pkg, name string }{
		{"at x (/var/task/node_modules/@sentry/aws-serverless/build/cjs/sdk.js:10:5)", "@sentry/aws-serverless", "sentry"},
		{"at a (file:///var/task/node_modules/aws-lambda-ric/index.mjs:1:1)\n    at b (/var/task/node_modules/middy/index.js:2:2)", "middy", "middy"},
		{"at c (/var/task/node_modules/@middy/core/index.js:1:1)", "@middy/core", "middy"},
		{"at d (/var/task/node_modules/serverless-http/lib/x.js:1:1)", "serverless-http", "serverless-http"},
		{"at e (/var/task/node_modules/dd-trace/x.js:1:1)", "dd-trace", "datadog"},
		{"at f (/var/task/index.mjs:1:1)", "", ""},
		{"at g (/opt/ric/node_modules/aws-lambda-ric/index.mjs:1:1)", "", ""},
	}
	for _, tt := range tests {
		pkg := packageOnStack(tt.text)
		if pkg != tt.pkg || pkg != "" && culpritName(pkg) != tt.name {
			t.Errorf("packageOnStack(%q) = %q (%q), want %q (%q)", tt.text, pkg, culpritName(pkg), tt.pkg, tt.name)
		}
	}
}
