package steps_test

import (
	"context"
	"log"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/bodytrace/bodytrace/steps"
)

type handler = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

func hello(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello"}, nil
}

// auth is a middleware: it calls next and returns what next returned.
func auth(next handler) handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return next(ctx, req)
	}
}

// Wrap the handler, then each middleware around it: bodytrace sees the bytes at each layer.
func ExampleWrap() {
	h := steps.Wrap("handler", hello)
	h = steps.Wrap("auth", auth(h))
	lambda.Start(h)
}

// A streaming function URL handler: the stream's bytes and writes are reported at its end.
func ExampleWrapHTTP() {
	lambdaurl.Start(steps.WrapHTTP("handler", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello"))
	})))
}

// Say at startup whether bodytrace observes the Runtime API, and why.
func ExampleRedirected() {
	if !steps.Redirected() {
		log.Printf("bodytrace: %s", steps.Reason())
	}
	lambda.Start(hello)
}
