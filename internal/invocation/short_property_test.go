package invocation

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/bodytrace/bodytrace/internal/steps"
)

// healthy builds a random invocation whose body reaches Lambda whole: stages that pass
// the body on, grow it, compress or decompress it (saying so or not), base64 it, answer
// a conditional request with 304, or write a new response with another status; a stream
// whose prelude the function writes itself or through HttpResponseStream.from. It
// returns the record and whether every stage stated its encoding.
func healthy(rng *rand.Rand) (Record, bool, string) {
	var trace strings.Builder
	req := &Request{Trigger: TriggerFunctionURL, Method: http.MethodGet}
	switch rng.IntN(5) {
	case 0:
		req.IfNoneMatch = true
	case 1:
		req.Method = http.MethodHead
	case 2:
		req = &Request{Trigger: TriggerDirect}
	}
	rec := Record{RequestID: "r", Observed: Observed{RuntimeAPI: true}, Request: req}
	stated := true
	if rng.IntN(3) == 0 {
		return healthyStream(rng, rec, &trace), true, trace.String()
	}

	kind := "http"
	if req.Trigger == TriggerDirect {
		kind = "json"
	}
	status := 200
	if kind == "json" {
		status = 0
	}
	bytes := int64(1 + rng.IntN(20000))
	enc := EncodingIdentity // the body's real encoding
	decoded := bytes        // its real decoded length
	seq := 0
	add := func(stage string, bytes int64, status int) {
		s := steps.Step{V: 1, RequestID: "r", Seq: seq, Stage: stage, Phase: "out", Kind: kind, Bytes: bytes, Status: status}
		switch {
		case kind == "json":
		case rng.IntN(4) == 0:
			stated = false // a line from a helper that predates enc
		default:
			s.Enc = enc
			if enc != EncodingIdentity && rng.IntN(2) == 0 {
				d := decoded
				s.Decoded = &d
			}
		}
		fmt.Fprintf(&trace, "%s %d %s %d; ", stage, bytes, s.Enc, status)
		rec.Steps = append(rec.Steps, s)
		seq++
	}
	if rng.IntN(4) == 0 {
		add(StageAdapter, bytes, status)
	}
	add(StageHandler, bytes, status)
	for i := range rng.IntN(5) {
		name := fmt.Sprintf("middleware:m%d", i)
		switch op := rng.IntN(7); {
		case op == 0 && kind == "http" && enc == EncodingIdentity && status != 304: // compress
			enc = []string{"gzip", "br", "deflate"}[rng.IntN(3)]
			bytes = 20 + rng.Int64N(bytes)
		case op == 1 && kind == "http" && enc != EncodingIdentity: // decompress
			enc, bytes = EncodingIdentity, decoded
		case op == 2 && enc == EncodingIdentity && status != 304: // grow
			bytes += 1 + rng.Int64N(500)
			decoded = bytes
		case op == 3 && kind == "http": // a new response: another status, or an error page rewritten
			next := []int{201, 400, 404, 500, 502}[rng.IntN(5)]
			if next == status && status < 300 {
				next = 202
			}
			status = next
			enc, bytes = EncodingIdentity, int64(1+rng.IntN(3000))
			decoded = bytes
		case op == 4 && kind == "http" && req.IfNoneMatch: // an etag middleware
			status, enc, bytes, decoded = 304, EncodingIdentity, 0, 0
		}
		add(name, bytes, status)
	}
	resp := &Response{Mode: ModeBuffered, Upstream: 202, BodyBytes: bytes, WireBytes: bytes + 80}
	if kind == "http" {
		resp.HTTP, resp.StatusCode = true, status
		if enc != EncodingIdentity {
			resp.ContentEncoding = strings.ToUpper(enc[:1]) + enc[1:] // any spelling
		}
		resp.IsBase64Encoded = rng.IntN(2) == 0
	}
	rec.Response = resp
	fmt.Fprintf(&trace, "response %d %s %d", bytes, enc, status)
	if rng.IntN(3) == 0 {
		produced := resp.WireBytes
		rec.Platform.RuntimeDone = &RuntimeDone{Status: "success", ProducedBytes: &produced}
	}
	return rec, stated, trace.String()
}

func healthyStream(rng *rand.Rand, rec Record, trace *strings.Builder) Record {
	status := []int{200, 200, 200, 404, 204, 304}[rng.IntN(6)]
	if status == 304 && !rec.Request.IfNoneMatch {
		status = 200
	}
	body := int64(1 + rng.IntN(50000))
	if (status == 204 || status == 304) && rec.Request.Trigger.HTTP() {
		body = 0
	}
	resp := &Response{Mode: ModeStreaming, Upstream: 202, BodyBytes: body, WireBytes: body, Chunks: 1 + rng.IntN(20)}
	prelude := int64(0)
	if rec.Request.Trigger.HTTP() {
		prelude = int64(60 + rng.IntN(400))
		resp.HTTP, resp.StatusCode, resp.WireBytes = true, status, body+prelude
		if rng.IntN(3) == 0 {
			resp.ContentEncoding = "br"
		}
	}
	counted := body
	if prelude > 0 && rng.IntN(2) == 0 {
		counted += prelude // the function wrote the prelude itself, and it was counted
	}
	rec.Response = resp
	rec.Steps = []steps.Step{
		{V: 1, RequestID: "r", Seq: 0, Stage: StageHandler, Phase: "out", Kind: "stream", Bytes: rng.Int64N(counted + 1)},
		{V: 1, RequestID: "r", Seq: 1, Stage: "stream", Phase: "end", Kind: "stream", Bytes: counted, Chunks: resp.Chunks},
	}
	fmt.Fprintf(trace, "stream status %d body %d prelude %d counted %d", status, body, prelude, counted)
	return rec
}

// TestHealthyNeverLost: for random healthy stage sequences the verdict is never lost, and
// when every stage stated its encoding it is delivered or empty by design. The same
// sequences without the Runtime API's view are never lost either.
func TestHealthyNeverLost(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2026))
	counts := map[string]int{}
	for i := range 20000 {
		rec, stated, trace := healthy(rng)
		v := rec.Judge()
		counts[v.Verdict]++
		if v.Lost() {
			t.Fatalf("case %d: %s\nverdict %s: %s", i, trace, v.Verdict, v.Reason)
		}
		if stated && v.Verdict != VerdictDelivered && v.Verdict != VerdictEmptyByDesign {
			t.Fatalf("case %d: every stage stated its encoding: %s\nverdict %s: %s", i, trace, v.Verdict, v.Reason)
		}
		rec.Response, rec.Observed.RuntimeAPI = nil, false
		if v := rec.Judge(); v.Lost() {
			t.Fatalf("case %d without the Runtime API: %s\nverdict %s: %s", i, trace, v.Verdict, v.Reason)
		}
	}
	// The generator must reach every healthy outcome, or it tests less than it says.
	for _, want := range []string{VerdictDelivered, VerdictEmptyByDesign, VerdictUnknown} {
		if counts[want] == 0 {
			t.Errorf("no case judged %s: %v", want, counts)
		}
	}
	t.Logf("verdicts: %v", counts)
}

// TestShortFoundWhereItHappens: in random chains of 2xx stages that state their
// encoding, a cut at one stage is lost at that stage, with its numbers; a cut between the
// outermost stage and the runtime is unknown (nothing reported sits there).
func TestShortFoundWhereItHappens(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2026))
	for i := range 5000 {
		n := 1 + rng.IntN(5)   // stages: handler, middleware:m1, ...
		cut := 1 + rng.IntN(n) // n: the runtime's response is the short one
		full := int64(2 + rng.IntN(20000))
		short := 1 + rng.Int64N(full-1)
		status := []int{200, 201, 206}[rng.IntN(3)]
		rec := Record{RequestID: "r", Observed: Observed{RuntimeAPI: true}, Request: &Request{Trigger: TriggerAPIGatewayV2, Method: http.MethodGet}}
		bytes := full
		for k := range n {
			name := StageHandler
			if k > 0 {
				name = fmt.Sprintf("middleware:m%d", k)
			}
			if k == cut {
				bytes = short
			}
			rec.Steps = append(rec.Steps, steps.Step{V: 1, RequestID: "r", Seq: k, Stage: name, Phase: "out", Kind: "http", Bytes: bytes, Status: status, Enc: "identity"})
		}
		if cut == n {
			bytes = short
		}
		rec.Response = &Response{Mode: ModeBuffered, HTTP: true, StatusCode: status, BodyBytes: bytes, WireBytes: bytes + 70, Upstream: 202}
		v := rec.Judge()
		want := fmt.Sprintf("short: %d of %d bytes", short, full)
		if !strings.HasPrefix(v.Reason, want) {
			t.Fatalf("case %d (cut at %d of %d): reason %q, want it to start %q", i, cut, n, v.Reason, want)
		}
		switch {
		case cut == n && v.Verdict != VerdictUnknown:
			t.Fatalf("case %d: a short runtime response: %s, want unknown", i, v.Verdict)
		case cut < n && v.LostAt != rec.Steps[cut].Stage:
			t.Fatalf("case %d: lost at %q, want %q", i, v.LostAt, rec.Steps[cut].Stage)
		}
	}
}
