package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
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

// logsStandIn is a local stand-in of the CloudWatch Logs API's FilterLogEvents, as
// aws-sdk-go-v2 speaks it (JSON 1.1, X-Amz-Target: Logs_20140328.FilterLogEvents). It is
// not AWS: it checks no signature, applies startTime, and returns its events pageSize at
// a time. It ignores filterPattern, so the reader must skip other lines itself.
type logsStandIn struct {
	mu       sync.Mutex
	events   []logEvent
	pageSize int
	requests []filterRequest
}

type logEvent struct {
	EventID       string `json:"eventId"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	LogStreamName string `json:"logStreamName"`
}

type filterRequest struct {
	LogGroupName  string `json:"logGroupName"`
	StartTime     int64  `json:"startTime"`
	FilterPattern string `json:"filterPattern"`
	NextToken     string `json:"nextToken"`
}

func (s *logsStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "Logs_20140328.FilterLogEvents" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
		return
	}
	var req filterRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	if req.LogGroupName != "/aws/lambda/shop-web" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}`)
		return
	}
	var match []logEvent
	for _, e := range s.events {
		if e.Timestamp >= req.StartTime {
			match = append(match, e)
		}
	}
	from := 0
	fmt.Sscan(req.NextToken, &from)
	to := min(from+s.pageSize, len(match))
	out := map[string]any{"events": match[from:to], "searchedLogStreams": []any{}}
	if to < len(match) {
		out["nextToken"] = fmt.Sprint(to)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *logsStandIn) add(ts int64, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, logEvent{EventID: fmt.Sprintf("ev%03d", len(s.events)), Timestamp: ts, Message: msg, LogStreamName: "2026/11/25/[$LATEST]0123456789abcdef"})
}

// offlineAWS gives the SDK static credentials and keeps it away from this machine's AWS
// configuration and from the instance metadata service.
func offlineAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTANDIN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stand-in-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", "")
}

// logLines loads the log group with every line of the recorded logs (platform lines and
// the extension's own logs included), one event per line, a millisecond apart, ending now.
func logLines(t *testing.T, s *logsStandIn, files ...string) int {
	var lines []string
	for _, f := range files {
		file, err := os.Open(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		file.Close()
	}
	now := time.Now().UnixMilli()
	for i, l := range lines {
		at := now - int64(len(lines)-i)
		// The recorded summary lines carry the time they were recorded: move it to the
		// event's, so --since filters both the same way whenever the test runs.
		if strings.Contains(l, `"type":"bodytrace.invocation"`) {
			l = summaryTime.ReplaceAllString(l, `"time":"`+time.UnixMilli(at).UTC().Format(time.RFC3339Nano)+`"`)
		}
		s.add(at, l)
	}
	return len(lines)
}

var summaryTime = regexp.MustCompile(`"time":"[^"]*"`)

func TestReadLogGroup(t *testing.T) {
	offlineAWS(t)
	api := &logsStandIn{pageSize: 7}
	n := logLines(t, api, "emulator-node-buffered.log", "steps.log")
	srv := httptest.NewServer(api)
	defer srv.Close()

	code, out, errs := run(t, "", "read", "--log-group", "/aws/lambda/shop-web", "--since", "2h", "--verdict", "lost", "--endpoint-url", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 lost (lost:handler, middleware, late write, platform):\n%s", len(rows), out)
	}
	if !strings.Contains(rows[1], "handler 2048 → middleware:sentry 0 → response 0 → platform 107  lost:middleware:sentry") {
		t.Errorf("row %q", rows[1])
	}
	if want := (n + 6) / 7; len(api.requests) != want {
		t.Errorf("%d FilterLogEvents calls for %d events, want %d pages", len(api.requests), n, want)
	}
	first := api.requests[0]
	if first.FilterPattern != `"bodytrace.invocation"` || first.NextToken != "" {
		t.Errorf("first request %+v", first)
	}
	if ago := time.Since(time.UnixMilli(first.StartTime)); ago < 2*time.Hour-time.Minute || ago > 2*time.Hour+time.Minute {
		t.Errorf("startTime %v ago, want --since 2h", ago)
	}
	if api.requests[1].NextToken != "7" {
		t.Errorf("second request did not continue from the first page's token: %+v", api.requests[1])
	}

	code, _, errs = run(t, "", "read", "--log-group", "/aws/lambda/other", "--endpoint-url", srv.URL)
	if code != 1 || !strings.Contains(errs, "read log group /aws/lambda/other") || !strings.Contains(errs, "ResourceNotFoundException") {
		t.Errorf("missing group: exit %d, %q", code, errs)
	}
}

func TestFollowLogGroup(t *testing.T) {
	offlineAWS(t)
	api := &logsStandIn{pageSize: 50}
	srv := httptest.NewServer(api)
	defer srv.Close()
	lines := readLinesOf(t, "steps.log")
	now := time.Now().UnixMilli()
	api.add(now-5000, lines[0])
	api.add(now-4000, lines[1])
	// Two events in the same millisecond: the next poll starts at it again and must not
	// print the first twice.
	api.add(now-3000, lines[2])

	client, err := NewCloudWatchClient(context.Background(), AWSConfig{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	cw := &CloudWatch{Client: client, Group: "/aws/lambda/shop-web", Start: time.Now().Add(-time.Minute), Poll: 10 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	added := false
	err = cw.Each(ctx, true, func(inv Invocation) bool {
		got = append(got, inv.ShortID())
		if !added {
			added = true
			api.add(now-3000, lines[3])
			api.add(now-1000, lines[4])
		}
		return len(got) < 5
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "3f1c2a9e 8a0e4d5b c2b7e9f1 71d3f5a7 e4f6a8b0" {
		t.Errorf("followed rows %v", got)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.requests) < 2 || api.requests[1].StartTime <= api.requests[0].StartTime {
		t.Errorf("follow did not move its start forward: %+v", api.requests)
	}
}

// readLinesOf returns the summary lines of a testdata file, as written.
func readLinesOf(t *testing.T, name string) []string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if _, ok := ParseLine([]byte(l)); ok {
			out = append(out, l)
		}
	}
	return out
}
