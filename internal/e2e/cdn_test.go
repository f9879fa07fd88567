package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/cli"
	"github.com/bodytrace/bodytrace/internal/localrun"
)

// TestCDNJoin runs requests that carry CloudFront's request id through the real runtime
// client with the extension, writes CloudFront access-log rows for them and for requests
// the edge cache answered, and checks that `bodytrace cdn` joins the two: invoked with
// the verdict, or answered at the edge and never invoked.
func TestCDNJoin(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-cdn-%d", time.Now().UnixNano())
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, otlpEnv(service)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	requests := []struct {
		edgeID string
		query  map[string]string
	}{
		{"DelivrdMissFromTheFunction0000000000000000000000000000==", map[string]string{"bytes": "2048"}},
		{"EmptyBdMissFromTheFunction0000000000000000000000000000==", map[string]string{"empty": "1"}},
	}
	for _, r := range requests {
		var ev map[string]any
		_ = json.Unmarshal(event(t, "function-url.json", r.query), &ev)
		ev["headers"].(map[string]any)["x-amz-cf-id"] = r.edgeID
		ev["headers"].(map[string]any)["via"] = "2.0 abc.cloudfront.net (CloudFront)"
		raw, _ := json.Marshal(ev)
		if _, err := l.Invoke(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	sums, err := l.WaitSummaries(ctx, len(requests))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var lines bytes.Buffer
	for i, s := range sums {
		edge, _ := s["edge"].(map[string]any)
		if edge["requestId"] != requests[i].edgeID {
			t.Fatalf("summary %d edge %v, want the request's x-amz-cf-id %s", i, edge, requests[i].edgeID)
		}
		b, _ := json.Marshal(s)
		lines.Write(append(b, '\n'))
	}
	invocations := filepath.Join(dir, "function.log")
	if err := os.WriteFile(invocations, lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// CloudFront's rows: the two misses that reached the function, and a later Hit that
	// served the cached empty body without an invocation.
	now := time.Now().UTC()
	row := func(at time.Time, id, result string, status, bytes int) string {
		return strings.Join([]string{at.Format("2006-01-02"), at.Format("15:04:05"), "IAD89-C1", fmt.Sprint(bytes), "192.0.2.10",
			"GET", "d111111abcdef8.cloudfront.net", "/bytes", fmt.Sprint(status), "-", "curl/8.0", "-", "-", result, id,
			"shop.example.com", "https", "120", "0.010", "-", "TLSv1.3", "TLS_AES_128_GCM_SHA256", result, "HTTP/2.0"}, "\t")
	}
	cdnLog := "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version\n" +
		row(now, requests[0].edgeID, "Miss", 200, 2400) + "\n" +
		row(now, requests[1].edgeID, "Miss", 200, 380) + "\n" +
		row(now.Add(time.Second), "LiveHitFromTheEdgeCache000000000000000000000000000000==", "Hit", 200, 380) + "\n"
	cdnFile := filepath.Join(dir, "cdn.log")
	if err := os.WriteFile(cdnFile, []byte(cdnLog), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := cli.Main(ctx, []string{"cdn", "--cdn-log", cdnFile, "--file", invocations}, cli.Streams{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	if code != 0 {
		t.Fatalf("bodytrace cdn exited %d: %s", code, errb.String())
	}
	want := map[string][]string{
		requests[0].edgeID[:8]: {"invoked", "delivered"},
		requests[1].edgeID[:8]: {"invoked", "lost:handler"},
		"LiveHitF":             {"edge-cache", "Hit"},
	}
	for id, words := range want {
		found := false
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.Contains(line, id) {
				found = true
				for _, w := range words {
					if !strings.Contains(line, w) {
						t.Errorf("row for %s: %q lacks %q", id, line, w)
					}
				}
			}
		}
		if !found {
			t.Errorf("no row for %s in:\n%s", id, out.String())
		}
	}
	t.Logf("joined table from a live run:\n%s", out.String())
}
