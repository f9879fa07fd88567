package invocation

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseBuffered(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 1000)))
	tests := []struct {
		name     string
		result   string
		complete bool
		trigger  Trigger
		want     Response // only HTTP, StatusCode, Content*, IsBase64Encoded, BodyBytes compared
	}{
		{
			name:     "HTTP-shaped plain body",
			result:   `{"statusCode":201,"headers":{"Content-Type":"text/plain","Content-Length":"5"},"body":"hello"}`,
			complete: true, trigger: TriggerAPIGatewayV2,
			want: Response{HTTP: true, StatusCode: 201, ContentType: "text/plain", ContentLength: "5", BodyBytes: 5},
		},
		{
			name:     "base64 body is measured decoded",
			result:   `{"statusCode":200,"headers":{"content-encoding":"gzip"},"body":"` + b64 + `","isBase64Encoded":true}`,
			complete: true, trigger: TriggerFunctionURL,
			want: Response{HTTP: true, StatusCode: 200, ContentEncoding: "gzip", IsBase64Encoded: true, BodyBytes: 1000},
		},
		{
			name:     "headers are case-insensitive",
			result:   `{"statusCode":200,"headers":{"CONTENT-TYPE":"application/json","content-LENGTH":"2"},"body":"{}"}`,
			complete: true, trigger: TriggerAPIGatewayV1,
			want: Response{HTTP: true, StatusCode: 200, ContentType: "application/json", ContentLength: "2", BodyBytes: 2},
		},
		{
			name:     "multiValueHeaders",
			result:   `{"statusCode":200,"multiValueHeaders":{"Content-Type":["text/html","ignored"],"Content-Encoding":["br"]},"body":"<p>"}`,
			complete: true, trigger: TriggerALB,
			want: Response{HTTP: true, StatusCode: 200, ContentType: "text/html", ContentEncoding: "br", BodyBytes: 3},
		},
		{
			name:     "HTTP-shaped without body",
			result:   `{"statusCode":204}`,
			complete: true, trigger: TriggerAPIGatewayV2,
			want: Response{HTTP: true, StatusCode: 204, BodyBytes: 0},
		},
		{
			name:     "empty string body",
			result:   `{"statusCode":200,"body":""}`,
			complete: true, trigger: TriggerAPIGatewayV2,
			want: Response{HTTP: true, StatusCode: 200, BodyBytes: 0},
		},
		{
			name:     "non-shaped result for HTTP trigger is a 200 with the whole payload",
			result:   `{"message":"hi"}`,
			complete: true, trigger: TriggerFunctionURL,
			want: Response{HTTP: true, StatusCode: 200, BodyBytes: int64(len(`{"message":"hi"}`))},
		},
		{
			name:     "non-shaped result for direct invoke is not HTTP",
			result:   `{"message":"hi"}`,
			complete: true, trigger: TriggerDirect,
			want: Response{BodyBytes: int64(len(`{"message":"hi"}`))},
		},
		{
			name:     "HTTP-shaped result for direct invoke is still parsed",
			result:   `{"statusCode":200,"body":"abc"}`,
			complete: true, trigger: TriggerDirect,
			want: Response{HTTP: true, StatusCode: 200, BodyBytes: 3},
		},
		{
			name:     "incomplete capture",
			result:   `{"statusCode":200,"body":"aaaa`,
			complete: false, trigger: TriggerAPIGatewayV2,
			want: Response{BodyBytes: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Response{Mode: ModeBuffered, WireBytes: int64(len(tt.result))}
			if !tt.complete {
				r.WireBytes = 10 << 20
			}
			r.ParseBuffered([]byte(tt.result), tt.complete, tt.trigger)
			got := Response{HTTP: r.HTTP, StatusCode: r.StatusCode, ContentLength: r.ContentLength, ContentEncoding: r.ContentEncoding,
				ContentType: r.ContentType, IsBase64Encoded: r.IsBase64Encoded, BodyBytes: r.BodyBytes}
			if got != tt.want {
				t.Errorf("ParseBuffered:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseStream(t *testing.T) {
	nul8 := string(make([]byte, 8))
	prelude := `{"statusCode":201,"headers":{"Content-Type":"text/plain","X-A":"b"}}`
	tests := []struct {
		name        string
		head        string
		wire        int64 // 0 means len(head)
		contentType string
		want        Response
	}{
		{
			name:        "function URL prelude then body",
			head:        prelude + nul8 + "hello world",
			contentType: HTTPIntegrationContentType,
			want:        Response{HTTP: true, StatusCode: 201, ContentType: "text/plain", BodyBytes: int64(len("hello world"))},
		},
		{
			name:        "body longer than the captured head",
			head:        prelude + nul8 + "abc",
			wire:        int64(len(prelude)) + 8 + 5000,
			contentType: HTTPIntegrationContentType + "; charset=utf-8",
			want:        Response{HTTP: true, StatusCode: 201, ContentType: "text/plain", BodyBytes: 5000},
		},
		{
			name:        "prelude without body",
			head:        prelude + nul8,
			contentType: HTTPIntegrationContentType,
			want:        Response{HTTP: true, StatusCode: 201, ContentType: "text/plain", BodyBytes: 0},
		},
		{
			name:        "prelude without status code",
			head:        `{"headers":{}}` + nul8 + "xy",
			contentType: HTTPIntegrationContentType,
			want:        Response{HTTP: true, StatusCode: 200, BodyBytes: 2},
		},
		{
			name:        "no prelude content type: whole stream is body",
			head:        prelude + nul8 + "hello",
			contentType: "application/octet-stream",
			want:        Response{BodyBytes: int64(len(prelude) + 8 + 5)},
		},
		{
			name:        "no content type at all",
			head:        "plain bytes",
			contentType: "",
			want:        Response{BodyBytes: int64(len("plain bytes"))},
		},
		{
			name:        "empty stream with prelude content type",
			head:        "",
			contentType: HTTPIntegrationContentType,
			want:        Response{BodyBytes: 0},
		},
		{
			name:        "empty stream without content type",
			head:        "",
			contentType: "",
			want:        Response{BodyBytes: 0},
		},
		{
			name:        "prelude never finished within the capture",
			head:        `{"statusCode":200,"headers":{"a":"` + strings.Repeat("b", 100),
			wire:        100000,
			contentType: HTTPIntegrationContentType,
			want:        Response{BodyBytes: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Response{Mode: ModeStreaming, WireBytes: tt.wire}
			if tt.wire == 0 {
				r.WireBytes = int64(len(tt.head))
			}
			r.ParseStream([]byte(tt.head), tt.contentType)
			got := Response{HTTP: r.HTTP, StatusCode: r.StatusCode, ContentLength: r.ContentLength, ContentEncoding: r.ContentEncoding,
				ContentType: r.ContentType, IsBase64Encoded: r.IsBase64Encoded, BodyBytes: r.BodyBytes}
			if got != tt.want {
				t.Errorf("ParseStream:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseBufferedBadBase64(t *testing.T) {
	var r Response
	body := []byte(`{"statusCode":200,"body":"hello","isBase64Encoded":true}`)
	r.WireBytes = int64(len(body))
	r.ParseBuffered(body, true, TriggerFunctionURL)
	if !r.BadBase64 || r.BodyBytes != 5 {
		t.Fatalf("BadBase64 %v BodyBytes %d; want true and the body's 5 characters", r.BadBase64, r.BodyBytes)
	}
	good := []byte(`{"statusCode":200,"body":"aGVsbG8=","isBase64Encoded":true}`)
	r = Response{WireBytes: int64(len(good))}
	r.ParseBuffered(good, true, TriggerFunctionURL)
	if r.BadBase64 || r.BodyBytes != 5 {
		t.Fatalf("valid base64: BadBase64 %v BodyBytes %d; want false and 5", r.BadBase64, r.BodyBytes)
	}
}
