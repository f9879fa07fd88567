package cli

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateCDNGolden = flag.Bool("update-cdn", false, "rewrite testdata/cdn/golden.txt from the output")

// cdnPath names a sample under testdata/cdn.
func cdnPath(name string) string { return filepath.Join("testdata", "cdn", name) }

// TestCDNEndToEnd joins the emulator runs' summary lines (given the edge ids their requests
// carried) to edge log rows of cached and uncached requests, and checks the whole output.
func TestCDNEndToEnd(t *testing.T) {
	code, out, errs := run(t, "", "cdn", "--cdn-log", cdnPath(cdnW3C), "--cdn-log", cdnPath(cdnJSON), "--file", cdnPath("invocations.log"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden := cdnPath("golden.txt")
	if *updateCDNGolden {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("output differs from %s (go test -run TestCDNEndToEnd -update-cdn rewrites it)\n got:\n%s\nwant:\n%s", golden, out, want)
	}
	wantErr := "bodytrace cdn: skipped 1 malformed line in testdata/cdn/" + cdnW3C + " (first: line 7: 14 tab-separated fields, #Fields names 33)\n" +
		"bodytrace cdn: skipped 1 malformed line in testdata/cdn/" + cdnJSON + " (first: line 3: record lacks x-edge-request-id)\n"
	if errs != wantErr {
		t.Errorf("stderr\n%s\nwant\n%s", errs, wantErr)
	}
}

func TestCDNJSON(t *testing.T) {
	code, out, errs := run(t, "", "cdn", "--json", "--cdn-log", cdnPath(cdnW3C), cdnPath("invocations.log"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8+3+1 { // 8 CDN rows, 3 invocations with no row (D, E, F), the summary
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	var first struct {
		Type, Where, Verdict string
		Edge                 EdgeRow
		Invocation           Invocation
	}
	if err := json.Unmarshal([]byte(lines[1]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Type != "bodytrace.cdn.request" || first.Where != WhereInvoked || first.Verdict != "lost:handler" ||
		first.Invocation.RequestID != "5af81f66-6065-43e4-9599-a6414e7b433c" || first.Edge.RequestID != edgeIDMissB {
		t.Errorf("second line %s", lines[1])
	}
	var sum struct {
		Type    string
		Paths   []PathSummary
		Skipped []Skip
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Type != "bodytrace.cdn.summary" || len(sum.Paths) != 2 || len(sum.Skipped) != 1 || sum.Skipped[0].Lines != 1 {
		t.Errorf("summary %s", lines[len(lines)-1])
	}
}

func TestCDNUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"cdn", cdnPath("invocations.log")}, 2, "give CloudFront logs"},
		{[]string{"cdn", "--cdn-log", cdnPath(cdnW3C)}, 2, "give the invocations' summary lines"},
		{[]string{"cdn", "--cdn-log", cdnPath(cdnW3C), "--log-group", "/aws/lambda/x", cdnPath("invocations.log")}, 2, "one of them"},
		{[]string{"cdn", "--cdn-s3", "bucket/prefix", cdnPath("invocations.log")}, 2, `--cdn-s3 "bucket/prefix": want s3://bucket/prefix`},
		{[]string{"cdn", "--since", "yesterday", "--cdn-log", cdnPath(cdnW3C), cdnPath("invocations.log")}, 2, "--since"},
		{[]string{"cdn", "--cdn-log", cdnPath("missing.gz"), cdnPath("invocations.log")}, 1, "read CDN log: open testdata/cdn/missing.gz"},
		{[]string{"cdn", "--cdn-log", cdnPath("invocations.log"), cdnPath("invocations.log")}, 1, "unknown log layout"},
	} {
		code, _, errs := run(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.err) {
			t.Errorf("%v: exit %d %q, want %d and %q", tc.args, code, errs, tc.code, tc.err)
		}
	}
	if code, out, _ := run(t, "", "help"); code != 0 || !strings.Contains(out, "bodytrace cdn") {
		t.Errorf("help lacks the cdn subcommand:\n%s", out)
	}
}
