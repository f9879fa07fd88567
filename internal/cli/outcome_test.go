package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEmptyResultsHaveTheirOwnExitCodes(t *testing.T) {
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"no input", "", []string{"read"}, ExitNoInput, "no input: stdin was empty"},
		{"no summary lines", "START RequestId: 1\nEND RequestId: 1\n", nil, ExitNoSummary, "no summary lines in 2 lines from stdin"},
		{"none matched", "", []string{"testdata/emulator-node-buffered.log", "--verdict", "lost:platform"}, ExitNoMatch, "none of the 4 summary lines matched"},
		{"too old", "", []string{"--since", "1w", "testdata/steps.log"}, ExitNoMatch, "none of the 5 summary lines matched"},
		{"matched", "", []string{"testdata/steps.log", "--verdict", "lost"}, ExitOK, ""},
	} {
		code, _, errs := run(t, c.stdin, c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, errs, c.code, c.msg)
		}
	}
}

func TestVerdictValuesAreChecked(t *testing.T) {
	code, out, errs := run(t, "", "testdata/steps.log", "--verdict", "lost,lsot:handler")
	if code != ExitUsage || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	for _, want := range []string{`"lsot:handler" is not a verdict`, "delivered, empty-by-design, unknown, lost, lost:handler, lost:middleware[:NAME], lost:late-write[:WHO], lost:streaming, lost:platform"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	for _, ok := range []string{"lost", "lost:middleware", "lost:middleware:sentry", "lost:late-write:@sentry/nextjs", "unknown", "empty-by-design"} {
		if err := CheckVerdicts([]string{ok}); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"lost:", "lost:middleware:", "Lost", "deliverd", "lost:teleport"} {
		if CheckVerdicts([]string{bad}) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTableShowsTheUnknownReason(t *testing.T) {
	code, out, errs := run(t, "", "--verdict", "unknown", "testdata/emulator-go.log")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "unknown (the Runtime API was not observed: on a managed runtime set AWS_LAMBDA_EXEC_WRAPPER=/opt/bodytrace-wrapper") {
		t.Errorf("the unknown row hides its reason:\n%s", out)
	}
	// Other verdicts keep a short row: their reason is on the view's page.
	_, out, _ = run(t, "", "--verdict", "lost:middleware", "testdata/steps.log")
	if !strings.HasSuffix(strings.TrimSpace(out), "lost:middleware:sentry") {
		t.Errorf("a lost row carries more than its verdict:\n%s", out)
	}
}

func TestSinceWeeks(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2w":   now.Add(-14 * 24 * time.Hour),
		"1.5w": now.Add(-252 * time.Hour),
		"3d":   now.Add(-72 * time.Hour),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSince("2x", now); err == nil || !strings.Contains(err.Error(), "2w") {
		t.Errorf("a bad duration's message does not offer weeks: %v", err)
	}
}

// TestViewReadsPipedJSON is the documented pipe: bodytrace read --json ... | bodytrace view.
func TestViewReadsPipedJSON(t *testing.T) {
	_, lines, _ := run(t, "", "--json", "--verdict", "lost", "testdata/steps.log")
	if strings.Count(lines, "\n") != 3 {
		t.Fatalf("read --json gave %q", lines)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"view", "--port", "0"}, Streams{Stdin: strings.NewReader(lines), Stdout: io.Discard, Stderr: pw})
		pw.Close()
	}()
	first, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("view said nothing: %v (exit %d)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	i := strings.Index(first, "http://")
	if !strings.HasPrefix(first, "bodytrace view: stdin on ") || i < 0 {
		t.Fatalf("view's first line %q", first)
	}
	url := strings.Fields(first[i:])[0]
	_, body, _ := get(t, url+"/")
	for _, want := range []string{"3f1c2a9e", "lost:middleware:sentry", "lost:late-write"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Every load shows the lines again, though stdin is read once.
	if _, again, _ := get(t, url+"/"); !strings.Contains(again, "3f1c2a9e") {
		t.Error("the second load lost the piped lines")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("view exited %d", code)
	}
}

func TestAWSErrorsBecomeOneLineHints(t *testing.T) {
	offlineAWS(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached the endpoint without credentials: %s", r.URL)
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	code, _, errs := run(t, "", "--log-group", "/aws/lambda/web", "--endpoint-url", srv.URL)
	if code != ExitFailed || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "no AWS credentials found: give --profile") {
		t.Errorf("no credentials: exit %d, stderr %q", code, errs)
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("[profile shop]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	code, _, errs = run(t, "", "view", "--profile", "nope", "--log-group", "/aws/lambda/web", "--endpoint-url", srv.URL)
	if code != ExitFailed || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, `AWS profile "nope" is not in ~/.aws/config`) {
		t.Errorf("unknown profile: exit %d, stderr %q", code, errs)
	}
}

// TestProfileIsUsed reads a log group with the credentials of the profile --profile names.
func TestProfileIsUsed(t *testing.T) {
	offlineAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[shop]\naws_access_key_id = AKIDSHOP\naws_secret_access_key = s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	api := &logsStandIn{pageSize: 50}
	var keys bytes.Buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys.WriteString(r.Header.Get("Authorization"))
		api.ServeHTTP(w, r)
	}))
	defer srv.Close()
	for _, l := range readLinesOf(t, "steps.log") {
		api.add(time.Now().Add(-time.Minute).UnixMilli(), l)
	}
	code, out, errs := run(t, "", "--profile", "shop", "--since", "4w", "--log-group", "/aws/lambda/shop-web", "--endpoint-url", srv.URL)
	if code != 0 || !strings.Contains(out, "3f1c2a9e") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(keys.String(), "Credential=AKIDSHOP/") {
		t.Errorf("the request was not signed with the profile's key: %q", keys.String())
	}
}
