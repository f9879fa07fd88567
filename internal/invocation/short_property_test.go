package invocation

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bodytrace/bodytrace/steps/line"
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
		s := line.Step{V: 1, RequestID: "r", Seq: seq, Stage: stage, Phase: "out", Kind: kind, Bytes: bytes, Status: status}
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
		case op == 0 && kind == "http" && enc == EncodingIdentity && bytes > 0: // compress
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
		case op == 5 && kind == "http": // a redirect, with a Location and no body
			status, enc, bytes, decoded = []int{301, 302, 303, 307, 308}[rng.IntN(5)], EncodingIdentity, 0, 0
		}
		add(name, bytes, status)
	}
	resp := &Response{Mode: ModeBuffered, Upstream: 202, BodyBytes: bytes, WireBytes: bytes + 80}
	if kind == "http" {
		resp = healthyResult(rng, status, enc, bytes, &trace)
	}
	rec.Response = resp
	fmt.Fprintf(&trace, "response %d %s %d", bytes, enc, status)
	if rng.IntN(3) == 0 {
		produced := resp.WireBytes
		rec.Platform.RuntimeDone = &RuntimeDone{Status: "success", ProducedBytes: &produced}
	}
	return rec, stated, trace.String()
}

// pool is the random bytes healthy bodies are cut from.
var pool = func() []byte {
	r := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// healthyResult writes a healthy HTTP result with an n-byte body in encoding enc, as
// the runtime posts it, and reads it back through the proxy's ResultScanner: a
// content type that fits the body (binary formats start with their signature and go as
// base64, compressed bodies start as their encoding does), a content-length that is
// right, absent, or (under compression, where the gateway sends its own) stale, a
// Location on redirects, and now and then transfer-encoding: chunked on an unframed body
// or a text body that holds U+FFFD itself.
func healthyResult(rng *rand.Rand, status int, enc string, n int64, trace *strings.Builder) *Response {
	headers := map[string]string{}
	var body []byte
	b64 := true
	random := func(k int64) []byte {
		out := make([]byte, 0, k)
		for off := rng.Int64N(int64(len(pool))); int64(len(out)) < k; off = 0 {
			out = append(out, pool[off:min(int64(len(pool)), off+k-int64(len(out)))]...)
		}
		return out
	}
	withPrefix := func(prefix string) []byte {
		b := random(n)
		copy(b, prefix)
		return b
	}
	ctype := "text/html; charset=utf-8"
	switch {
	case enc == "gzip":
		body = withPrefix("\x1f\x8b\x08")
	case enc != EncodingIdentity:
		body = random(n)
	default:
		switch rng.IntN(5) {
		case 0:
			ctype, body = "image/png", withPrefix("\x89PNG\r\n\x1a\n")
		case 1:
			ctype, body = "application/octet-stream", random(n)
		case 2:
			ctype, body = "image/jpeg", withPrefix("\xff\xd8\xff\xe0")
		default:
			text := []byte(strings.Repeat("<p>héllo wörld</p>", int(n)/19+1))
			if rng.IntN(10) == 0 {
				text = append([]byte("\uFFFD"), text...) // text may hold U+FFFD itself
			}
			text = text[:n] // then back to a character boundary: n bytes or just under
			for len(text) > 0 {
				if r, size := utf8.DecodeLastRune(text); r != utf8.RuneError || size > 1 {
					break
				}
				text = text[:len(text)-1]
			}
			body = append(text, strings.Repeat("x", int(n)-len(text))...)
			b64 = rng.IntN(3) == 0
			if rng.IntN(6) == 0 {
				headers["Transfer-Encoding"] = "chunked" // left on a body that is not framed
			}
		}
	}
	headers["content-type"] = ctype
	if enc != EncodingIdentity {
		headers["Content-Encoding"] = strings.ToUpper(enc[:1]) + enc[1:] // any spelling
	}
	switch rng.IntN(3) {
	case 0:
		headers["content-length"] = fmt.Sprint(len(body))
	case 1:
		if enc != EncodingIdentity {
			headers["content-length"] = fmt.Sprint(len(body)*3 + 7) // stale: the uncompressed size
		}
	}
	if redirectStatus(status) {
		headers["location"] = "/elsewhere"
	}
	result := map[string]any{"statusCode": status, "headers": headers}
	if len(body) > 0 || rng.IntN(2) == 0 {
		result["body"] = string(body)
		if b64 {
			result["body"], result["isBase64Encoded"] = base64.StdEncoding.EncodeToString(body), true
		}
	}
	raw, _ := json.Marshal(result)
	fmt.Fprintf(trace, "result %.200s; ", raw)
	resp := &Response{Mode: ModeBuffered, Upstream: 202, WireBytes: int64(len(raw))}
	var sc ResultScanner
	for p := raw; len(p) > 0; {
		k := min(len(p), 1+rng.IntN(4096))
		_, _ = sc.Write(p[:k])
		p = p[k:]
	}
	sc.Apply(resp, TriggerFunctionURL)
	return resp
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
	rec.Steps = []line.Step{
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
			rec.Steps = append(rec.Steps, line.Step{V: 1, RequestID: "r", Seq: k, Stage: name, Phase: "out", Kind: "http", Bytes: bytes, Status: status, Enc: "identity"})
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

// TestCorruptNeverDelivered: healthy binary results corrupted the ways adapters corrupt
// them (the bytes read as a UTF-8 string and sent without isBase64Encoded, an image
// base64-encoded twice, chunk framing passed on as body) are lost at the handler,
// whatever their size and however the proxy's writes cut them.
func TestCorruptNeverDelivered(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 2026))
	req := &Request{Trigger: TriggerFunctionURL, Method: http.MethodGet}
	for i := range 2000 {
		n := 64 + rng.IntN(20000)
		off := rng.IntN(len(pool) - n%len(pool))
		raw := append([]byte(nil), pool[off:off+min(n, len(pool)-off)]...)
		headers := map[string]string{}
		result := map[string]any{"statusCode": 200, "headers": headers}
		var how string
		switch rng.IntN(5) {
		case 0:
			copy(raw, "\x1f\x8b\x08")
			headers["content-type"], headers["content-encoding"], how = "text/html", "gzip", "gzip as text"
		case 1:
			copy(raw, "\x89PNG\r\n\x1a\n")
			headers["content-type"], headers["content-length"], how = "image/png", fmt.Sprint(len(raw)), "png as text"
		case 2:
			headers["content-type"], how = "application/octet-stream", "octet-stream as text"
			if rng.IntN(2) == 0 {
				headers["content-length"] = fmt.Sprint(len(raw))
			}
		case 3:
			copy(raw, "\xff\xd8\xff\xe0")
			once := base64.StdEncoding.EncodeToString(raw)
			headers["content-type"], headers["content-length"] = "image/jpeg", fmt.Sprint(len(once))
			result["body"], result["isBase64Encoded"], how = base64.StdEncoding.EncodeToString([]byte(once)), true, "jpeg base64 twice"
		case 4:
			text := strings.Repeat("chunk of text\n", 1+rng.IntN(50))
			var framed strings.Builder
			for len(text) > 0 {
				k := min(len(text), 1+rng.IntN(300))
				fmt.Fprintf(&framed, "%x\r\n%s\r\n", k, text[:k])
				text = text[k:]
			}
			framed.WriteString("0\r\n\r\n")
			headers["content-type"], headers["transfer-encoding"] = "text/plain", "chunked"
			result["body"], how = framed.String(), "chunk framing"
		}
		if result["body"] == nil {
			result["body"] = string([]rune(string(raw))) // each invalid byte becomes U+FFFD, as Buffer.toString does
		}
		res, _ := json.Marshal(result)
		resp := &Response{Mode: ModeBuffered, Upstream: 202, WireBytes: int64(len(res))}
		var sc ResultScanner
		for p := res; len(p) > 0; {
			k := min(len(p), 1+rng.IntN(4096))
			_, _ = sc.Write(p[:k])
			p = p[k:]
		}
		sc.Apply(resp, req.Trigger)
		rec := Record{RequestID: "r", Observed: Observed{RuntimeAPI: true}, Request: req, Response: resp}
		if v := rec.Judge(); v.Verdict != LostPrefix+StageHandler {
			t.Fatalf("case %d (%s, %d bytes): verdict %s (%s), want lost:handler", i, how, n, v.Verdict, v.Reason)
		}
	}
}
