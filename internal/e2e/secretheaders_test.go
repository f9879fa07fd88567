package e2e

// OTLP headers read from a secret (BODYTRACE_OTLP_HEADERS_SECRET_ARN) must reach the
// collector with every export: they are read in the background while the extension
// registers and applied before its first /next.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

func TestSecretHeadersReachTheCollector(t *testing.T) {
	needParts(t)
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bodytrace/otlp-AbCdEf"
	const key = "sekret-e2e-0123456789"
	// A stand-in of Secrets Manager's GetSecretValue (a fake: AWS cannot run here).
	sm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || in.SecretId != arn {
			http.Error(w, `{"__type":"ResourceNotFoundException"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"ARN":"` + arn + `","SecretString":"x-api-key=` + key + `,x-team=e2e"}`))
	}))
	defer sm.Close()

	// A stand-in OTLP/HTTP collector keeping each trace request's headers and span count.
	type got struct {
		apiKey, team string
		spans        int
	}
	var (
		mu   sync.Mutex
		reqs []got
	)
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := 0
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				n += len(ss.Spans)
			}
		}
		mu.Lock()
		reqs = append(reqs, got{r.Header.Get("X-Api-Key"), r.Header.Get("X-Team"), n})
		mu.Unlock()
	}))
	defer col.Close()

	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"},
		"OTEL_EXPORTER_OTLP_ENDPOINT="+col.URL, "BODYTRACE_METRICS=off",
		"BODYTRACE_OTLP_HEADERS_SECRET_ARN="+arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER="+sm.URL,
		"AWS_ACCESS_KEY_ID=AKIDSTANDIN", "AWS_SECRET_ACCESS_KEY=fake", "AWS_EC2_METADATA_DISABLED=true")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 2 {
		if _, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": "100"})); err != nil {
			t.Fatal(err)
		}
	}
	// Healthy traces leave in the background (BODYTRACE_FLUSH=verdict): wait for them, bounded.
	spans := 0
	for deadline := time.Now().Add(10 * time.Second); ; {
		mu.Lock()
		spans = 0
		for _, r := range reqs {
			if r.apiKey != key || r.team != "e2e" {
				mu.Unlock()
				t.Fatalf("a request reached the collector with x-api-key %q, x-team %q; want the secret's", r.apiKey, r.team)
			}
			spans += r.spans
		}
		n := len(reqs)
		mu.Unlock()
		if spans > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no spans reached the collector within 10 s (%d requests)", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(l.Log.String(), key) {
		t.Fatal("the secret's value is in the log")
	}
}
