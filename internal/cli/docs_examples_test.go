package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// docsWithExamples are the pages whose shell examples run as tests.
var docsWithExamples = []string{"../../README.md", "../../docs/reference.md", "../../docs/cdn.md", "../../docs/ecosystem.md"}

// example is one documented command line.
type example struct {
	where string // file:line
	line  string
	// stages are the bodytrace commands of a pipeline, each one's args; stdinFromOther is
	// true when something that is not bodytrace (sam logs) pipes into the first.
	stages         [][]string
	stdinFromOther bool
}

// docExamples finds every bodytrace command line in the docs' sh/bash/console blocks.
func docExamples(t *testing.T) []example {
	var out []example
	for _, page := range docsWithExamples {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		inShell := false
		for i, line := range strings.Split(string(b), "\n") {
			if fence, ok := strings.CutPrefix(strings.TrimSpace(line), "```"); ok {
				inShell = !inShell && (fence == "sh" || fence == "bash" || fence == "console" || fence == "shell")
				continue
			}
			if !inShell {
				continue
			}
			if ex, ok := parseExample(line); ok {
				ex.where = fmt.Sprintf("%s:%d", strings.TrimPrefix(page, "../../"), i+1)
				out = append(out, ex)
			}
		}
	}
	return out
}

// parseExample reads a shell line: a bodytrace command (or go run of it), maybe in a pipe.
func parseExample(line string) (example, bool) {
	ex := example{line: strings.TrimSpace(line)}
	code := line
	if i := strings.Index(code, " #"); i >= 0 {
		code = code[:i]
	}
	for n, part := range strings.Split(code, "|") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(part), "$ "))
		switch {
		case len(f) >= 1 && f[0] == "bodytrace":
			ex.stages = append(ex.stages, f[1:])
		case len(f) >= 3 && f[0] == "go" && f[1] == "run" && strings.Contains(f[2], "scripts/bodytrace"):
			ex.stages = append(ex.stages, f[3:])
		case n == 0:
			ex.stdinFromOther = true
		default:
			return example{}, false
		}
	}
	return ex, len(ex.stages) > 0
}

// TestDocumentedExamples runs every documented bodytrace command against recorded data:
// the files the examples name hold the recorded summary lines and CloudFront logs, and
// the AWS APIs and Jaeger are stand-ins (AWS cannot be reached here). Each must exit 0
// and show at least one invocation.
func TestDocumentedExamples(t *testing.T) {
	exs := docExamples(t)
	if len(exs) < 12 {
		t.Fatalf("found %d examples in the docs; the finder is broken", len(exs))
	}
	w := newExampleWorld(t)
	for _, ex := range exs {
		t.Run(ex.where, func(t *testing.T) {
			w.run(t, ex)
		})
	}
}

func TestParseExample(t *testing.T) {
	ex, ok := parseExample("sam logs -n WebFunction --tail | bodytrace   # any log stream on stdin")
	if !ok || !ex.stdinFromOther || len(ex.stages) != 1 || len(ex.stages[0]) != 0 {
		t.Errorf("%+v", ex)
	}
	ex, ok = parseExample("bodytrace --json --verdict lost x.log | bodytrace view")
	if !ok || ex.stdinFromOther || len(ex.stages) != 2 || ex.stages[1][0] != "view" {
		t.Errorf("%+v", ex)
	}
	if _, ok := parseExample("make demo   # see what bodytrace recorded"); ok {
		t.Error("a comment mentioning bodytrace is an example")
	}
	if _, ok := parseExample("bodytrace read x.log | jq .verdict"); ok {
		t.Error("a pipe into another program is run as if it were bodytrace")
	}
}

// exampleWorld is the data and stand-ins the examples run against.
type exampleWorld struct {
	dir    string
	aws    *httptest.Server
	jaeger string
	stdin  string
}

// recordedBase is when the CDN samples were recorded; shifted samples keep the minute.
var recordedBase = time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)

func newExampleWorld(t *testing.T) *exampleWorld {
	offlineAWS(t)
	w := &exampleWorld{dir: t.TempDir()}
	now := time.Now().UTC()
	// Summary lines a few minutes old, so --since 30m keeps them.
	recent := func(name string) string {
		text := string(readSampleFile(t, name))
		return shiftTimes(text, now.Add(-5*time.Minute).Sub(latestTime(t, text)))
	}
	// The CDN samples and their invocations move by whole hours, so the hour in a log
	// object's key still names the hour of its lines: into the hour before this one.
	hours := now.Add(-time.Hour).Truncate(time.Hour).Sub(recordedBase)
	cdnShift := func(name string) string { return shiftTimes(gunzipped(t, readSample(t, name)), hours) }

	for name, body := range map[string]string{
		"exported-logs.txt":   string(readSampleFile(t, "emulator-node-buffered.log")) + string(readSampleFile(t, "emulator-node-stream.log")),
		"summary-lines.jsonl": string(readSampleFile(t, "steps.log")),
		"function.log":        cdnShift("invocations.log"),
		cdnW3C:                gzipped(t, cdnShift(cdnW3C)),
	} {
		if err := os.WriteFile(filepath.Join(w.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.stdin = string(readSampleFile(t, "emulator-node-buffered.log"))

	groups := map[string]*logsStandIn{}
	addGroup := func(group, text string) {
		s := &logsStandIn{pageSize: 100}
		for _, l := range strings.Split(text, "\n") {
			if strings.TrimSpace(l) != "" {
				s.add(now.Add(-2*time.Minute).UnixMilli(), l)
			}
		}
		groups[group] = s
	}
	addGroup("/aws/lambda/web", recent("steps.log"))
	addGroup("/aws/lambda/my-function", recent("steps.log"))
	addGroup("/aws/lambda/shop-web", cdnShift("invocations.log"))
	addGroup("/aws/cloudfront/shop", cdnShift(cdnJSON))
	key := "cf/E2EXAMPLE1D8N." + recordedBase.Add(hours).Format("2006-01-02-15") + ".4f2a9c1d.gz"
	bucket := &s3StandIn{bucket: "my-cdn-logs", pageSize: 10, objects: map[string]s3Object{
		key: {body: []byte(gzipped(t, cdnShift(cdnW3C))), modified: now.Add(-30 * time.Minute)}}}

	w.aws = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "" {
			bucket.ServeHTTP(rw, r)
			return
		}
		// CloudWatch Logs: the stand-in of the group named, which answers to one name.
		body, _ := io.ReadAll(r.Body)
		var req map[string]any
		_ = json.Unmarshal(body, &req)
		g, ok := groups[fmt.Sprint(req["logGroupName"])]
		if !ok {
			g = &logsStandIn{}
		} else {
			req["logGroupName"] = "/aws/lambda/shop-web"
		}
		body, _ = json.Marshal(req)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		g.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.aws.Close)
	// The Jaeger stand-in reads testdata/ relative to where the examples run.
	if err := os.MkdirAll(filepath.Join(w.dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "testdata", "jaeger-traces.json"), readSampleFile(t, "jaeger-traces.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, _ := jaegerStandIn(t, map[string]string{"web": "jaeger-traces.json", "my-function": "jaeger-traces.json"})
	w.jaeger = srv.URL
	return w
}

// run runs one example from the world's directory and checks it showed invocations.
func (w *exampleWorld) run(t *testing.T, ex example) {
	t.Chdir(w.dir)
	stdin := ""
	if ex.stdinFromOther {
		stdin = w.stdin
	}
	for i, args := range ex.stages {
		args = w.adapt(args)
		last := i == len(ex.stages)-1
		if !last {
			code, out, errs := run(t, stdin, args...)
			if code != 0 {
				t.Fatalf("%s: stage %d exit %d: %s", ex.line, i, code, errs)
			}
			stdin = out
			continue
		}
		switch {
		case len(args) > 0 && args[0] == "view":
			w.view(t, ex, stdin, args)
		case contains(args, "-f") || contains(args, "--follow"):
			w.follow(t, ex, stdin, args)
		default:
			code, out, errs := run(t, stdin, args...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", ex.line, code, errs)
			}
			if !strings.Contains(out, "TIME (UTC)") && !strings.Contains(out, "Usage") && !strings.Contains(out, "EDGE") {
				t.Errorf("%s printed no rows:\n%s%s", ex.line, out, errs)
			}
			if strings.Count(out, "\n") < 2 {
				t.Errorf("%s printed %q", ex.line, out)
			}
		}
	}
}

// adapt points the AWS and Jaeger addresses of an example at the stand-ins.
func (w *exampleWorld) adapt(args []string) []string {
	out := append([]string(nil), args...)
	aws := false
	for i, a := range out {
		switch {
		case a == "http://127.0.0.1:16686":
			out[i] = w.jaeger
		case strings.HasPrefix(a, "--log-group") || strings.HasPrefix(a, "--cdn-s3") || strings.HasPrefix(a, "--cdn-log-group"):
			aws = true
		}
	}
	if aws {
		out = append(out, "--endpoint-url", w.aws.URL)
	}
	if len(out) > 0 && out[0] == "view" {
		out = append(out, "--port", "0")
	}
	return out
}

// view serves the page, loads it, and checks it lists invocations.
func (w *exampleWorld) view(t *testing.T, ex example, stdin string, args []string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, args, Streams{Stdin: strings.NewReader(stdin), Stdout: io.Discard, Stderr: pw})
		pw.Close()
	}()
	first, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	i := strings.LastIndex(first, "http://") // the view's own address comes last
	if err != nil || i < 0 {
		t.Fatalf("%s: view said %q (%v), exit %d", ex.line, first, err, <-done)
	}
	code, body, _ := get(t, strings.Fields(first[i:])[0]+"/")
	if code != 200 || !strings.Contains(body, "/invocations/") {
		t.Errorf("%s: the page (%d) lists no invocation:\n%.2000s", ex.line, code, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("%s: exit %d", ex.line, code)
	}
}

// follow reads until the first row arrives, then interrupts, as Ctrl-C would.
func (w *exampleWorld) follow(t *testing.T, ex example, stdin string, args []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := &firstWrite{done: make(chan struct{})}
	go func() {
		select {
		case <-out.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	var errb bytes.Buffer
	code := Main(ctx, args, Streams{Stdin: strings.NewReader(stdin), Stdout: out, Stderr: &errb})
	select {
	case <-out.done:
	default:
		t.Fatalf("%s: no row before the bound; exit %d: %s", ex.line, code, errb.String())
	}
	if code != 0 {
		t.Errorf("%s: exit %d after the interrupt: %s", ex.line, code, errb.String())
	}
}

// firstWrite closes done at the first write.
type firstWrite struct {
	once sync.Once
	done chan struct{}
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(func() { close(f.done) })
	return len(p), nil
}

func contains(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

func readSampleFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gunzipped is b, decompressed when it is gzip.
func gunzipped(t *testing.T, b []byte) string {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return string(b)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func gzipped(t *testing.T, s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Times in the samples: RFC 3339 (summary lines), and date and time fields (CloudFront,
// W3C tab-separated and v2 JSON).
var (
	rfc3339Re = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`)
	w3cRe     = regexp.MustCompile(`(\d{4}-\d{2}-\d{2})\t(\d{2}:\d{2}:\d{2})`)
	v2Re      = regexp.MustCompile(`"date":"(\d{4}-\d{2}-\d{2})","time":"(\d{2}:\d{2}:\d{2})"`)
)

// shiftTimes moves every time in text by d.
func shiftTimes(text string, d time.Duration) string {
	text = rfc3339Re.ReplaceAllStringFunc(text, func(s string) string {
		tm, _ := time.Parse(time.RFC3339Nano, s)
		return tm.Add(d).Format(time.RFC3339Nano)
	})
	pair := func(re *regexp.Regexp, format string) {
		text = re.ReplaceAllStringFunc(text, func(s string) string {
			m := re.FindStringSubmatch(s)
			tm, _ := time.Parse("2006-01-02 15:04:05", m[1]+" "+m[2])
			tm = tm.Add(d)
			return fmt.Sprintf(format, tm.Format("2006-01-02"), tm.Format("15:04:05"))
		})
	}
	pair(w3cRe, "%s\t%s")
	pair(v2Re, `"date":"%s","time":"%s"`)
	return text
}

// latestTime is the newest RFC 3339 time in text.
func latestTime(t *testing.T, text string) time.Time {
	var latest time.Time
	for _, s := range rfc3339Re.FindAllString(text, -1) {
		if tm, err := time.Parse(time.RFC3339Nano, s); err == nil && tm.After(latest) {
			latest = tm
		}
	}
	if latest.IsZero() {
		t.Fatal("no time in the sample")
	}
	return latest
}
