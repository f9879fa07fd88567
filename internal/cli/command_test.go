package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, Streams{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func testdata(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join("testdata", n))
	}
	return out
}

func TestReadFiles(t *testing.T) {
	code, out, errs := run(t, "", testdata("emulator-node-buffered.log", "steps.log")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 1+4+5 {
		t.Fatalf("%d lines, want a header and 9 rows:\n%s", len(lines), out)
	}
	if !strings.HasPrefix(lines[0], "TIME (UTC)") || !strings.Contains(lines[0], "VERDICT") {
		t.Errorf("header %q", lines[0])
	}
	for _, want := range []string{
		"GET /bytes                   200  handler 0 → response 0 ",
		"3f1c2a9e  GET /api/products            200  handler 2048 → middleware:sentry 0 → response 0 → platform 107  lost:middleware:sentry",
		"2026-11-25 12:02:31  71d3f5a7  GET /api/export                -  platform 0",
		"lost:late-write:@sentry/nextjs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour codes in output to a buffer:\n%q", out)
	}
	// The verdict column lines up: every row's verdict starts where the header's does.
	col := strings.Index(lines[0], "VERDICT")
	for _, l := range lines[1:] {
		if len([]rune(l)) < col || strings.HasPrefix(string([]rune(l)[col-1:]), "  ") {
			t.Errorf("misaligned row %q", l)
		}
	}
}

func TestReadWithoutStagesShowsBytes(t *testing.T) {
	line := `{"type":"bodytrace.invocation","v":1,"time":"2026-11-25T13:04:32.48Z","requestId":"95c3e75e-0a1b-4c2d-8e3f-405162738495","traceId":"884f4952aa0b4c6d8e9f0a1b2c3d4e5f","coldStart":true,"trigger":"function-url","method":"GET","path":"/bytes","status":200,"mode":"buffered","verdict":"lost:handler","lostAt":"handler","reason":"the function returned status 200 with an empty body","bytes":{"event":872,"response":107,"body":0},"durationMs":1.226,"observed":["runtime-api"]}`
	code, out, _ := run(t, line+"\n", "read")
	if code != 0 || !strings.Contains(out, "95c3e75e  GET /bytes                   200  event 872 → response 107 → body 0") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestReadStdinAndFilter(t *testing.T) {
	var in bytes.Buffer
	for _, f := range testdata(append(recordedLogs, "steps.log")...) {
		b, _ := os.ReadFile(f)
		in.Write(b)
	}
	code, out, _ := run(t, in.String(), "--verdict", "lost")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
	if len(rows) != 5 {
		t.Fatalf("%d rows, want the 5 lost ones:\n%s", len(rows), out)
	}
	for _, r := range rows {
		if !strings.Contains(r, "lost:") {
			t.Errorf("row without a lost verdict: %q", r)
		}
	}
	code, out, _ = run(t, in.String(), "read", "--verdict", "lost:streaming,unknown", "-")
	if n := strings.Count(out, "\n"); code != 0 || n != 3 {
		t.Errorf("exit %d, %d lines for lost:streaming,unknown:\n%s", code, n, out)
	}
}

func TestReadSince(t *testing.T) {
	// An absolute --since is a fixed cut: the rows of steps.log from 14:02:15 on.
	code, out, _ := run(t, "", "--since", "2026-11-25T12:02:15Z", "testdata/steps.log")
	if n := strings.Count(out, "\n"); code != 0 || n != 1+3 || strings.Contains(out, "3f1c2a9e") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestReadJSON(t *testing.T) {
	code, out, _ := run(t, "", "--json", "--verdict", "lost:middleware", "testdata/steps.log")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &s); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, out)
	}
	if s["type"] != "bodytrace.invocation" || s["verdict"] != "lost:middleware:sentry" || s["stages"] == nil {
		t.Errorf("line %v", s)
	}
	// The output reads back as input.
	if code, again, _ := run(t, out, "read"); code != 0 || !strings.Contains(again, "lost:middleware:sentry") {
		t.Errorf("--json output does not read back: %s", again)
	}
}

func TestReadUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--follow", "x.log"}, 2, "--follow needs --log-group"},
		{[]string{"--since", "yesterday"}, 2, "want a duration"},
		{[]string{"--log-group", "/aws/lambda/x", "x.log"}, 2, "not both"},
		{[]string{"testdata/none.log"}, 1, "no such file"},
		{[]string{"view"}, 3, "no input: stdin was empty"},
		{[]string{"view", "--jaeger", "http://127.0.0.1:1", "testdata/steps.log"}, 2, "give one source"},
	} {
		code, _, errs := run(t, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.msg)
		}
	}
	if code, out, _ := run(t, "", "help"); code != 0 || !strings.Contains(out, "bodytrace view") {
		t.Errorf("help: exit %d %q", code, out)
	}
	if code, _, errs := run(t, "", "read"); code != ExitNoInput || !strings.Contains(errs, "no input") {
		t.Errorf("empty input: exit %d, stderr %q", code, errs)
	}
}

func TestColour(t *testing.T) {
	var b bytes.Buffer
	tab := NewTable(&b, true)
	for _, inv := range readAll(t, "steps.log")[:3] {
		if err := tab.Row(inv); err != nil {
			t.Fatal(err)
		}
	}
	out := b.String()
	for _, want := range []string{
		ansiRed + "lost:middleware:sentry" + ansiReset,
		ansiGreen + "delivered" + ansiReset,
		ansiRed + "middleware:sentry 0" + ansiReset, // the lost stage
	} {
		if !strings.Contains(out, want) {
			t.Errorf("coloured output lacks %q:\n%q", want, out)
		}
	}
	var neutral bytes.Buffer
	_ = NewTable(&neutral, true).Row(readAll(t, "steps.log")[4])
	if !strings.Contains(neutral.String(), ansiYellow+"empty-by-design") {
		t.Errorf("empty-by-design not yellow: %q", neutral.String())
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if UseColour(f) {
		t.Error("colour for a regular file")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		t.Setenv("NO_COLOR", "")
		if UseColour(tty) {
			t.Error("colour on a terminal with NO_COLOR set (even empty)")
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for in, back := range map[string]time.Duration{
		"1h": time.Hour, "90m": 90 * time.Minute, "2d": 48 * time.Hour, "2026-11-25T11:30:00Z": 30 * time.Minute,
		"2026-11-26T00:00:00Z": -12 * time.Hour,
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(now.Add(-back)) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, now.Add(-back))
		}
	}
	if got, err := parseSince("", now); err != nil || !got.IsZero() {
		t.Errorf("parseSince(\"\") = %v, %v; want no bound", got, err)
	}
	for _, bad := range []string{"-1h", "0s", "soon"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q): no error", bad)
		}
	}
}
