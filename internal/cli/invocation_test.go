package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The emulator-*.log files are the whole output of real runs (platform lines, the
// extension's own JSON logs, summary lines) recorded by TestRecord. steps.log holds lines
// in the same shape with the step stages (handler, middleware, late write) that a function
// with the layer's helpers reports, among CloudWatch-style platform lines.
var recordedLogs = []string{"emulator-node-buffered.log", "emulator-node-stream.log", "emulator-go.log"}

func readAll(t *testing.T, files ...string) []Invocation {
	t.Helper()
	var out []Invocation
	for _, f := range files {
		b, err := os.Open(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := ReadLines(b, func(inv Invocation) bool { out = append(out, inv); return true }); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	return out
}

func TestParseLine(t *testing.T) {
	real := `{"type":"bodytrace.invocation","v":1,"time":"2026-11-25T13:23:35.933234085Z","requestId":"5d9123ac-c7f7-4698-9c7b-d51790944c6d","traceId":"57891aa62055142cef8c5678f8dce393","trigger":"function-url","method":"GET","path":"/bytes","status":200,"mode":"buffered","verdict":"lost:handler","lostAt":"handler","reason":"the function returned status 200 with an empty body","bytes":{"event":872,"response":107,"body":0},"stages":[{"stage":"response","bytes":0,"status":200}],"durationMs":0.572,"observed":["runtime-api"]}`
	for _, c := range []struct {
		name, line string
		want       string // verdict, "" for not a summary line
	}{
		{"summary line", real, "lost:handler"},
		{"after a CloudWatch export's timestamp", "2026-11-25T13:23:35.933Z\t" + real, "lost:handler"},
		{"inside a JSON log record", `{"timestamp":"2026-11-25T13:23:35.933Z","level":"INFO","message":` + quote(real) + `}`, "lost:handler"},
		{"keys in another order", `{"verdict":"delivered","requestId":"r-1","type":"bodytrace.invocation","v":1,"bytes":{}}`, "delivered"},
		{"platform line", "REPORT RequestId: 5d9123ac-c7f7-4698-9c7b-d51790944c6d\tDuration: 2.77 ms", ""},
		{"extension log", `{"time":"2026-11-25T13:23:35.844713915Z","level":"INFO","msg":"registered","ext":"bodytrace"}`, ""},
		{"no request id", `{"type":"bodytrace.invocation","v":1,"verdict":"delivered"}`, ""},
		{"cut short", real[:120], ""},
		{"empty", "", ""},
	} {
		inv, ok := ParseLine([]byte(c.line))
		if got := map[bool]string{true: inv.Verdict}[ok]; got != c.want {
			t.Errorf("%s: verdict %q, want %q", c.name, got, c.want)
		}
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func TestReadRecorded(t *testing.T) {
	got := readAll(t, recordedLogs...)
	var verdicts []string
	for _, inv := range got {
		verdicts = append(verdicts, inv.Verdict)
	}
	want := "delivered lost:handler empty-by-design delivered delivered lost:streaming unknown"
	if strings.Join(verdicts, " ") != want {
		t.Fatalf("verdicts %v, want %s", verdicts, want)
	}
	lost := got[1]
	if len(lost.RequestID) != 36 || lost.ShortID() != lost.RequestID[:8] || lost.Route() != "GET /bytes" ||
		lost.Status != 200 || *lost.Bytes.Body != 0 || *lost.Bytes.Response != 107 || len(lost.Stages) != 2 || !lost.Stages[0].Lost {
		t.Errorf("lost row: %+v", lost)
	}
	if r := got[6].Route(); r != "-" {
		t.Errorf("an invocation with no request observed has route %q, want -", r)
	}
	steps := readAll(t, "steps.log")
	if len(steps) != 5 {
		t.Fatalf("steps.log: %d summary lines, want 5 (the malformed two skipped)", len(steps))
	}
	if s := steps[0].Stages; len(s) != 4 || s[1].Stage != "middleware:sentry" || !s[1].Lost {
		t.Errorf("stages %+v", s)
	}
	if steps[4].Verdict != "empty-by-design" || steps[4].Trigger != "apigw-v2" {
		t.Errorf("the line from a JSON log record: %+v", steps[4])
	}
}

func TestFilter(t *testing.T) {
	all := append(readAll(t, recordedLogs...), readAll(t, "steps.log")...)
	for _, c := range []struct {
		verdicts string
		want     int
	}{
		{"", 12}, {"lost", 5}, {"lost:middleware", 1}, {"lost:handler,lost:streaming", 2},
		{"delivered", 4}, {"unknown", 1}, {"empty-by-design", 2}, {"nothing", 0},
	} {
		f := Filter{Verdicts: ParseVerdicts(c.verdicts)}
		n := 0
		for _, inv := range all {
			if f.Match(inv) {
				n++
			}
		}
		if n != c.want {
			t.Errorf("--verdict %q keeps %d, want %d", c.verdicts, n, c.want)
		}
	}
}
