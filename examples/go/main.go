// Command example is the Go example function for bodytrace: an aws-lambda-go function
// with a buffered route (API Gateway v2 / function URL result) and a streaming route
// (lambdaurl). On Lambda it runs on provided.al2023, where the binary is the bootstrap;
// the handler named by _HANDLER picks the route ("stream" streams, anything else buffers).
//
// The body size comes from the query string (?bytes=N, default 1024) or, for a direct
// invoke, the event's "bytes" field, so a test can compute what the caller must receive.
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdaurl"
)

func main() {
	if os.Getenv("_HANDLER") == "stream" {
		lambdaurl.Start(http.HandlerFunc(stream))
		return
	}
	lambda.Start(buffered)
}

// body returns n deterministic bytes.
func body(n int) string {
	return strings.Repeat("abcdefghij", n/10+1)[:n]
}

func size(v string, def int) int {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return n
	}
	return def
}

// event is the union of the fields the example reads from HTTP and direct events.
type event struct {
	events.APIGatewayV2HTTPRequest
	Bytes *int `json:"bytes"`
}

func buffered(_ context.Context, raw json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
	var ev event
	_ = json.Unmarshal(raw, &ev)
	n := size(ev.QueryStringParameters["bytes"], 1024)
	if ev.Bytes != nil {
		n = *ev.Bytes
	}
	status := size(ev.QueryStringParameters["status"], http.StatusOK)
	if ev.QueryStringParameters["empty"] == "1" || status == http.StatusNoContent || status == http.StatusNotModified {
		n = 0
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "text/plain"},
		Body:       body(n),
	}, nil
}

func stream(w http.ResponseWriter, r *http.Request) {
	n := size(r.URL.Query().Get("bytes"), 1024)
	chunk := size(r.URL.Query().Get("chunk"), 16*1024)
	if chunk == 0 {
		chunk = n
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	b := body(n)
	for len(b) > 0 {
		c := min(chunk, len(b))
		_, _ = w.Write([]byte(b[:c]))
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		b = b[c:]
	}
}
