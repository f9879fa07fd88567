package invocation

import (
	"strings"
	"testing"

	"github.com/bodytrace/bodytrace/steps/line"
)

// TestJudgeSteps covers verdicts that need the function's step lines: where along the
// response path a body that existed became empty.
func TestJudgeSteps(t *testing.T) {
	seen := Observed{RuntimeAPI: true}
	get := &Request{Trigger: TriggerFunctionURL, Method: "GET"}
	buffered := func(body int64) *Response {
		return &Response{Mode: ModeBuffered, HTTP: true, StatusCode: 200, BodyBytes: body, WireBytes: body + 60, Upstream: 202}
	}
	stream := func(body int64) *Response {
		return &Response{Mode: ModeStreaming, HTTP: true, StatusCode: 200, BodyBytes: body, WireBytes: body + 40, Upstream: 202}
	}
	step := func(seq int, stage string, bytes int64) line.Step {
		return line.Step{V: 1, RequestID: "r", Seq: seq, Stage: stage, Phase: "out", Bytes: bytes, Kind: "http", Status: 200}
	}
	tests := []struct {
		name    string
		steps   []line.Step
		resp    *Response
		verdict string
		reason  string
		stages  []string // Stages() names, in order
	}{
		{
			name:    "handler returned undefined",
			steps:   []line.Step{{V: 1, RequestID: "r", Stage: "handler", Phase: "out", Kind: "undefined"}},
			resp:    &Response{Mode: ModeBuffered, HTTP: true, StatusCode: 200, BodyBytes: 0, WireBytes: 4},
			verdict: "lost:handler", reason: "undefined", stages: []string{"handler", "response"},
		},
		{
			name:    "middleware dropped the body",
			steps:   []line.Step{step(1, "middleware:sentry", 0), step(0, "handler", 2048)}, // arrival order differs from seq
			resp:    buffered(0),
			verdict: "lost:middleware:sentry", reason: "2048-byte", stages: []string{"handler", "middleware:sentry", "response"},
		},
		{
			name:    "second middleware dropped it",
			steps:   []line.Step{step(0, "handler", 10), step(1, "middleware:auth", 10), step(2, "middleware:cache", 0)},
			resp:    buffered(0),
			verdict: "lost:middleware:cache",
		},
		{
			name: "late write after the adapter's snapshot",
			steps: []line.Step{step(0, "handler", 0), step(1, "adapter", 0),
				{V: 1, RequestID: "r", Seq: 2, Stage: "late-write", Phase: "write", Bytes: 1200, After: 21, Who: "sentry"}},
			resp:    buffered(0),
			verdict: "lost:late-write:sentry", reason: "1200 bytes", stages: []string{"handler", "adapter", "late-write", "response"},
		},
		{
			name:    "late write with no culprit",
			steps:   []line.Step{{V: 1, RequestID: "r", Stage: "write", Phase: "end", Bytes: 300, After: 5}},
			resp:    buffered(0),
			verdict: "lost:late-write",
		},
		{
			name:    "a write before the handler settled is no late write",
			steps:   []line.Step{{V: 1, RequestID: "r", Stage: "write", Phase: "end", Bytes: 300, After: -2}, step(1, "handler", 300)},
			resp:    buffered(300),
			verdict: "delivered",
		},
		{
			name:    "stream shorter than what the function wrote",
			steps:   []line.Step{{V: 1, RequestID: "r", Stage: "stream", Phase: "end", Bytes: 5000, Chunks: 5}},
			resp:    stream(3000),
			verdict: "lost:streaming", reason: "5000",
		},
		{
			name:    "full stream",
			steps:   []line.Step{{V: 1, RequestID: "r", Stage: "stream", Phase: "end", Bytes: 5000, Chunks: 5}},
			resp:    stream(5000),
			verdict: "delivered",
		},
		{
			name:    "bytes vanished after the outermost reported stage",
			steps:   []line.Step{step(0, "handler", 700)},
			resp:    buffered(0),
			verdict: "unknown", reason: "handler held 700 bytes",
		},
		{
			name:    "Runtime API not observed, steps still say the handler lost it",
			steps:   []line.Step{step(0, "handler", 50), step(1, "middleware:dropper", 0)},
			verdict: "lost:middleware:dropper",
		},
		{
			name:    "handler 204 is not a loss",
			steps:   []line.Step{{V: 1, RequestID: "r", Stage: "handler", Phase: "out", Kind: "http", Status: 204}},
			resp:    &Response{Mode: ModeBuffered, HTTP: true, StatusCode: 204, BodyBytes: 0},
			verdict: "empty-by-design",
		},
		{
			name:    "isBase64Encoded on a body that is not base64",
			resp:    &Response{Mode: ModeBuffered, HTTP: true, StatusCode: 200, BodyBytes: 5, IsBase64Encoded: true, BadBase64: true},
			verdict: "lost:handler", reason: "not base64",
		},
		{
			name:    "a stream the handler never wrote to",
			steps:   []line.Step{{V: 1, RequestID: "r", Stage: "handler", Phase: "out", Kind: "stream", Status: 200}, {V: 1, RequestID: "r", Stage: "stream", Phase: "end"}},
			resp:    &Response{Mode: ModeStreaming, BodyBytes: 0},
			verdict: "lost:streaming",
		},
		{
			name: "a wrapper dropped the streaming marker and the function failed",
			steps: []line.Step{{V: 1, RequestID: "r", Stage: "stream", Phase: "error", Who: "sentry", Note: "called as a buffered handler: a wrapper dropped the streaming marker"},
				{V: 1, RequestID: "r", Seq: 1, Stage: "handler", Phase: "error"}},
			resp:    &Response{Mode: ModeError, ErrorType: "TypeError"},
			verdict: "lost:middleware:sentry", reason: "streaming marker",
		},
		{
			name:    "healthy chain",
			steps:   []line.Step{step(0, "handler", 2048), step(1, "middleware:sentry", 2048)},
			resp:    buffered(2048),
			verdict: "delivered", stages: []string{"handler", "middleware:sentry", "response"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{RequestID: "r", Observed: seen, Request: get, Response: tt.resp, Steps: tt.steps}
			if tt.resp == nil {
				r.Observed.RuntimeAPI = false
			}
			v := r.Judge()
			if v.Verdict != tt.verdict {
				t.Fatalf("verdict %q (%s), want %q", v.Verdict, v.Reason, tt.verdict)
			}
			if strings.HasPrefix(tt.verdict, LostPrefix) != v.Lost() || v.Lost() && LostPrefix+v.LostAt != v.Verdict {
				t.Errorf("LostAt %q inconsistent with verdict %q", v.LostAt, v.Verdict)
			}
			if !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("reason %q does not mention %q", v.Reason, tt.reason)
			}
			if tt.stages != nil {
				var names []string
				for _, s := range r.Stages() {
					names = append(names, s.Name)
				}
				if strings.Join(names, ",") != strings.Join(tt.stages, ",") {
					t.Errorf("stages %v, want %v", names, tt.stages)
				}
			}
		})
	}
}
