package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// TestNodeRuntimes runs the example function on the Node.js versions of Lambda's current
// runtimes (nodejs22.x, nodejs24.x) with the runtime client those runtimes use
// (aws-lambda-ric 4.x, which loads every handler with import()): a buffered and a streamed
// answer each reach the caller whole and get `delivered` with the bytes the caller got.
func TestNodeRuntimes(t *testing.T) {
	needParts(t)
	for _, major := range localrun.NodeVersions {
		t.Run("node"+major, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct{ handler, want string }{{"index.handler", "buffered"}, {"index.stream", "streaming"}} {
				l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: c.handler, Node: major}, "BODYTRACE_SUMMARY=on")
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				const size = 4096
				got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(size)}))
				if err != nil {
					t.Fatalf("%s: %v", c.handler, err)
				}
				body := got
				if c.want == "streaming" {
					if j := bytes.Index(got, make([]byte, 8)); j >= 0 {
						body = got[j+8:]
					}
				} else {
					var res httpResult
					if err := json.Unmarshal(got, &res); err != nil {
						t.Fatalf("%s: %v: %.200s", c.handler, err, got)
					}
					body = []byte(res.Body)
				}
				if len(body) != size {
					t.Fatalf("%s: caller got a %d-byte body, want %d", c.handler, len(body), size)
				}
				sums, err := l.WaitSummaries(ctx, 1)
				if err != nil {
					t.Fatal(err)
				}
				s := sums[0]
				b, _ := s["bytes"].(map[string]any)
				verdict, _ := s["verdict"].(string)
				reason, _ := s["reason"].(string)
				recordAccuracy(t, accuracyRow{
					Stack: "bodytrace example (CommonJS, " + c.want + ")", Versions: "aws-lambda-ric@4.0.2", Node: major,
					Case: fmt.Sprintf("%d-byte body", size), Healthy: true, CallerGot: fmt.Sprintf("200, %d B body", len(body)),
					Expected: "delivered", Verdict: verdict, Reason: reason,
				})
				if s["mode"] != c.want || verdict != "delivered" {
					t.Errorf("%s: mode %v verdict %v (%v), want %s delivered", c.handler, s["mode"], verdict, reason, c.want)
				}
				if b["body"] != float64(size) || b["response"] != float64(len(got)) {
					t.Errorf("%s: summary bytes %v, want body %d response %d", c.handler, b, size, len(got))
				}
			}
		})
	}
}
