package invocation

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// scanned returns what the scanner makes of result written in chunks of n bytes.
func scanned(result []byte, n int, trigger Trigger) Response {
	var sc ResultScanner
	r := Response{WireBytes: int64(len(result))}
	for len(result) > 0 {
		k := min(n, len(result))
		_, _ = sc.Write(result[:k])
		result = result[k:]
	}
	sc.Apply(&r, trigger)
	return r
}

func parsed(result []byte, trigger Trigger) Response {
	r := Response{WireBytes: int64(len(result))}
	r.ParseBuffered(result, true, trigger)
	return r
}

// TestScannerMatchesParseBuffered: on every result, streamed in chunks of any size, the
// scanner must reach ParseBuffered's answer.
func TestScannerMatchesParseBuffered(t *testing.T) {
	results := []string{
		`{"statusCode":200,"headers":{"Content-Type":"text/plain","content-length":"5"},"body":"hello","isBase64Encoded":false}`,
		`{"body":"aGVsbG8gd29ybGQ=","isBase64Encoded":true,"statusCode":201}`,
		`{"statusCode":200,"body":"hello","isBase64Encoded":true}`,
		`{"statusCode":200,"body":"aGk\u003d","isBase64Encoded":true}`,
		`{"statusCode":200,"body":"a\/b\\c\"d\n\u00e9\u20ac\ud83d\ude00\ud800x","isBase64Encoded":false}`,
		`{"statusCode":204,"body":""}`,
		`{"statusCode":200}`,
		`{"statusCode":200,"body":null}`,
		`{"statusCode":200,"body":42}`,
		`{"statusCode":"200","body":"x"}`,
		`{"StatusCode":200,"BODY":"case","Headers":{"X":"y"}}`,
		`{"statusCode":200,"body":"first","body":"second one"}`,
		`{"statusCode":200,"cookies":["a=b"],"multiValueHeaders":{"Content-Encoding":["gzip"]},"body":"zz","other":{"nested":["}",{"a":"\""}]}}`,
		` { "statusCode" : 302 , "headers" : { } , "body" : "" } `,
		`null`, ` null `, `"just a string"`, `[1,2,3]`, `12345`, `{"notHTTP":true}`, `{}`, ``, `{"statusCode":200,"body":"unterminated`,
		"{\"statusCode\":200,\"body\":\"bad \xff\xfe utf8 \xe2\x82\"}",
		`{"statusCode":200,"body":"` + strings.Repeat("abcdefgh", 100000) + `"}`,
	}
	for _, trig := range []Trigger{TriggerFunctionURL, TriggerDirect} {
		for i, res := range results {
			want := parsed([]byte(res), trig)
			for _, n := range []int{1, 2, 3, 7, 64, 1 << 20} {
				got := scanned([]byte(res), n, trig)
				if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
					t.Fatalf("result %d (%.60q) in %d-byte chunks, trigger %s:\nscanner %+v\nparse   %+v", i, res, n, trig, got, want)
				}
			}
		}
	}
}

// TestScannerRandomResults compares the scanner with ParseBuffered on generated results.
func TestScannerRandomResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcXYZ019+/=\"\\\n\t é€😀\u2028<>&\uFFFD\r")
	for i := range 2000 {
		var body strings.Builder
		for range rng.IntN(40) {
			body.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		m := map[string]any{"statusCode": 200 + rng.IntN(300), "body": body.String()}
		if rng.IntN(3) == 0 {
			m["isBase64Encoded"] = true
		}
		if rng.IntN(2) == 0 {
			m["headers"] = map[string]string{"content-type": "text/html", "x-n": fmt.Sprint(i)}
		}
		res, _ := json.Marshal(m)
		want := parsed(res, TriggerAPIGatewayV2)
		got := scanned(res, 1+rng.IntN(9), TriggerAPIGatewayV2)
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("%s:\nscanner %+v\nparse   %+v", res, got, want)
		}
	}
}

// TestScannerLongRuns compares them on long, mostly-base64 bodies cut in larger chunks: the
// scanner takes eight bytes at a time there, and a stray pad, line break, space, quote or
// non-ASCII byte may fall anywhere in a word or across chunks.
func TestScannerLongRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rare := []rune("=\n\r \"\\é😀<")
	b64 := []rune("ABCXYZabcxyz0189+/")
	for i := range 3000 {
		var body strings.Builder
		for range rng.IntN(300) {
			if rng.IntN(40) == 0 {
				body.WriteRune(rare[rng.IntN(len(rare))])
			} else {
				body.WriteRune(b64[rng.IntN(len(b64))])
			}
		}
		if rng.IntN(4) == 0 {
			body.WriteString("==")
		}
		m := map[string]any{"statusCode": 200, "body": body.String(), "isBase64Encoded": rng.IntN(2) == 0}
		res, _ := json.Marshal(m)
		want := parsed(res, TriggerFunctionURL)
		got := scanned(res, 1+rng.IntN(64), TriggerFunctionURL)
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("case %d %s:\nscanner %+v\nparse   %+v", i, res, got, want)
		}
	}
}

// TestScannerEvidence pins the body facts the scanner keeps, in writes of any size: the
// first and last decoded bytes (after base64 when the result says so) and the U+FFFD
// characters, whether raw, escaped or from bytes that are not UTF-8.
func TestScannerEvidence(t *testing.T) {
	long := strings.Repeat("0123456789", 20)
	tests := []struct {
		name, result, head, tail string
		repl                     int64
	}{
		{"text", `{"statusCode":200,"body":"` + long + `"}`, long[:16], long[len(long)-12:], 0},
		{"short", `{"statusCode":200,"body":"hi"}`, "hi", "hi", 0},
		{"escapes", `{"statusCode":200,"body":"19\r\nabc\r\n0\r\n\r\n"}`, "19\r\nabc\r\n0\r\n\r\n", "\r\nabc\r\n0\r\n\r\n", 0},
		{"base64", `{"statusCode":200,"isBase64Encoded":true,"body":"iVBORw0KGgoAAAANSUhEUgAA\r\nAEAAAABACAIAAAAl"}`, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "\x00@\x00\x00\x00@\b\x02\x00\x00\x00%", 0},
		{"base64 after body", `{"body":"H4sIAAAA","statusCode":200,"isBase64Encoded":true}`, "\x1f\x8b\x08\x00\x00\x00", "\x1f\x8b\x08\x00\x00\x00", 0},
		{"replacements", `{"statusCode":200,"body":"\u001f\ufffd\b` + "\xef\xbf\xbd" + `x\ud800y` + "\xff" + `"}`, "\x1f\xef\xbf\xbd\b\xef\xbf\xbdx\xef\xbf\xbdy\xef\xbf\xbd", "\b\xef\xbf\xbdx\xef\xbf\xbdy\xef\xbf\xbd", 4},
		{"headers", `{"statusCode":302,"headers":{"Location":"/login","Transfer-Encoding":"chunked"},"body":""}`, "", "", 0},
	}
	for _, tt := range tests {
		for _, n := range []int{1, 3, 8, 1 << 20} {
			got := scanned([]byte(tt.result), n, TriggerFunctionURL)
			if got.BodyHead != tt.head || got.BodyTail != tt.tail || got.Replacements != tt.repl {
				t.Errorf("%s in %d-byte writes: head %q tail %q replacements %d, want %q %q %d", tt.name, n, got.BodyHead, got.BodyTail, got.Replacements, tt.head, tt.tail, tt.repl)
			}
			if want := parsed([]byte(tt.result), TriggerFunctionURL); got != want {
				t.Errorf("%s: scanner %+v, ParseBuffered %+v", tt.name, got, want)
			}
		}
	}
	r := scanned([]byte(tests[len(tests)-1].result), 5, TriggerFunctionURL)
	if r.Location != "/login" || r.TransferEncoding != "chunked" {
		t.Errorf("Location %q, Transfer-Encoding %q", r.Location, r.TransferEncoding)
	}
}

func FuzzScannerMatchesParseBuffered(f *testing.F) {
	f.Add([]byte(`{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`), uint8(3))
	f.Add([]byte(`{"statusCode":200,"body":"\ud83d\ude00"}`), uint8(1))
	f.Fuzz(func(t *testing.T, res []byte, chunk uint8) {
		if !json.Valid(res) {
			return // the scanner does not validate what it skips; both call invalid JSON not HTTP-shaped when it matters
		}
		want := parsed(res, TriggerFunctionURL)
		got := scanned(res, int(chunk)+1, TriggerFunctionURL)
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("%q:\nscanner %+v\nparse   %+v", res, got, want)
		}
	})
}

func BenchmarkScanner6MB(b *testing.B) {
	// Base64-alphabet text: the scanner must keep its base64 count all the way.
	benchmarkScanner(b, strings.Repeat("abcdefghij", 600000))
}

func BenchmarkScanner6MBText(b *testing.B) {
	// Text with spaces and tags: not base64 from the first space on.
	benchmarkScanner(b, strings.Repeat("<p>Hello, world of bodies.</p>", 200000))
}

func BenchmarkScanner6MBUnicode(b *testing.B) {
	// Text that is not ASCII, with escapes, and binary read as UTF-8: the byte-at-a-time path.
	benchmarkScanner(b, strings.Repeat(`Grüße, 世界 \"quoted\"\n \u001f\ufffd\b\ufffd `, 150000))
}

func benchmarkScanner(b *testing.B, body string) {
	res := []byte(`{"statusCode":200,"headers":{"content-type":"text/plain"},"body":"` + body + `"}`)
	b.SetBytes(int64(len(res)))
	b.ReportAllocs()
	for b.Loop() {
		var sc ResultScanner
		for i := 0; i < len(res); i += 32 << 10 {
			_, _ = sc.Write(res[i:min(i+32<<10, len(res))])
		}
		var r Response
		sc.Apply(&r, TriggerFunctionURL)
	}
}

func BenchmarkParseBuffered6MB(b *testing.B) {
	res := []byte(`{"statusCode":200,"headers":{"content-type":"text/plain"},"body":"` + strings.Repeat("abcdefghij", 600000) + `"}`)
	b.SetBytes(int64(len(res)))
	b.ReportAllocs()
	for b.Loop() {
		r := Response{WireBytes: int64(len(res))}
		r.ParseBuffered(res, true, TriggerFunctionURL)
	}
}

// TestScannerHeadersTooLarge: headers past what the scanner keeps leave the result's
// content-encoding unknown, so a compressed body is not taken for an identity one.
func TestScannerHeadersTooLarge(t *testing.T) {
	big := map[string]string{"content-encoding": "gzip", "x-padding": strings.Repeat("p", maxKept+10)}
	h, _ := json.Marshal(big)
	result := []byte(fmt.Sprintf(`{"statusCode":200,"headers":%s,"body":"H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==","isBase64Encoded":true}`, h))
	r := scanned(result, 512, TriggerFunctionURL)
	if !r.HeadersUnread || r.encoding() != "" || r.BodyBytes != 25 {
		t.Errorf("HeadersUnread %v, encoding %q, body %d; want true, \"\", 25", r.HeadersUnread, r.encoding(), r.BodyBytes)
	}
	small := scanned([]byte(`{"statusCode":200,"headers":{"Content-Encoding":"gzip"},"body":"H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==","isBase64Encoded":true}`), 7, TriggerFunctionURL)
	if small.HeadersUnread || small.encoding() != "gzip" {
		t.Errorf("small headers: HeadersUnread %v, encoding %q", small.HeadersUnread, small.encoding())
	}
}
