// Command go-steps is the Go example function with the bodytrace steps package: the same
// routes as examples/go (buffered, or "stream" through lambdaurl when _HANDLER is
// "stream"), with the import that points aws-lambda-go at the bodytrace proxy and a
// steps.Wrap at each layer of the buffered route:
//
//	dropper → auth → handler
//
// auth passes the result through; dropper empties the body when the request asks for it
// (?drop=1), so bodytrace can name the layer that lost it. On Lambda it runs on
// provided.al2023, where the binary is the bootstrap and no exec wrapper runs.
//
// The body size comes from the query string (?bytes=N, default 1024) or, for a direct
// invoke, the event's "bytes" field; ?chunk=N sets the stream's write size.
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

	"github.com/bodytrace/bodytrace/steps"
)

// handler is the shape of every layer of the buffered route.
type handler = func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error)

func main() {
	if os.Getenv("_HANDLER") == "stream" {
		lambdaurl.Start(steps.WrapHTTP("handler", http.HandlerFunc(stream)))
		return
	}
	h := steps.Wrap("handler", buffered)
	h = steps.Wrap("auth", auth(h))
	h = steps.Wrap("dropper", dropper(h))
	lambda.Start(h)
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

func parse(raw json.RawMessage) event {
	var ev event
	_ = json.Unmarshal(raw, &ev)
	return ev
}

func buffered(_ context.Context, raw json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
	ev := parse(raw)
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

// auth stands for an authentication middleware that lets the request through.
func auth(next handler) handler {
	return func(ctx context.Context, raw json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		return next(ctx, raw)
	}
}

// dropper loses the body when the request says ?drop=1, as a faulty wrapper would.
func dropper(next handler) handler {
	return func(ctx context.Context, raw json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		res, err := next(ctx, raw)
		if parse(raw).QueryStringParameters["drop"] == "1" {
			res.Body = ""
		}
		return res, err
	}
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
