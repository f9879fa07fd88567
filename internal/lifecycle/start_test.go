package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/config"
	"github.com/bodytrace/bodytrace/internal/steps"
	"github.com/bodytrace/bodytrace/steps/ready"
)

// fakeLambda is a stand-in for Lambda's Extensions and Telemetry APIs (AWS itself cannot run
// here; the end-to-end tests run the same order against the emulator). It records each call
// in order, with what was true when it arrived.
type fakeLambda struct {
	t        *testing.T
	cfg      *config.Config
	tempDir  string
	register int // the status /register answers

	mu    sync.Mutex
	calls []string
}

func (f *fakeLambda) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeLambda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/extension/register"):
		f.note("register proxy=%s pipe=%s", f.proxyProven(), f.pipe())
		if f.register != http.StatusOK {
			w.WriteHeader(f.register)
			_, _ = io.WriteString(w, `{"errorType":"Extension.Forbidden","errorMessage":"no"}`)
			return
		}
		w.Header().Set("Lambda-Extension-Identifier", "ext-id")
		_ = json.NewEncoder(w).Encode(map[string]string{"functionName": "fn"})
	case r.URL.Path == "/2022-07-01/telemetry":
		f.note("telemetry")
		w.WriteHeader(http.StatusOK)
	case strings.HasSuffix(r.URL.Path, "/extension/event/next"):
		f.note("next steps=%s", f.stepsBound())
		_ = json.NewEncoder(w).Encode(map[string]any{"eventType": "SHUTDOWN", "shutdownReason": "spindown",
			"deadlineMs": time.Now().Add(2 * time.Second).UnixMilli()})
	default:
		f.note("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

// proxyProven checks what the exec wrapper checks: the ready file names this process and a
// proxy that echoes its nonce.
func (f *fakeLambda) proxyProven() string {
	path, err := ready.Path(f.tempDir, f.cfg.ProxyAddr)
	if err != nil {
		return err.Error()
	}
	file, err := ready.Read(path)
	if err != nil {
		return "no ready file"
	}
	if file.Pid != os.Getpid() {
		return fmt.Sprintf("the ready file names pid %d, not this process", file.Pid)
	}
	// The test binary is not named bodytrace: the name check is ready's own test.
	named := func(int) (string, error) { return ready.ProcessName, nil }
	if err := (ready.Checker{Comm: named, Timeout: 5 * time.Second}).Verify(file); err != nil {
		return "not proven: " + err.Error()
	}
	return "proven"
}

// pipe reports whether the step pipe is there, as the exec wrapper looks for it.
func (f *fakeLambda) pipe() string {
	path, _ := ready.Path(f.tempDir, f.cfg.ProxyAddr)
	if fi, err := os.Stat(steps.FIFOPath(path)); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
		return "made"
	}
	return "missing"
}

// stepsBound reports whether the step port is taken (by the extension's listener).
func (f *fakeLambda) stepsBound() string {
	c, err := net.ListenPacket("udp", f.cfg.StepsAddr)
	if err != nil {
		return "bound"
	}
	c.Close()
	return "free"
}

func freeAddr(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startAgainst(t *testing.T, registerStatus int) (*fakeLambda, string, error) {
	t.Helper()
	cfg := config.Load(func(string) string { return "" })
	cfg.ProxyAddr, cfg.StepsAddr, cfg.TelemetryAddr = freeAddr(t, "tcp"), freeAddr(t, "udp"), "127.0.0.1:0"
	f := &fakeLambda{t: t, cfg: &cfg, tempDir: t.TempDir(), register: registerStatus}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg.RuntimeAPI = strings.TrimPrefix(srv.URL, "http://")
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := Start(ctx, cfg, Process{Name: "bodytrace", Started: time.Now(), Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		Out: io.Discard, TempDir: f.tempDir})
	return f, logs.String(), err
}

// TestStartOrder: the proxy is proven before /register (the runtime may start the moment
// every extension has registered), and the step listener and the telemetry subscription are
// in place before the first /next (after it, the function may run); SHUTDOWN ends with one
// "stopped" line that counts every part; the ready file does not outlive the process's run.
func TestStartOrder(t *testing.T) {
	f, logs, err := startAgainst(t, http.StatusOK)
	if err != nil {
		t.Fatalf("Start: %v\n%s", err, logs)
	}
	want := []string{"register proxy=proven pipe=made", "telemetry", "next steps=bound"}
	if strings.Join(f.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls to Lambda:\n%s\nwant:\n%s\nlog:\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"), logs)
	}
	var stopped map[string]any
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"msg":"stopped"`) {
			if err := json.Unmarshal([]byte(l), &stopped); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, k := range []string{"finished", "runtime_nexts", "step_lines", "step_lines_rejected", "observations_dropped", "telemetry_events", "spans_dropped"} {
		if _, ok := stopped[k]; !ok {
			t.Errorf("the stopped line %v lacks %s", stopped, k)
		}
	}
	if entries, _ := os.ReadDir(f.tempDir + "/bodytrace"); len(entries) != 0 {
		t.Errorf("ready file left behind: %v", entries)
	}
}

// TestStartRegisterRefused: a refused /register is the one error Start returns (Lambda then
// reports the extension's init failure), and nothing is left behind.
func TestStartRegisterRefused(t *testing.T) {
	f, logs, err := startAgainst(t, http.StatusForbidden)
	if err == nil || !strings.Contains(err.Error(), "register") {
		t.Fatalf("Start = %v, want the /register error\n%s", err, logs)
	}
	if strings.Join(f.calls, "\n") != "register proxy=proven pipe=made" {
		t.Errorf("calls to Lambda: %q, want only /register", f.calls)
	}
	if entries, _ := os.ReadDir(f.tempDir + "/bodytrace"); len(entries) != 0 {
		t.Errorf("ready file left behind: %v", entries)
	}
}
