package invocation

import (
	"strings"
	"testing"
)

func TestJudge(t *testing.T) {
	seen := Observed{RuntimeAPI: true, Telemetry: true}
	get := &Request{Trigger: TriggerFunctionURL, Method: "GET"}
	conditional := &Request{Trigger: TriggerAPIGatewayV2, Method: "GET", IfNoneMatch: true}
	modSince := &Request{Trigger: TriggerAPIGatewayV2, Method: "GET", IfModifiedSince: true}
	head := &Request{Trigger: TriggerAPIGatewayV2, Method: "HEAD"}
	buffered := func(status int, body int64) *Response {
		return &Response{Mode: ModeBuffered, HTTP: true, StatusCode: status, BodyBytes: body, WireBytes: body + 30, Upstream: 202}
	}
	stream := func(status int, body int64) *Response {
		return &Response{Mode: ModeStreaming, HTTP: true, StatusCode: status, BodyBytes: body, WireBytes: body + 20, Upstream: 202}
	}

	tests := []struct {
		name    string
		rec     Record
		verdict string
		lostAt  string
		reason  []string // substrings the reason must contain
	}{
		{
			name: "delivered buffered", verdict: VerdictDelivered,
			rec:    Record{Observed: seen, Request: get, Response: buffered(200, 1500)},
			reason: []string{"1500-byte"},
		},
		{
			name: "delivered stream", verdict: VerdictDelivered,
			rec: Record{Observed: seen, Request: get, Response: stream(200, 10000)},
		},
		{
			name: "delivered direct empty result", verdict: VerdictDelivered,
			rec: Record{Observed: seen, Request: &Request{Trigger: TriggerDirect}, Response: &Response{Mode: ModeBuffered, BodyBytes: 0}},
		},
		{
			name: "204 is empty by design", verdict: VerdictEmptyByDesign,
			rec: Record{Observed: seen, Request: get, Response: buffered(204, 0)}, reason: []string{"204"},
		},
		{
			name: "204 stream is empty by design", verdict: VerdictEmptyByDesign,
			rec: Record{Observed: seen, Request: get, Response: stream(204, 0)},
		},
		{
			name: "304 after If-None-Match", verdict: VerdictEmptyByDesign,
			rec: Record{Observed: seen, Request: conditional, Response: buffered(304, 0)}, reason: []string{"304"},
		},
		{
			name: "304 after If-Modified-Since", verdict: VerdictEmptyByDesign,
			rec: Record{Observed: seen, Request: modSince, Response: buffered(304, 0)},
		},
		{
			name: "HEAD", verdict: VerdictEmptyByDesign,
			rec: Record{Observed: seen, Request: head, Response: buffered(200, 0)}, reason: []string{"HEAD"},
		},
		{
			name: "streamed redirect with a Location", verdict: VerdictEmptyByDesign,
			rec: Record{Observed: seen, Request: get, Response: func() *Response {
				r := stream(307, 0)
				r.Location = "https://idp.example.com/authorize?state=s3cret#frag"
				return r
			}()},
			reason: []string{"307 redirect to https://idp.example.com/authorize:"},
		},
		{
			name: "streamed redirect without a Location", verdict: "lost:streaming", lostAt: "streaming",
			rec: Record{Observed: seen, Request: get, Response: stream(302, 0)},
		},
		{
			name: "buffered redirect without a Location", verdict: "lost:handler", lostAt: "handler",
			rec: Record{Observed: seen, Request: get, Response: buffered(308, 0)}, reason: []string{"308 redirect with no Location"},
		},
		{
			name: "300 is not a redirect to one place", verdict: "lost:handler", lostAt: "handler",
			rec: Record{Observed: seen, Request: get, Response: func() *Response {
				r := buffered(300, 0)
				r.Location = "/a"
				return r
			}()},
		},
		{
			name: "empty 200 is lost in the handler", verdict: "lost:handler", lostAt: "handler",
			rec: Record{Observed: seen, Request: get, Response: buffered(200, 0)}, reason: []string{"200", "empty"},
		},
		{
			name: "304 without conditional headers is lost in the handler", verdict: "lost:handler", lostAt: "handler",
			rec: Record{Observed: seen, Request: get, Response: buffered(304, 0)}, reason: []string{"If-None-Match"},
		},
		{
			name: "empty stream", verdict: "lost:streaming", lostAt: "streaming",
			rec: Record{Observed: seen, Request: get, Response: stream(200, 0)},
		},
		{
			name: "empty stream without prelude", verdict: "lost:streaming", lostAt: "streaming",
			rec: Record{Observed: seen, Request: &Request{Trigger: TriggerDirect}, Response: &Response{Mode: ModeStreaming}},
		},
		{
			name: "stream error trailer", verdict: "lost:streaming", lostAt: "streaming",
			rec: func() Record {
				r := stream(200, 300)
				r.ErrorType = "Runtime.StreamError"
				return Record{Observed: seen, Request: get, Response: r,
					Platform: Platform{RuntimeDone: &RuntimeDone{Status: "error", ErrorType: "Runtime.StreamError"}}}
			}(),
			reason: []string{"Runtime.StreamError"},
		},
		{
			name: "cut stream", verdict: "lost:streaming", lostAt: "streaming",
			rec: func() Record {
				r := stream(200, 300)
				r.Cut = "connection reset by peer"
				return Record{Observed: seen, Request: get, Response: r}
			}(),
			reason: []string{"connection reset by peer"},
		},
		{
			name: "invocation error", verdict: "lost:platform", lostAt: "platform",
			rec:    Record{Observed: seen, Request: get, Response: &Response{Mode: ModeError, ErrorType: "Handler.Crash"}},
			reason: []string{"Handler.Crash"},
		},
		{
			name: "init error", verdict: "lost:platform", lostAt: "platform",
			rec: Record{Observed: seen, Request: get, Response: &Response{Mode: ModeInitError}},
		},
		{
			name: "413 from the Runtime API", verdict: "lost:platform", lostAt: "platform",
			rec: func() Record {
				r := buffered(200, 7<<20)
				r.Upstream = 413
				return Record{Observed: seen, Request: get, Response: r}
			}(),
			reason: []string{"6 MB"},
		},
		{
			name: "runtimeDone timeout", verdict: "lost:platform", lostAt: "platform",
			rec:    Record{Observed: seen, Request: get, Platform: Platform{RuntimeDone: &RuntimeDone{Status: "timeout"}}},
			reason: []string{"timed out"},
		},
		{
			// Any process in the sandbox can post telemetry: a timeout for a result the
			// Runtime API accepted (202) is noted, not trusted over the Runtime API.
			name: "runtimeDone timeout contradicting an accepted response", verdict: VerdictDelivered,
			rec:    Record{Observed: seen, Request: get, Response: buffered(200, 100), Platform: Platform{RuntimeDone: &RuntimeDone{Status: "timeout"}}},
			reason: []string{"telemetry says timeout", "Runtime API's evidence is trusted"},
		},
		{
			name: "runtimeDone timeout with no accepted response", verdict: "lost:platform", lostAt: "platform",
			rec: Record{Observed: seen, Request: get, Response: func() *Response { p := buffered(200, 100); p.Upstream = 0; return p }(), Platform: Platform{RuntimeDone: &RuntimeDone{Status: "timeout"}}},
		},
		{
			name: "result refused by the Runtime API", verdict: VerdictUnknown,
			rec: Record{Observed: seen, Request: get, Response: func() *Response {
				p := buffered(200, 100)
				p.Upstream = 400
				p.UpstreamErr = `{"errorType":"InvalidRequestID"}`
				return p
			}()},
			reason: []string{"refused", "400", "InvalidRequestID", "not delivered"},
		},
		{
			name: "runtime died after a complete stream", verdict: "lost:platform", lostAt: "platform",
			rec:    Record{Observed: seen, Request: get, Response: func() *Response { p := stream(200, 4096); p.RuntimeGone = true; return p }()},
			reason: []string{"process ended", "4096-byte stream"},
		},
		{
			name: "init failure", verdict: "lost:platform", lostAt: "platform",
			rec:    Record{Observed: seen, Response: &Response{Mode: ModeInitError, ErrorType: "Runtime.ExitError", Upstream: 202}},
			reason: []string{"init failed", "Runtime.ExitError"},
		},
		{
			name: "report timeout without runtimeDone (Managed Instances)", verdict: "lost:platform", lostAt: "platform",
			rec: Record{Observed: seen, Request: get, Platform: Platform{Report: &Report{Status: "timeout"}}},
		},
		{
			name: "runtimeDone failure with buffered response", verdict: "lost:platform", lostAt: "platform",
			rec:    Record{Observed: seen, Request: get, Response: buffered(200, 10), Platform: Platform{RuntimeDone: &RuntimeDone{Status: "failure", ErrorType: "Runtime.ExitError"}}},
			reason: []string{"failure", "Runtime.ExitError"},
		},
		{
			name: "Runtime API not observed", verdict: VerdictUnknown,
			rec:    Record{Observed: Observed{Telemetry: true}, Platform: Platform{RuntimeDone: &RuntimeDone{Status: "success"}}},
			reason: []string{"AWS_LAMBDA_EXEC_WRAPPER", "github.com/bodytrace/bodytrace/steps"},
		},
		{
			name: "Runtime API observed but no response", verdict: VerdictUnknown,
			rec:    Record{Observed: seen, Request: get},
			reason: []string{"no response"},
		},
		{
			name: "capture too small", verdict: VerdictUnknown,
			rec:    Record{Observed: seen, Request: get, Response: &Response{Mode: ModeBuffered, BodyBytes: -1, WireBytes: 9 << 20}},
			reason: []string{"capture"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.rec.Judge()
			if v.Verdict != tt.verdict || v.LostAt != tt.lostAt {
				t.Fatalf("Judge() = %+v, want verdict %q lostAt %q", v, tt.verdict, tt.lostAt)
			}
			if v.Lost() != (tt.lostAt != "") {
				t.Errorf("Lost() = %v", v.Lost())
			}
			if v.Reason == "" {
				t.Errorf("empty reason")
			}
			for _, s := range tt.reason {
				if !strings.Contains(v.Reason, s) {
					t.Errorf("reason %q does not contain %q", v.Reason, s)
				}
			}
		})
	}
}
