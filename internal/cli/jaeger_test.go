package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func loadTraces(t *testing.T, name string) []JaegerTrace {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Data []JaegerTrace `json:"data"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Data
}

// jaeger-traces.json is Jaeger's answer for the same run as the emulator logs: each trace
// must rebuild the row its summary line gives.
func TestFromJaegerMatchesSummaryLines(t *testing.T) {
	lines := map[string]Invocation{}
	for _, inv := range readAll(t, recordedLogs...) {
		lines[inv.TraceID] = inv
	}
	rows := FromJaeger(loadTraces(t, "jaeger-traces.json"))
	if len(rows) != len(lines) {
		t.Fatalf("%d rows from Jaeger, %d summary lines", len(rows), len(lines))
	}
	for _, got := range rows {
		want, ok := lines[got.TraceID]
		if !ok {
			t.Errorf("trace %s has no summary line", got.TraceID)
			continue
		}
		if got.Function != "e2e-"+map[bool]string{true: "go", false: "node"}[want.Trigger == ""] {
			t.Errorf("%s: function %q", got.TraceID, got.Function)
		}
		got.Function = ""
		want.Time = want.Time.Truncate(time.Microsecond) // Jaeger keeps microseconds
		if !got.Time.Equal(want.Time) {
			t.Errorf("%s: time %v, want %v", got.TraceID, got.Time, want.Time)
		}
		got.Time, want.Time = time.Time{}, time.Time{}
		got.DurationMs, want.DurationMs = 0, 0
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Errorf("trace %s:\nfrom Jaeger %s\nsummary     %s", got.TraceID, gj, wj)
		}
	}
}

func TestFromJaegerStepStages(t *testing.T) {
	// jaeger-steps.json is the recorded lost:handler trace with a handler and a
	// middleware:sentry span added, as the extension exports step stages.
	rows := FromJaeger(loadTraces(t, "jaeger-steps.json"))
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	inv := rows[0]
	var stages []string
	for _, s := range inv.Stages {
		stages = append(stages, s.Stage+" "+strconv.FormatInt(s.Bytes, 10)+map[bool]string{true: " lost"}[s.Lost])
	}
	if got := strings.Join(stages, ", "); got != "handler 2048, middleware:sentry 0 lost, response 0" {
		t.Errorf("stages %s", got)
	}
	if inv.Verdict != "lost:middleware:sentry" || inv.LostAt != "middleware:sentry" {
		t.Errorf("verdict %s at %s", inv.Verdict, inv.LostAt)
	}
	bars := Chart(inv)
	var lost []string
	for _, b := range bars {
		if b.Lost {
			lost = append(lost, b.Stage)
		}
	}
	if !reflect.DeepEqual(lost, []string{"middleware:sentry"}) {
		t.Errorf("lost bars %v", lost)
	}
}

func TestFromJaegerSkipsOtherTraces(t *testing.T) {
	other := JaegerTrace{TraceID: "ab", Spans: []JaegerSpan{{SpanID: "1", OperationName: "GET /", Tags: []JaegerTag{{Key: "http.response.status_code", Value: 200.0}}}}}
	if rows := FromJaeger([]JaegerTrace{other}); len(rows) != 0 {
		t.Errorf("rows from a trace bodytrace did not make: %+v", rows)
	}
}

// jaegerStandIn answers /api/services and /api/traces from recorded files, as Jaeger's
// query API would.
func jaegerStandIn(t *testing.T, files map[string]string) (*httptest.Server, *[]string) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RequestURI())
		switch r.URL.Path {
		case "/api/services":
			var names []string
			for svc := range files {
				names = append(names, svc)
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"data": append(names, "jaeger")})
		case "/api/traces":
			f, ok := files[r.URL.Query().Get("service")]
			if !ok {
				_ = json.NewEncoder(w).Encode(map[string]any{"data": []any{}})
				return
			}
			b, err := os.ReadFile(filepath.Join("testdata", f))
			if err != nil {
				t.Error(err)
			}
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &queries
}

func TestJaegerList(t *testing.T) {
	srv, queries := jaegerStandIn(t, map[string]string{"bodytrace-record": "jaeger-traces.json", "shop-web": "jaeger-steps.json"})
	start := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	j := &Jaeger{URL: srv.URL, Service: "bodytrace-record", Start: start, Limit: 20}
	rows, err := j.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows, want 7", len(rows))
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Time.After(rows[i-1].Time) {
			t.Errorf("rows not newest first at %d", i)
		}
	}
	q := (*queries)[0]
	for _, want := range []string{"service=bodytrace-record", "limit=20", "start=" + strconv.FormatInt(start.UnixMicro(), 10), "end="} {
		if !strings.Contains(q, want) {
			t.Errorf("query %q lacks %q", q, want)
		}
	}

	// No service: every service Jaeger knows but its own.
	*queries = nil
	rows, err = (&Jaeger{URL: srv.URL}).List(context.Background())
	if err != nil || len(rows) != 8 {
		t.Errorf("all services: %d rows, %v", len(rows), err)
	}
	for _, q := range *queries {
		if strings.Contains(q, "service=jaeger") {
			t.Errorf("queried Jaeger's own service: %s", q)
		}
	}

	if _, err := (&Jaeger{URL: srv.URL + "/nowhere", Service: "x"}).List(context.Background()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("error %v, want the 404", err)
	}
}
