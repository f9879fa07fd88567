// Command lambdago is a tiny aws-lambda-go function the proxy tests run against the proxy:
// _HANDLER=echo answers a buffered result echoing the event's size, _HANDLER=stream streams
// a function-URL response of the requested size through lambdaurl.
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdaurl"
)

func main() {
	if os.Getenv("_HANDLER") == "stream" {
		lambdaurl.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := strconv.Atoi(r.URL.Query().Get("bytes"))
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(strings.Repeat("x", n)))
		}))
		return
	}
	lambda.Start(func(_ context.Context, ev json.RawMessage) (map[string]any, error) {
		return map[string]any{"eventBytes": len(ev), "ok": true}, nil
	})
}
