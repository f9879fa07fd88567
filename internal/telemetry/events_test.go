package telemetry

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const docRequestID = "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa"

func readEvent(t *testing.T, path string) Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	events, skipped, err := parseBatch(append(append([]byte("["), b...), ']'))
	if err != nil || skipped != 0 || len(events) != 1 {
		t.Fatalf("parse %s: %d events, %d skipped, err %v", path, len(events), skipped, err)
	}
	return events[0]
}

func ptr[T any](v T) *T { return &v }

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func spanNames(spans []Span) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}

// TestDecodeTestdata decodes every single-event testdata file, the AWS schema
// reference's samples and events recorded from the emulator's Lambda Managed
// Instances mode, and checks concrete fields.
func TestDecodeTestdata(t *testing.T) {
	tests := []struct {
		file      string
		requestID string
		check     func(t *testing.T, v any)
	}{
		{"schema-2022-12-13/platform.initStart.json", "", func(t *testing.T, v any) {
			r := v.(InitStart)
			equal(t, "type", r.InitializationType, "on-demand")
			equal(t, "phase", r.Phase, "init")
			equal(t, "function", r.FunctionName, "myFunction")
			equal(t, "memory", r.InstanceMaxMemory, json.Number("256"))
		}},
		{"schema-2022-12-13/platform.initRuntimeDone.json", "", func(t *testing.T, v any) {
			r := v.(InitRuntimeDone)
			equal(t, "status", r.Status, StatusSuccess)
			equal(t, "spans", spanNames(r.Spans), []string{"someTimeSpan"})
			equal(t, "span duration", r.Spans[0].DurationMs, 70.5)
			equal(t, "span start", r.Spans[0].Start, time.Date(2022, 6, 2, 12, 2, 33, 913e6, time.UTC))
		}},
		{"schema-2022-12-13/platform.initReport.json", "", func(t *testing.T, v any) {
			r := v.(InitReport)
			equal(t, "duration", r.Metrics.DurationMs, 125.33)
			equal(t, "status", r.Status, StatusSuccess)
		}},
		{"schema-2022-12-13/platform.start.json", docRequestID, func(t *testing.T, v any) {
			r := v.(Start)
			equal(t, "version", r.Version, "$LATEST")
			equal(t, "tracing", *r.Tracing, Tracing{SpanID: "54565fb41ac79632", Type: "X-Amzn-Trace-Id",
				Value: "Root=1-62e900b2-710d76f009d6e7785905449a;Parent=0efbd19962d95b05;Sampled=1"})
		}},
		{"schema-2022-12-13/platform.runtimeDone.json", docRequestID, func(t *testing.T, v any) {
			r := v.(RuntimeDone)
			equal(t, "status", r.Status, StatusSuccess)
			equal(t, "errorType", r.ErrorType, "")
			equal(t, "duration", r.Metrics.DurationMs, 140.0)
			equal(t, "producedBytes", r.Metrics.ProducedBytes, ptr[int64](16))
			equal(t, "spans", spanNames(r.Spans), []string{"someTimeSpan"})
			// The reference's sample writes "12:01:23:521Z"; read it anyway.
			equal(t, "span start", r.Spans[0].Start, time.Date(2022, 8, 2, 12, 1, 23, 521e6, time.UTC))
		}},
		{"schema-2022-12-13/platform.runtimeDone-error.json", docRequestID, func(t *testing.T, v any) {
			r := v.(RuntimeDone)
			equal(t, "status", r.Status, StatusError)
			equal(t, "errorType", r.ErrorType, "Runtime.ExitError")
			equal(t, "producedBytes", r.Metrics.ProducedBytes, ptr[int64](15))
			equal(t, "spans", spanNames(r.Spans), []string{SpanResponseLatency})
			equal(t, "latency", r.Spans[0].DurationMs, 23.02)
		}},
		{"schema-2022-12-13/platform.report.json", docRequestID, func(t *testing.T, v any) {
			r := v.(Report)
			equal(t, "metrics", r.Metrics, Metrics{DurationMs: 693.92, BilledDurationMs: ptr[int64](694),
				MemorySizeMB: ptr[int64](128), MaxMemoryUsedMB: ptr[int64](84), InitDurationMs: ptr(397.68)})
			equal(t, "spans", len(r.Spans), 0)
		}},
		{"schema-2022-12-13/platform.restoreStart.json", "", func(t *testing.T, v any) {
			r := v.(RestoreStart)
			equal(t, "instance", r.InstanceID, "82561ce0-53dd-47d1-90e0-c8f5e063e62e")
			equal(t, "runtime", r.RuntimeVersion, "nodejs-14.v3")
		}},
		{"schema-2022-12-13/platform.restoreRuntimeDone.json", "", func(t *testing.T, v any) {
			r := v.(RestoreRuntimeDone)
			equal(t, "status", r.Status, StatusSuccess)
			equal(t, "span duration", r.Spans[0].DurationMs, 80.0)
		}},
		{"schema-2022-12-13/platform.restoreReport.json", "", func(t *testing.T, v any) {
			r := v.(RestoreReport)
			equal(t, "duration", r.Metrics.DurationMs, 15.19)
			equal(t, "spans", spanNames(r.Spans), []string{"someTimeSpan"})
		}},
		{"schema-2022-12-13/platform.extension.json", "", func(t *testing.T, v any) {
			equal(t, "record", v, Extension{Name: "my-telemetry-extension", State: "Ready", Events: []string{"INVOKE", "SHUTDOWN"}})
		}},
		{"schema-2022-12-13/platform.telemetrySubscription.json", "", func(t *testing.T, v any) {
			equal(t, "record", v, SubscriptionEvent{Name: "my-telemetry-extension", State: "Subscribed", Types: []string{"platform", "function"}})
		}},
		{"schema-2022-12-13/platform.logsDropped.json", "", func(t *testing.T, v any) {
			r := v.(LogsDropped)
			equal(t, "bytes", r.DroppedBytes, int64(12345))
			equal(t, "records", r.DroppedRecords, int64(123))
		}},
		{"schema-2022-12-13/function-text.json", "", func(t *testing.T, v any) {
			equal(t, "line", v, LogLine{Message: "[INFO] Hello world, I am a function!"})
		}},
		{"schema-2022-12-13/function-json.json", "79b4f56e-95b1-4643-9700-2807f4e68189", func(t *testing.T, v any) {
			equal(t, "line", v, LogLine{Message: "Hello world, I am a function!", Level: "INFO",
				RequestID: "79b4f56e-95b1-4643-9700-2807f4e68189", Time: time.Date(2022, 10, 12, 0, 3, 50, 0, time.UTC)})
		}},
		{"schema-2022-12-13/extension-text.json", "", func(t *testing.T, v any) {
			equal(t, "message", v.(LogLine).Message, "[INFO] Hello world, I am an extension!")
		}},
		{"schema-2022-12-13/extension-json.json", "79b4f56e-95b1-4643-9700-2807f4e68189", func(t *testing.T, v any) {
			equal(t, "level", v.(LogLine).Level, "INFO")
			equal(t, "message", v.(LogLine).Message, "Hello world, I am an extension!")
		}},

		// Recorded from the emulator in Lambda Managed Instances mode.
		{"schema-2025-01-29/platform.initStart.json", "", func(t *testing.T, v any) {
			r := v.(InitStart)
			equal(t, "type", r.InitializationType, "lambda-managed-instances")
			equal(t, "memory", r.InstanceMaxMemory, json.Number("3154116608"))
		}},
		{"schema-2025-01-29/platform.initRuntimeDone.json", "", func(t *testing.T, v any) {
			equal(t, "status", v.(InitRuntimeDone).Status, StatusSuccess)
		}},
		{"schema-2025-01-29/platform.initReport.json", "", func(t *testing.T, v any) {
			equal(t, "duration", v.(InitReport).Metrics.DurationMs, 17.28)
		}},
		{"schema-2025-01-29/platform.extension.json", "", func(t *testing.T, v any) {
			equal(t, "record", v, Extension{Name: "rec-ext", State: "Ready", Events: []string{"SHUTDOWN"}})
		}},
		{"schema-2025-01-29/platform.telemetrySubscription.json", "", func(t *testing.T, v any) {
			equal(t, "types", v.(SubscriptionEvent).Types, []string{"platform", "function", "extension"})
		}},
		{"schema-2025-01-29/extension-text.json", "", func(t *testing.T, v any) {
			equal(t, "line", v, LogLine{Message: "recorder: a line from the extension"})
		}},
		{"schema-2025-01-29/platform.start.json", "60a254a6-bfec-40f1-9737-13718461c475", func(t *testing.T, v any) {
			r := v.(Start)
			equal(t, "arn", r.FunctionARN, "arn:aws:lambda:us-east-1:123456789012:function:test_function")
			equal(t, "trace", r.Tracing.Value, "Root=1-67890abc-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1")
			equal(t, "spanId", r.Tracing.SpanID, "")
		}},
		{"schema-2025-01-29/platform.start-untraced.json", "c399a402-b045-4bd6-b4a9-d11c24161154", func(t *testing.T, v any) {
			equal(t, "tracing", v.(Start).Tracing, (*Tracing)(nil))
		}},
		{"schema-2025-01-29/function-text.json", "", func(t *testing.T, v any) {
			equal(t, "line", v, LogLine{Message: "handling 60a254a6-bfec-40f1-9737-13718461c475: hello from the function"})
		}},
		{"schema-2025-01-29/platform.report.json", "60a254a6-bfec-40f1-9737-13718461c475", func(t *testing.T, v any) {
			r := v.(Report)
			equal(t, "status", r.Status, StatusSuccess)
			// Managed Instances report durationMs only.
			equal(t, "metrics", r.Metrics, Metrics{DurationMs: 15.264})
			equal(t, "spans", spanNames(r.Spans), []string{SpanResponseLatency, SpanResponseDuration})
			equal(t, "latency", r.Spans[0].DurationMs, 14.98)
			equal(t, "latency start", r.Spans[0].Start, time.Date(2026, 11, 25, 13, 0, 43, 613e6, time.UTC))
			equal(t, "response duration", r.Spans[1].DurationMs, 0.047)
		}},
		{"schema-2025-01-29/platform.report-error.json", "c399a402-b045-4bd6-b4a9-d11c24161154", func(t *testing.T, v any) {
			r := v.(Report)
			equal(t, "status", r.Status, StatusError)
			equal(t, "errorType", r.ErrorType, "Runtime.Unknown")
			equal(t, "maxMemoryUsedMB", r.Metrics.MaxMemoryUsedMB, (*int64)(nil))
		}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			e := readEvent(t, tt.file)
			equal(t, "requestId", e.RequestID(), tt.requestID)
			v, err := e.Decode()
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, v)
		})
	}
	files, _ := filepath.Glob("testdata/schema-*/*.json")
	for _, f := range files {
		if rel, _ := filepath.Rel("testdata", f); !covered[rel] {
			t.Errorf("testdata file %s has no test case", rel)
		}
	}
}

func TestParseBatchTestdata(t *testing.T) {
	tests := []struct {
		file  string
		types []string
	}{
		{"batch-lambda-default.json", []string{TypeInitStart, TypeInitRuntimeDone, TypeInitReport, TypeStart, TypeFunction, TypeRuntimeDone, TypeReport}},
		{"batch-rie-mi-init.json", []string{TypeInitStart, TypeTelemetrySubscription, TypeExtension, TypeExtension, TypeInitRuntimeDone, TypePlatformExtension, TypeInitReport}},
		{"batch-rie-mi-invoke-success.json", []string{TypeStart, TypeFunction, TypeReport}},
		{"batch-rie-mi-invoke-error.json", []string{TypeStart, TypeFunction, TypeReport}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			events, err := ParseBatch(b)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range events {
				types = append(types, e.Type)
				if e.Time.IsZero() {
					t.Errorf("%s: zero time", e.Type)
				}
				if _, err := e.Decode(); err != nil {
					t.Errorf("decode %s: %v", e.Type, err)
				}
			}
			equal(t, "types", types, tt.types)
		})
	}
}

// TestParseBatchAllDocumented checks that one batch holding every documented
// sample decodes, and that Managed Instances batches carry no runtimeDone.
func TestParseBatchAllDocumented(t *testing.T) {
	b, err := os.ReadFile("testdata/batch-all-documented.json")
	if err != nil {
		t.Fatal(err)
	}
	events, err := ParseBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 17 {
		t.Fatalf("got %d events, want 17", len(events))
	}
	for _, e := range events {
		if _, err := e.Decode(); err != nil {
			t.Errorf("decode %s: %v", e.Type, err)
		}
	}
	for _, f := range []string{"batch-rie-mi-invoke-success.json", "batch-rie-mi-invoke-error.json"} {
		b, _ := os.ReadFile(filepath.Join("testdata", f))
		events, _ := ParseBatch(b)
		for _, e := range events {
			if e.Type == TypeRuntimeDone {
				t.Errorf("%s: Managed Instances sent platform.runtimeDone", f)
			}
		}
	}
}

func TestParseBatchTolerant(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		skipped int
		wantErr bool
	}{
		{"empty array", `[]`, 0, 0, false},
		{"not json", `{[`, 0, 0, true},
		{"object, not array", `{"type":"function"}`, 0, 0, true},
		{"bad elements skipped", `[1, "x", {"time":"2022-10-12T00:03:50Z","type":"function","record":"ok"},
			{"time":"yesterday","type":"function","record":"bad time"}, {"time":"2022-10-12T00:03:50Z","record":"no type"}, null]`, 1, 5, false},
		{"unknown type kept", `[{"time":"2022-10-12T00:03:50Z","type":"platform.future","record":{}}]`, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, skipped, err := parseBatch([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			equal(t, "events", len(events), tt.want)
			equal(t, "skipped", skipped, tt.skipped)
		})
	}
}

func TestDecodeUnknownAndBroken(t *testing.T) {
	_, err := Event{Type: "platform.future", Record: json.RawMessage(`{}`)}.Decode()
	if !errors.Is(err, ErrUnknownType) {
		t.Errorf("unknown type: err = %v, want ErrUnknownType", err)
	}
	if _, err := (Event{Type: TypeReport, Record: json.RawMessage(`"text"`)}).Decode(); err == nil {
		t.Error("report with a string record decoded without error")
	}
	if _, err := (Event{Type: TypeFunction, Record: json.RawMessage(`42`)}).Decode(); err == nil {
		t.Error("function with a number record decoded without error")
	}
	if id := (Event{Type: TypeReport, Record: json.RawMessage(`{"requestId":`)}).RequestID(); id != "" {
		t.Errorf("RequestID of broken record = %q", id)
	}
}

func TestLogLine(t *testing.T) {
	tests := []struct {
		name   string
		typ    string
		record string
		want   LogLine
		ok     bool
	}{
		{"text", TypeFunction, `"plain line\n"`, LogLine{Message: "plain line\n"}, true},
		{"json object message", TypeFunction, `{"level":"INFO","requestId":"r1","message":{"a":1}}`,
			LogLine{Level: "INFO", RequestID: "r1", Message: `{"a":1}`}, true},
		{"json missing message", TypeExtension, `{"level":"WARN"}`, LogLine{Level: "WARN"}, true},
		{"not a log event", TypeReport, `"x"`, LogLine{}, false},
		{"number", TypeFunction, `7`, LogLine{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Event{Type: tt.typ, Record: json.RawMessage(tt.record)}.LogLine()
			equal(t, "ok", ok, tt.ok)
			equal(t, "line", got, tt.want)
		})
	}
}
