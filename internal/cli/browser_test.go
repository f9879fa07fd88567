package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// chromiumPath is Debian's Chromium, which scripts/install-chromium.sh installs.
const chromiumPath = "/usr/bin/chromium"

// screenshotPath is the README's picture of the view, rewritten by TestBrowserView.
var screenshotPath = filepath.Join(localrun.Root(), "docs", "view.png")

// needChromium skips without Chromium, unless CI is set: there a missing browser fails.
func needChromium(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser check skipped in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: run scripts/install-chromium.sh (as root)", chromiumPath)
		}
		t.Skipf("%s is missing: run scripts/install-chromium.sh (as root) for the browser check", chromiumPath)
	}
}

// browser starts a headless Chromium with a fresh profile, stopped when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // Chromium refuses to run as root with its sandbox
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// detailPage is what a person sees on one invocation's page.
type detailPage struct {
	Verdict, Words, LostLabel, LostTag string
	Screenshot                         []byte
}

// openDetail opens the view's page for request id and reads it the way a person would:
// only text that is visible counts.
func openDetail(t *testing.T, ctx context.Context, base, id string) detailPage {
	t.Helper()
	var p detailPage
	steps := func(ctx context.Context) error {
		if err := chromedp.Do(ctx,
			chromedp.EmulateViewport(1100, 900),
			chromedp.Navigate(base+"/invocations/"+url.PathEscape(id)),
			chromedp.WaitVisible(chromedp.ID("verdict")),
			chromedp.WaitVisible(chromedp.CSS(".bar-lost")),
		); err != nil {
			return err
		}
		var err error
		for _, read := range []struct {
			into *string
			sel  chromedp.CSS
		}{{&p.Verdict, "#verdict"}, {&p.Words, "#verdict-words"}, {&p.LostLabel, ".bar-lost .label"}, {&p.LostTag, "#lost-stage"}} {
			if *read.into, err = chromedp.Run(ctx, chromedp.Text(read.sel)); err != nil {
				return err
			}
		}
		p.Screenshot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		return err
	}
	// The first Run starts the browser and must not carry a timeout; later ones may.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := steps(tctx); err != nil {
		t.Fatalf("open %s in Chromium: %v", id, err)
	}
	return p
}

func TestBrowserView(t *testing.T) {
	needChromium(t)
	v, err := NewView(Files{Paths: testdata("steps.log")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler())
	defer srv.Close()

	p := openDetail(t, browser(t), srv.URL, "3f1c2a9e-5b7d-4e21-9c0a-6d2e8f4b1a70")
	if p.Verdict != "lost:middleware:sentry" {
		t.Errorf("visible verdict %q", p.Verdict)
	}
	if !strings.HasPrefix(p.Words, "Lost in middleware sentry") {
		t.Errorf("visible verdict words %q", p.Words)
	}
	if !strings.Contains(p.LostLabel, "middleware sentry") || !strings.EqualFold(p.LostTag, "bytes vanished here") {
		t.Errorf("the failing stage shows %q / %q", p.LostLabel, p.LostTag)
	}
	if len(p.Screenshot) < 1000 || string(p.Screenshot[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(p.Screenshot))
	}
	if err := os.WriteFile(screenshotPath, p.Screenshot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", screenshotPath)
}

// TestBrowserViewLive runs the Node.js example under the Lambda emulator with the
// extension, asks for a 200 with an empty body, and opens the view on the summary line the
// extension wrote. It skips when the emulator's parts are not installed (make tools).
func TestBrowserViewLive(t *testing.T) {
	needChromium(t)
	tools, err := localrun.FindTools()
	if err != nil {
		t.Skip(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("the emulator needs root (a private mount namespace)")
	}
	art, err := localrun.BuildArtifacts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := localrun.Launch(tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, "BODYTRACE_SUMMARY=on")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := l.Invoke(ctx, recordEvent(t, map[string]string{"empty": "1"}, nil)); err != nil {
		t.Fatal(err)
	}
	sums, err := l.WaitSummaries(ctx, 1)
	if err != nil {
		t.Fatalf("%v\n%s", err, l.Log)
	}
	line, _ := json.Marshal(sums[0])
	file := filepath.Join(t.TempDir(), "live.jsonl")
	if err := os.WriteFile(file, append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, ok := ParseLine(line)
	if !ok || inv.Verdict != "lost:handler" {
		t.Fatalf("the extension wrote %s", line)
	}

	v, err := NewView(Files{Paths: []string{file}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler())
	defer srv.Close()
	p := openDetail(t, browser(t), srv.URL, inv.RequestID)
	if p.Verdict != "lost:handler" || !strings.HasPrefix(p.Words, "Lost in the handler") {
		t.Errorf("visible verdict %q: %q", p.Verdict, p.Words)
	}
	if !strings.HasPrefix(p.LostLabel, "handler") || !strings.EqualFold(p.LostTag, "bytes vanished here") {
		t.Errorf("the failing stage shows %q / %q", p.LostLabel, p.LostTag)
	}
}
