package e2e

// Faults under the emulator: a trace backend that refuses, stalls or swallows
// connections, an extension that dies, a function that times out mid-stream, SHUTDOWN,
// and Lambda Managed Instances with invocations in flight at once. Nothing asserts a
// wall-clock time: latencies are measured and logged (go test -v) for the report.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// faultFlushTimeout is BODYTRACE_FLUSH_TIMEOUT in the fault tests.
const faultFlushTimeout = 200 * time.Millisecond

// invokeSizes drives n invocations of index.handler, each asking for a distinct body
// size, checks every body, and returns the sizes and the per-invocation latencies.
func invokeSizes(t *testing.T, ctx context.Context, l *localrun.Lambda, n int) ([]int, []time.Duration) {
	t.Helper()
	var sizes []int
	var took []time.Duration
	for i := range n {
		size := 100*i + 7
		start := time.Now()
		got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(size)}))
		took = append(took, time.Since(start))
		if err != nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
		var res httpResult
		if err := json.Unmarshal(got, &res); err != nil || len(res.Body) != size {
			t.Fatalf("invoke %d: caller got %.120s (%v), want a %d-byte body", i, got, err, size)
		}
		sizes = append(sizes, size)
	}
	return sizes, took
}

// checkSummaries waits for one summary per START the emulator logged and checks each
// belongs to its own request with the body size that request asked for.
func checkSummaries(t *testing.T, ctx context.Context, l *localrun.Lambda, sizes []int) []map[string]any {
	t.Helper()
	sums, err := l.WaitSummaries(ctx, len(sizes))
	if err != nil {
		t.Fatalf("%v: summaries lost", err)
	}
	ids := waitStarts(t, ctx, l, len(sizes))
	if len(ids) != len(sizes) || len(sums) != len(sizes) {
		t.Fatalf("%d START lines, %d summaries, %d invocations", len(ids), len(sums), len(sizes))
	}
	for i, s := range sums {
		if s["requestId"] != ids[i] {
			t.Errorf("summary %d is for %v, the emulator started %s", i, s["requestId"], ids[i])
		}
		b, _ := s["bytes"].(map[string]any)
		if b["body"] != float64(sizes[i]) || s["verdict"] != "delivered" {
			t.Errorf("summary %d: bytes %v verdict %v, want body %d delivered", i, b, s["verdict"], sizes[i])
		}
	}
	return sums
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// logLines returns the extension's JSON log lines with the given msg.
func logLines(log, msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `"msg":"`+msg+`"`) {
			continue
		}
		var m map[string]any
		if i := strings.IndexByte(line, '{'); i >= 0 && json.Unmarshal([]byte(line[i:]), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestBackendFaults points the OTLP exporter at a closed port, at a server that stalls
// 10 s before answering, and at a TCP listener that accepts and never reads. Every
// invocation must answer the right body and have its summary; the flush before each
// /next is bounded by BODYTRACE_FLUSH_TIMEOUT, and the failure is logged with the bound.
func TestBackendFaults(t *testing.T) {
	needParts(t)
	const invocations = 20

	stall := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	})}
	stallLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go stall.Serve(stallLn)
	t.Cleanup(func() { stall.Close() })

	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.Map
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			held.Store(c, true) // accepted, never read, never answered
		}
	}()
	t.Cleanup(func() {
		hole.Close()
		held.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	})

	closedPort, err := localrun.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	backends := []struct{ name, endpoint string }{
		{"healthy", "http://" + jaeger.OTLPHTTP},
		{"refused", fmt.Sprintf("http://127.0.0.1:%d", closedPort)},
		{"stall-10s", "http://" + stallLn.Addr().String()},
		{"black-hole", "http://" + hole.Addr().String()},
	}
	var baseline time.Duration
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			service := fmt.Sprintf("e2e-fault-%s-%d", b.name, time.Now().UnixNano())
			l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"},
				"OTEL_EXPORTER_OTLP_ENDPOINT="+b.endpoint, "OTEL_SERVICE_NAME="+service,
				"BODYTRACE_SUMMARY=on", "BODYTRACE_FLUSH_TIMEOUT="+faultFlushTimeout.String())
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sizes, took := invokeSizes(t, ctx, l, invocations)
			checkSummaries(t, ctx, l, sizes)

			warm := took[1:] // the first invocation includes the cold start
			p50, worst := percentile(warm, 0.5), slices.Max(warm)
			if b.name == "healthy" {
				baseline = p50
			}
			if b.name != "healthy" {
				// The extension warns before its next /next; the emulator relays the line on
				// its own schedule: wait for it, bounded.
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := l.WaitLog(wctx, `"msg":"flush"`)
				wcancel()
				if err != nil {
					t.Fatalf("no flush warning logged for a %s backend: %v", b.name, err)
				}
			}
			flushes := logLines(l.Log.String(), "flush")
			t.Logf("FIGURES backend=%s invocations=%d lost=0 cold=%v warm_p50=%v warm_worst=%v added_worst=%v flush_warnings=%d",
				b.name, len(sizes), took[0].Round(time.Millisecond), p50.Round(time.Millisecond), worst.Round(time.Millisecond),
				(worst - baseline).Round(time.Millisecond), len(flushes))
			if b.name == "healthy" {
				if len(flushes) != 0 {
					t.Errorf("flush warnings with a healthy backend: %v", flushes)
				}
				return
			}
			if len(flushes) == 0 {
				t.Fatalf("no flush warning logged for a %s backend", b.name)
			}
			for _, f := range flushes {
				if f["bound"] != faultFlushTimeout.String() {
					t.Errorf("flush warning %v does not state the bound %v", f, faultFlushTimeout)
				}
			}
			if len(flushes) > 1 {
				t.Fatalf("%d flush warnings for %d invocations against a %s backend; want one per outage", len(flushes), invocations, b.name)
			}
		})
	}
}

// extensionPid finds this emulator's extension process: the bodytrace binary under the
// emulator listening on the test's own invoke port (other tests may run emulators too).
func extensionPid(t *testing.T, l *localrun.Lambda) int {
	t.Helper()
	u := strings.TrimPrefix(l.InvokeURL, "http://")
	addr := u[:strings.IndexByte(u, '/')]
	out, _ := exec.Command("pgrep", "-f", "runtime-interface-emulator-address "+addr).Output()
	for _, rie := range strings.Fields(string(out)) {
		kids, _ := exec.Command("pgrep", "-P", rie, "-f", "/opt/extensions/bodytrace").Output()
		if f := strings.Fields(string(kids)); len(f) > 0 {
			pid, _ := strconv.Atoi(f[0])
			return pid
		}
	}
	return 0
}

// TestExtensionKilled kills the extension between invocations: the platform fails the
// next invoke (Extension.Crash), resets, and every later invocation answers. A cold start
// whose proxy cannot listen must answer through the wrapper's fail-open path, with one
// line saying why. An extension that exits during init fails the init in Lambda itself
// (the runtime never starts): recorded, not a bodytrace path.
func TestExtensionKilled(t *testing.T) {
	needParts(t)
	t.Run("current environment", func(t *testing.T) {
		l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, "BODYTRACE_SUMMARY=on")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		sizes, _ := invokeSizes(t, ctx, l, 2)
		checkSummaries(t, ctx, l, sizes)
		pid := extensionPid(t, l)
		if pid == 0 {
			t.Fatalf("extension process not found:\n%s", l.Log)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		mark := len(l.Log.String())
		var answered []int
		for i := range 5 {
			size := 3000 + i
			got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(size)}))
			var res httpResult
			if err == nil && json.Unmarshal(got, &res) == nil && len(res.Body) == size {
				answered = append(answered, i)
				continue
			}
			// The platform notices the dead extension on the next invoke: that invoke fails
			// with Extension.Crash and the environment is reset (Lambda does the same).
			if i != 0 || !strings.Contains(string(got), "Extension.Crash") {
				t.Errorf("after the kill, invoke %d: %v %.200s", i, err, got)
			}
		}
		after := l.Log.String()[mark:]
		t.Logf("FIGURES extension killed: later invocations answered: %v of 0..4; emulator log after the kill:\n%s", answered, tail(after, 40))
		if len(answered) < 4 {
			t.Errorf("only invocations %v answered after the extension died, want every one after the reset", answered)
		}
		// After the reset the extension is back, behind the wrapper again: observed.
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		defer wcancel()
		if sums, err := l.WaitSummaries(wctx, 2+len(answered)); err != nil {
			var got []any
			for _, s := range sums {
				got = append(got, s["requestId"])
			}
			t.Errorf("%v: summaries for %v; the emulator started %v", err, got, requestIDs(l.Log.String()))
		}
	})

	t.Run("proxy port taken", func(t *testing.T) {
		// The proxy's port is taken by a socket that is bound but not listening: the
		// extension binds another port and names it in its ready file, and the wrapper
		// points the runtime there (issue 18, case 2).
		port := boundNotListening(t)
		l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"},
			"BODYTRACE_SUMMARY=on", "BODYTRACE_PROXY_PORT="+strconv.Itoa(port))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		sizes, took := invokeSizes(t, ctx, l, 3)
		// The extension's line is relayed on the emulator's schedule: wait for it, bounded.
		log, err := l.WaitLog(ctx, "runtime API proxy port taken; listening on another, named in the ready file")
		if err != nil {
			t.Fatal(err)
		}
		if why := regexp.MustCompile(`(?m)^.*bodytrace: .*Runtime API not observed.*$`).FindAllString(log, -1); len(why) != 0 {
			t.Errorf("the wrapper bypassed the proxy: %q", why)
		}
		if n := len(logLines(log, "runtime API proxy port taken; listening on another, named in the ready file")); n != 1 {
			t.Errorf("%d warnings from the extension about its port, want 1", n)
		}
		sums, err := l.WaitSummaries(ctx, len(sizes))
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range sums {
			if !strings.Contains(fmt.Sprint(s["observed"]), "runtime-api") || s["verdict"] != "delivered" {
				t.Errorf("summary %d: observed %v verdict %v; want the Runtime API observed on the other port, delivered", i, s["observed"], s["verdict"])
			}
		}
		t.Logf("FIGURES proxy port taken at cold start: %d invocations answered (latencies %v)", len(sizes), took)
	})

	t.Run("extension exits at init", func(t *testing.T) {
		// The extension exits during the first init only: Lambda fails that init with
		// Extension.Crash before it starts the runtime (so no wrapper runs and no fail-open
		// path exists), resets the environment, and the next invocation initialises anew.
		dir := t.TempDir()
		crashed := filepath.Join(dir, "crashed")
		broken := filepath.Join(dir, "bodytrace")
		script := fmt.Sprintf("#!/bin/sh\nif [ ! -e %q ]; then : > %q; echo 'bodytrace: simulated crash' >&2; exit 1; fi\nexec %q \"$@\"\n",
			crashed, crashed, art.Extension)
		if err := os.WriteFile(broken, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		a := art
		a.Extension = broken
		l := StartLambda(t, tools, a, localrun.Function{Runtime: "node", Handler: "index.handler"}, "BODYTRACE_SUMMARY=on")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": "10"}))
		if err == nil {
			t.Fatalf("the invocation whose init lost its extension answered %.200s; want the init to fail", got)
		}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		_, werr := l.WaitLog(wctx, "bodytrace: simulated crash", "Extension.Crash")
		wcancel()
		if werr != nil {
			t.Fatalf("invoke failed with %v %.200s, but: %v", err, got, werr)
		}
		if _, statErr := os.Stat(crashed); statErr != nil {
			t.Fatalf("the extension never ran: %v", statErr)
		}
		sizes, _ := invokeSizes(t, ctx, l, 2)
		sums, err := l.WaitSummaries(ctx, len(sizes))
		if err != nil {
			t.Fatalf("after the reset: %v", err)
		}
		for i, s := range sums {
			if b, _ := s["bytes"].(map[string]any); b["body"] != float64(sizes[i]) || s["verdict"] != "delivered" {
				t.Errorf("after the reset, summary %d: bytes %v verdict %v, want body %d delivered", i, b, s["verdict"], sizes[i])
			}
		}
	})
}

// boundNotListening returns a loopback TCP port held by a socket that is bound (without
// SO_REUSEADDR, so nobody else can bind it) but not listening (connections are refused).
func boundNotListening(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// TestTimeoutMidStream: a streaming function that outlives its 3 s timeout halfway
// through its body. Its record must carry the bytes streamed so far; the next invocation
// (after the emulator re-initialises) must answer in full; and at SHUTDOWN (SIGTERM)
// every invocation has its summary. A first, short invocation initialises the
// environment, so a slow init on a loaded machine cannot spend the timeout before the
// stream starts.
func TestTimeoutMidStream(t *testing.T) {
	needParts(t)
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.stream"},
		"BODYTRACE_SUMMARY=on", "AWS_LAMBDA_FUNCTION_TIMEOUT=3")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if got, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": "100"})); err != nil {
		t.Fatalf("warm-up invoke: %v %.200q", err, got)
	}

	// 20 writes of 500 bytes, 400 ms apart: about 8 s, more than twice the timeout.
	q := map[string]string{"bytes": "10000", "chunk": "500", "delay": "400"}
	got, err := l.Invoke(ctx, event(t, "function-url.json", q))
	t.Logf("timed-out invoke answered %d bytes, err %v: %.200q", len(got), err, got)

	sums, err := l.WaitSummaries(ctx, 2)
	if err != nil {
		t.Fatalf("%v\n%s", err, l.Log)
	}
	s := sums[1]
	b, _ := s["bytes"].(map[string]any)
	resp, _ := b["response"].(float64)
	t.Logf("FIGURES timeout mid-stream: summary verdict=%v mode=%v bytes=%v reason=%v", s["verdict"], s["mode"], b, s["reason"])
	if resp <= 0 || resp >= 10000 {
		t.Errorf("summary response bytes %v, want the partial count (0 < n < 10000 body bytes plus prelude)", b["response"])
	}
	if v, _ := s["verdict"].(string); v == "delivered" {
		t.Errorf("verdict %q for a stream cut by a timeout", v)
	}

	// The environment after the timeout still answers in full.
	q = map[string]string{"bytes": "2000", "chunk": "500"}
	got, err = l.Invoke(ctx, event(t, "function-url.json", q))
	if err != nil {
		t.Fatalf("invoke after the timeout: %v", err)
	}
	if i := strings.Index(string(got), strings.Repeat("\x00", 8)); i < 0 || len(got)-i-8 != 2000 {
		t.Errorf("invoke after the timeout got %d bytes: %.120q", len(got), got)
	}

	l.Stop() // SIGTERM: the emulator sends SHUTDOWN with its 2 s deadline
	ids := requestIDs(l.Log.String())
	sums = l.Summaries()
	seen := map[string]bool{}
	for _, s := range sums {
		seen[s["requestId"].(string)] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("request %s started but has no summary after SHUTDOWN", id)
		}
	}
	if len(ids) < 3 {
		t.Errorf("emulator started %d requests, want 3", len(ids))
	}
}

// TestShutdownFlushesPending: in Lambda Managed Instances mode there is no INVOKE, so
// spans wait in the batch processor (its schedule delay set to a minute here); SIGTERM
// must flush every one of them within the 2 s SHUTDOWN deadline.
func TestShutdownFlushesPending(t *testing.T) {
	needParts(t)
	service := fmt.Sprintf("e2e-shutdown-%d", time.Now().UnixNano())
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler", ManagedInstances: true},
		append(otlpEnv(service), "OTEL_BSP_SCHEDULE_DELAY=60000")...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 5
	for i := range n {
		if _, err := l.Invoke(ctx, event(t, "function-url.json", map[string]string{"bytes": strconv.Itoa(10 + i)})); err != nil {
			t.Fatal(err)
		}
	}
	sums, err := l.WaitSummaries(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	l.Stop()
	for i, s := range sums {
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := jaeger.Trace(tctx, s["traceId"].(string), 1)
		tcancel()
		if err != nil {
			t.Errorf("invocation %d: trace not in Jaeger after SHUTDOWN: %v", i, err)
		}
	}
}

// TestManagedInstancesConcurrent runs the emulator's Lambda Managed Instances mode with
// AWS_LAMBDA_MAX_CONCURRENCY=4 and invocations in flight from several goroutines, each
// asking for a distinct body size: every START has exactly one summary, and each summary's
// bytes are its own caller's.
func TestManagedInstancesConcurrent(t *testing.T) {
	needParts(t)
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler", ManagedInstances: true},
		"BODYTRACE_SUMMARY=on", "AWS_LAMBDA_MAX_CONCURRENCY=4")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const callers, each = 4, 6
	var mu sync.Mutex
	want := map[int]bool{} // sizes asked for and answered in full
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				size := 1000*(c+1) + i
				got, err := l.Invoke(ctx, event(t, "apigw-v2.json", map[string]string{"bytes": strconv.Itoa(size)}))
				var res httpResult
				if err == nil {
					err = json.Unmarshal(got, &res)
				}
				if err == nil && len(res.Body) != size {
					err = fmt.Errorf("caller %d asked for %d bytes, got %d", c, size, len(res.Body))
				}
				if err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				want[size] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sums, err := l.WaitSummaries(ctx, len(want))
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(l.Log.String(), 60))
	}
	ids := requestIDs(l.Log.String())
	byID := map[string]int{}
	for _, s := range sums {
		id := s["requestId"].(string)
		byID[id]++
		b, _ := s["bytes"].(map[string]any)
		size := int(b["body"].(float64))
		if !want[size] {
			t.Errorf("summary %s has body %d, which no caller asked for", id, size)
		}
		delete(want, size) // each size once: two records with one size means a mix-up
	}
	for size := range want {
		t.Errorf("no summary with body %d", size)
	}
	for _, id := range ids {
		if byID[id] != 1 {
			t.Errorf("request %s: %d summaries, want 1", id, byID[id])
		}
	}
	// aws-lambda-ric polls /next one event at a time, so the emulator refuses invokes while
	// its one runtime is busy ("no idle runtimes") and Invoke retries: the callers overlap,
	// the runtime's invocations do not (the loop's own concurrency is unit-tested).
	busy := strings.Count(l.Log.String(), "no idle runtimes")
	t.Logf("FIGURES managed instances x4: %d START lines, %d summaries, %d distinct ids, %d invokes refused as busy and retried",
		len(ids), len(sums), len(byID), busy)
}

// allInvalid sets every BODYTRACE_* and OTEL_* variable the extension, the exporter's SDK
// and the exec wrapper read to an invalid value at once.
var allInvalid = []string{
	"BODYTRACE_PROXY_PORT=abc",
	"BODYTRACE_STEPS_PORT=70000",
	"BODYTRACE_TELEMETRY_PORT=-1",
	"BODYTRACE_SUMMARY=yes",
	"BODYTRACE_FLUSH_TIMEOUT=soon",
	"BODYTRACE_TELEMETRY_WAIT=later",
	"BODYTRACE_LATE_WRITE_WAIT=whenever",
	"BODYTRACE_LOG_LEVEL=verbose",
	"BODYTRACE_STEPS_ADDR=not-an-address",
	"BODYTRACE_NODE_HELPER=/nonexistent/bodytrace.cjs",
	"BODYTRACE_NEXT_WRAPPER=/nonexistent/wrapper",
	"OTEL_EXPORTER_OTLP_ENDPOINT=not a url",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=::",
	"OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=udp",
	"OTEL_EXPORTER_OTLP_HEADERS=no-equals-sign,=,%zz",
	"OTEL_EXPORTER_OTLP_TIMEOUT=-5",
	"OTEL_RESOURCE_ATTRIBUTES==,%,novalue",
	"OTEL_TRACES_SAMPLER=sometimes",
	"OTEL_TRACES_SAMPLER_ARG=two",
	"OTEL_BSP_SCHEDULE_DELAY=abc",
	"OTEL_SERVICE_NAME=",
}

// TestAllConfigInvalid: with every variable invalid at once the function still
// initialises and answers every invocation, and the extension names each invalid
// variable it validates in a config warning.
func TestAllConfigInvalid(t *testing.T) {
	needParts(t)
	l := StartLambda(t, tools, art, localrun.Function{Runtime: "node", Handler: "index.handler"}, allInvalid...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sizes, took := invokeSizes(t, ctx, l, 3)
	// Config warnings are written at start; the emulator relays them on its own schedule.
	log, err := l.WaitLog(ctx, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=")
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, m := range logLines(log, "config") {
		problems = append(problems, fmt.Sprint(m["problem"]))
	}
	for _, v := range []string{"BODYTRACE_PROXY_PORT", "BODYTRACE_STEPS_PORT", "BODYTRACE_TELEMETRY_PORT", "BODYTRACE_SUMMARY",
		"BODYTRACE_FLUSH_TIMEOUT", "BODYTRACE_TELEMETRY_WAIT", "BODYTRACE_LATE_WRITE_WAIT", "BODYTRACE_LOG_LEVEL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		found := false
		for _, p := range problems {
			found = found || strings.HasPrefix(p, v+"=")
		}
		if !found {
			t.Errorf("no config warning names %s; warnings: %q", v, problems)
		}
	}
	wrapper := regexp.MustCompile(`(?m)^bodytrace: .*$`).FindAllString(log, -1)
	t.Logf("FIGURES all config invalid: %d invocations answered (latencies %v); %d config warnings; wrapper said %q; summaries %d",
		len(sizes), took, len(problems), wrapper, len(l.Summaries()))

	var bugs []string
	if strings.Contains(log, "proxy not listening on 127.0.0.1:abc") && len(logLines(log, "registered")) == 1 &&
		!strings.Contains(log, "runtime API proxy not started") {
		bugs = append(bugs, "layer/bodytrace-wrapper:17 builds the proxy address from the raw BODYTRACE_PROXY_PORT (\"abc\") while "+
			"the extension (internal/config/config.go port) falls back to 9140 and listens there: the wrapper probes 127.0.0.1:abc, "+
			"bypasses a running proxy, and the Runtime API goes unobserved; fix: validate the port in the wrapper the same way "+
			"(digits, 1-65535, else 9140), or have the extension advertise the address it bound")
	}
	if len(l.Summaries()) == 0 && len(logLines(log, "flush")) > 0 {
		bugs = append(bugs, "with OTEL_EXPORTER_OTLP_ENDPOINT=\"not a url\" the extension neither reports the variable "+
			"(internal/config/config.go:72 only tests presence) nor falls back: BODYTRACE_SUMMARY auto turns summaries off, "+
			"every flush fails (\"no Host in request URL\") and the user gets no output at all; fix: validate the endpoint "+
			"and treat an invalid one as unset (summary lines)")
	}
	if len(bugs) > 0 {
		t.Fatal(strings.Join(bugs, "; "))
	}
}
