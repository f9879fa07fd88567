package steps

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
)

// TestWrapPanicOutsideLambda: a panic through Wrap that aws-lambda-go's invoke loop did not
// call (a test, a local run) goes on with its own value, and each layer reports an error step.
// The value aws-lambda-go gets on Lambda is checked end to end (TestFailOpenGoPanic).
func TestWrapPanicOutsideLambda(t *testing.T) {
	s := newSink(t)
	h := Wrap("handler", func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error) { panic("boom") })
	h = Wrap("auth", middleware(func(r events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse { return r }, h))
	got := func() (v any) {
		defer func() { v = recover() }()
		_, _ = h(invokeCtx("rid-1"), nil)
		return nil
	}()
	if got != "boom" {
		t.Errorf("recovered %#v, want the handler's own panic value", got)
	}
	lines := s.lines(t, 2)
	for i, stage := range []string{`"stage":"handler","phase":"error","bytes":0,"note":"panic string"`, `"stage":"middleware:auth","phase":"error","bytes":0,"note":"panic string"`} {
		if !strings.Contains(lines[i], stage) {
			t.Errorf("step %d = %s, want %s", i, lines[i], stage)
		}
	}
}

// TestLambdaPanicPassesReportsThrough: a report an inner layer already built goes on as it is.
func TestLambdaPanicPassesReportsThrough(t *testing.T) {
	in := messages.InvokeResponse_Error{Message: "boom", Type: "string", ShouldExit: true}
	if out, ok := lambdaPanic(in).(messages.InvokeResponse_Error); !ok || out.Message != "boom" || out.StackTrace != nil {
		t.Errorf("lambdaPanic(%v) = %v", in, out)
	}
}
