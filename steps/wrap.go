package steps

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/bodytrace/bodytrace/steps/line"
)

// Wrap reports what h returns, as one step line per call, and returns h's result unchanged.
// Wrap the handler first, then each middleware layer around it, with the name of that
// layer:
//
//	h := steps.Wrap("handler", handler)
//	h = steps.Wrap("auth", auth(h))
//	lambda.Start(h)
//
// The innermost layer to return reports stage "handler", each layer around it
// "middleware:<name>", in that order. An HTTP-shaped result (API Gateway v1 and v2, function
// URL, ALB; value or pointer) is reported as kind "http" with its decoded body length,
// status code and content-encoding ("identity" for none); any other value as kind "json" with the size of the JSON aws-lambda-go sends
// (trailing newline included); a nil pointer as "undefined"; an error as phase "error".
// A result that is an io.Reader sent as raw bytes is not reported, since counting it would
// mean reading it; nor is one holding a MarshalJSON or MarshalText of the function's own
// (outside the standard library), since calling it again could change what the caller
// gets: the proxy counts those bytes as the runtime sends them.
//
// When bodytrace is absent (no step address and BODYTRACE_STEPS_STDOUT not set) Wrap returns
// h itself, so it costs nothing.
func Wrap[TIn, TOut any](name string, h func(context.Context, TIn) (TOut, error)) func(context.Context, TIn) (TOut, error) {
	em := activeEmitter()
	if em == nil {
		return h
	}
	return func(ctx context.Context, in TIn) (TOut, error) {
		ctx, inv, _ := enter(ctx)
		if inv == nil {
			return h(ctx, in)
		}
		defer func() {
			if v := recover(); v != nil {
				em.emit(inv.step(name, line.Step{Phase: "error", Note: fmt.Sprintf("panic %T", v)}))
				panic(lambdaPanic(v)) // the report aws-lambda-go would make, without this frame
			}
		}()
		out, err := h(ctx, in)
		s, ok := line.Step{Phase: "error", Note: fmt.Sprintf("error %T", err)}, true
		if err == nil {
			s, ok = measure(out)
		}
		if ok {
			em.emit(inv.step(name, s))
		}
		return out, err
	}
}

// measure describes a handler's result as a step: stage and order are filled by the caller.
func measure(v any) (line.Step, bool) {
	switch r := v.(type) {
	case events.APIGatewayV2HTTPResponse:
		return httpStep(r.StatusCode, r.Body, r.IsBase64Encoded, contentEncoding(r.Headers, r.MultiValueHeaders)), true
	case *events.APIGatewayV2HTTPResponse:
		if r != nil {
			return httpStep(r.StatusCode, r.Body, r.IsBase64Encoded, contentEncoding(r.Headers, r.MultiValueHeaders)), true
		}
	case events.APIGatewayProxyResponse:
		return httpStep(r.StatusCode, r.Body, r.IsBase64Encoded, contentEncoding(r.Headers, r.MultiValueHeaders)), true
	case *events.APIGatewayProxyResponse:
		if r != nil {
			return httpStep(r.StatusCode, r.Body, r.IsBase64Encoded, contentEncoding(r.Headers, r.MultiValueHeaders)), true
		}
	case events.LambdaFunctionURLResponse:
		return httpStep(r.StatusCode, r.Body, r.IsBase64Encoded, contentEncoding(r.Headers, nil)), true
	case *events.LambdaFunctionURLResponse:
		if r != nil {
			return httpStep(r.StatusCode, r.Body, r.IsBase64Encoded, contentEncoding(r.Headers, nil)), true
		}
	case events.ALBTargetGroupResponse:
		return httpStep(r.StatusCode, r.Body, r.IsBase64Encoded, contentEncoding(r.Headers, r.MultiValueHeaders)), true
	case *events.ALBTargetGroupResponse:
		if r != nil {
			return httpStep(r.StatusCode, r.Body, r.IsBase64Encoded, contentEncoding(r.Headers, r.MultiValueHeaders)), true
		}
	default:
		if v == nil {
			break
		}
		if !pureJSON(v) {
			// Encoding it again would call the function's own MarshalJSON a second time:
			// not measured here (the proxy counts what the runtime actually sent).
			return line.Step{}, false
		}
		n, ok := jsonSize(v)
		if !ok {
			return line.Step{}, false
		}
		return line.Step{Phase: "out", Kind: "json", Bytes: n}, true
	}
	// A nil pointer: aws-lambda-go sends null.
	return line.Step{Phase: "out", Kind: "undefined"}, true
}

// contentEncoding is a result's Content-Encoding, "identity" for none, so the extension can tell
// a stage that compressed the body from one that cut it.
func contentEncoding(single map[string]string, multi map[string][]string) string {
	for k, v := range single {
		if strings.EqualFold(k, "Content-Encoding") && v != "" {
			return v
		}
	}
	for k, v := range multi {
		if strings.EqualFold(k, "Content-Encoding") && len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return "identity"
}

func httpStep(status int, body string, b64 bool, enc string) line.Step {
	n := int64(len(body))
	if b64 {
		// As the extension counts it: decoded when it decodes, else as sent.
		if d, err := base64.StdEncoding.DecodeString(body); err == nil {
			n = int64(len(d))
		}
	}
	return line.Step{Phase: "out", Kind: "http", Bytes: n, Status: status, Enc: enc}
}

var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// jsonSize is the size of the JSON value v as aws-lambda-go encodes it (no HTML escaping),
// without the encoder's trailing newline, which is framing: the proxy counts a JSON result
// the same way. It is false for a value aws-lambda-go sends as raw bytes (an io.Reader that is
// not JSON, or that encodes to {}) and for one it cannot encode.
func jsonSize(v any) (int64, bool) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); jsonBuffers.Put(buf) }()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	if _, reader := v.(io.Reader); reader && (err != nil || bytes.HasPrefix(buf.Bytes(), []byte("{}"))) {
		return 0, false
	}
	if err != nil {
		return 0, false
	}
	return int64(len(bytes.TrimRight(buf.Bytes(), "\n"))), true
}
