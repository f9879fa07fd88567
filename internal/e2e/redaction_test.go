package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// TestSecretsNeverLeave plants secrets in a request's headers, cookies, query string and
// JSON body, with body capture on, and checks that neither Jaeger nor the extension's log
// (the summary line included) ever holds them, while the redacted sample is there.
func TestSecretsNeverLeave(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-redaction-%d", time.Now().UnixNano())
	env := append(otlpEnv(service), "BODYTRACE_CAPTURE=body")
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	secrets := []string{"hdr-s3cr3t-0001", "cookie-s3cr3t-0002", "query-s3cr3t-0003", "body-s3cr3t-0004", "apikey-s3cr3t-0005"}
	var ev map[string]any
	_ = json.Unmarshal(event(t, "apigw-v2.json", map[string]string{"bytes": "16", "token": secrets[2]}), &ev)
	h := ev["headers"].(map[string]any)
	h["authorization"] = "Bearer " + secrets[0]
	h["x-api-key"] = secrets[4]
	ev["cookies"] = []string{"session=" + secrets[1]}
	body, _ := json.Marshal(map[string]any{"user": "ann", "nested": map[string]any{"Password": secrets[3]}})
	ev["body"] = string(body)
	ev["isBase64Encoded"] = false
	raw, _ := json.Marshal(ev)
	if _, err := l.Invoke(ctx, raw); err != nil {
		t.Fatal(err)
	}
	sums, err := l.WaitSummaries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	traceID := sums[0]["traceId"].(string)
	if _, err := jaeger.Trace(ctx, traceID, 3); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + jaeger.Query + "/api/traces/" + traceID)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	l.Stop() // the whole log, shutdown included
	logText := l.Log.String()
	for _, s := range secrets {
		if strings.Contains(string(stored), s) {
			t.Errorf("secret %q reached Jaeger", s)
		}
		if strings.Contains(logText, s) {
			t.Errorf("secret %q reached the log", s)
		}
	}
	if !strings.Contains(string(stored), "[redacted]") || !strings.Contains(string(stored), "ann") {
		t.Errorf("the trace holds no redacted sample (want [redacted] beside the harmless field): %.600s", stored)
	}
}
