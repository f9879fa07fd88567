// Command failopen is the Go function of the fail-open end-to-end tests (issue 18). It
// imports the steps package, as a Go function on provided.al2023 must to be observed, and
// picks its behaviour from _HANDLER:
//
//	echo        answers a fixed body at once (the default)
//	slow        answers the same body after 1 s (strays are sent meanwhile)
//	marshal     returns a result whose MarshalJSON answers differently on each call
//	panic       panics inside steps.Wrap
//	streampanic streams through lambdaurl and panics after some bytes
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/bodytrace/bodytrace/steps"
)

// calls counts MarshalJSON calls: the caller must see the first, as without the layer.
type calls struct{ n *int }

// MarshalJSON answers with how often it has been called.
func (c calls) MarshalJSON() ([]byte, error) {
	*c.n++
	return json.Marshal(map[string]int{"marshalled": *c.n})
}

func main() {
	switch os.Getenv("_HANDLER") {
	case "streampanic":
		lambdaurl.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(strings.Repeat("x", 4096)))
			w.(http.Flusher).Flush()
			panic("mid-stream")
		}))
	case "marshal":
		lambda.Start(steps.Wrap("handler", func(context.Context, json.RawMessage) (calls, error) {
			return calls{new(int)}, nil
		}))
	case "panic":
		lambda.Start(steps.Wrap("handler", func(context.Context, json.RawMessage) (string, error) {
			panic("boom")
		}))
	case "slow":
		lambda.Start(steps.Wrap("handler", func(context.Context, json.RawMessage) (map[string]string, error) {
			time.Sleep(time.Second)
			return map[string]string{"body": strings.Repeat("abcdefghij", 100)}, nil
		}))
	default:
		lambda.Start(steps.Wrap("handler", func(context.Context, json.RawMessage) (map[string]string, error) {
			return map[string]string{"body": strings.Repeat("abcdefghij", 100)}, nil
		}))
	}
}
