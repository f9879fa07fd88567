package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// TestBufferedOverSixMB: Lambda answers a buffered result over 6 MB with HTTP 413; the
// proxy must pass that to the runtime unchanged and the verdict must name the platform.
func TestBufferedOverSixMB(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-too-large-%d", time.Now().UnixNano())
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, otlpEnv(service)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got, err := l.Invoke(ctx, []byte(`{"bytes":7000000}`))
	t.Logf("caller got %d bytes: %.200s (err %v)", len(got), got, err)
	sums, err := l.WaitSummaries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := sums[0]
	if s["verdict"] != "lost:platform" {
		t.Fatalf("verdict %v (%v), want lost:platform", s["verdict"], s["reason"])
	}
	if b := s["bytes"].(map[string]any); b["response"].(float64) < 7000000 {
		t.Errorf("response bytes %v, want the whole 7 MB the runtime sent", b["response"])
	}
	tr, err := jaeger.Trace(ctx, s["traceId"].(string), 3)
	if err != nil {
		t.Fatal(err)
	}
	if resp := tr.Find("response"); len(resp) != 1 || resp[0].Tag("bodytrace.runtime_api.status") != "413" {
		t.Errorf("response span: %+v; want the Runtime API's 413 recorded", resp)
	}
}
