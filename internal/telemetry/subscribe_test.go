package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type answer struct {
	status int
	body   string
}

// fakeTelemetryAPI answers successive subscribe requests with answers and
// records the requests' bodies.
type fakeTelemetryAPI struct {
	mu      sync.Mutex
	answers []answer
	bodies  []subscribeRequest
	t       *testing.T
}

func (f *fakeTelemetryAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodPut || r.URL.Path != "/2022-07-01/telemetry" {
		f.t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("Lambda-Extension-Identifier"); got != "ext-id" {
		f.t.Errorf("Lambda-Extension-Identifier = %q", got)
	}
	var body subscribeRequest
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("decode request: %v", err)
	}
	f.bodies = append(f.bodies, body)
	a := f.answers[0]
	if len(f.answers) > 1 {
		f.answers = f.answers[1:]
	}
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

func TestSubscribe(t *testing.T) {
	const validation = `{"errorType":"ValidationError","errorMessage":"schema validation error: jsonschema: '/schemaVersion' does not validate"}`
	tests := []struct {
		name        string
		answers     []answer
		want        Subscription
		wantErr     string // substring; "" for no error
		wantSchemas []string
	}{
		{"subscribed", []answer{{200, `"OK"`}}, Subscription{Schema: Schema20221213, Supported: true}, "", []string{Schema20221213}},
		{"emulator classic mode", []answer{{202, `{"errorType":"Telemetry.NotSupported","errorMessage":"Telemetry API is not supported"}`}},
			Subscription{}, "", []string{Schema20221213}},
		{"first schema refused", []answer{{400, validation}, {200, `"OK"`}},
			Subscription{Schema: Schema20250129, Supported: true}, "", []string{Schema20221213, Schema20250129}},
		{"both schemas refused", []answer{{400, validation}},
			Subscription{}, "HTTP 400: ValidationError: schema validation error", []string{Schema20221213, Schema20250129}},
		{"server error", []answer{{500, `{"errorType":"Telemetry.Unavailable","errorMessage":"try later"}`}},
			Subscription{}, "subscribe to telemetry with schema 2022-12-13: HTTP 500: Telemetry.Unavailable: try later", []string{Schema20221213}},
		{"forbidden, not a schema problem", []answer{{403, `{"errorType":"Extension.Unknown","errorMessage":"unknown extension"}`}},
			Subscription{}, "Extension.Unknown", []string{Schema20221213}},
		{"non-json error body", []answer{{500, "boom\n"}}, Subscription{}, "HTTP 500: : boom", []string{Schema20221213}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeTelemetryAPI{answers: tt.answers, t: t}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			runtimeAPI := strings.TrimPrefix(srv.URL, "http://")

			got, err := Subscribe(context.Background(), srv.Client(), runtimeAPI, "ext-id", "http://sandbox.localdomain:4243",
				[]string{"platform", "function"}, Buffering{})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				var apiErr *APIError
				if !errors.As(err, &apiErr) {
					t.Errorf("err %v does not wrap *APIError", err)
				}
			}
			equal(t, "subscription", got, tt.want)
			var schemas []string
			for _, b := range fake.bodies {
				schemas = append(schemas, b.SchemaVersion)
				equal(t, "body", b, subscribeRequest{
					SchemaVersion: b.SchemaVersion,
					Destination:   destination{Protocol: "HTTP", URI: "http://sandbox.localdomain:4243"},
					Types:         []string{"platform", "function"},
					Buffering:     Buffering{MaxItems: 1000, MaxBytes: 262144, TimeoutMs: 25},
				})
			}
			equal(t, "schemas tried", schemas, tt.wantSchemas)
		})
	}
}

func TestSubscribeRawBody(t *testing.T) {
	var raw map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		_ = json.NewDecoder(r.Body).Decode(&raw)
		_, _ = w.Write([]byte(`"OK"`))
	}))
	defer srv.Close()
	_, err := Subscribe(context.Background(), nil, strings.TrimPrefix(srv.URL, "http://"), "ext-id", "http://sandbox.localdomain:1234",
		nil, Buffering{MaxItems: 5000, TimeoutMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"schemaVersion": "2022-12-13",
		"destination":   map[string]any{"protocol": "HTTP", "URI": "http://sandbox.localdomain:1234"},
		"types":         []any{"platform", "function"},
		"buffering":     map[string]any{"maxItems": 5000.0, "maxBytes": 262144.0, "timeoutMs": 100.0},
	}
	equal(t, "wire body", raw, want)
}

func TestSubscribeTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	_, err := Subscribe(context.Background(), nil, addr, "ext-id", "http://sandbox.localdomain:1", nil, Buffering{})
	if err == nil || !strings.HasPrefix(err.Error(), "subscribe to telemetry with schema 2022-12-13: ") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Subscribe(context.Background(), nil, "", "ext-id", "x", nil, Buffering{}); err == nil {
		t.Error("empty runtime API accepted")
	}
}
