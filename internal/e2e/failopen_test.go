package e2e

// Fail open for real (issue 18): each case runs the same function with and without the
// bodytrace layer and compares what the caller gets, byte for byte, and how long it waits.
// The latency bound is generous (the no-layer latency + failopenSlack): it catches an
// invocation held until its timeout, not noise. Go functions start directly as the
// bootstrap (provided.al2023 runs no exec wrapper); the bash/curl custom runtime opts in
// to the wrapper itself.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

var requestIDPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// failopenSlack is the latency the layer may add to an invocation in these tests.
const failopenSlack = 2 * time.Second

// failopenTimeout is the function's timeout: a held invocation shows as this, not a hang.
const failopenTimeout = "AWS_LAMBDA_FUNCTION_TIMEOUT=20"

var (
	failopenOnce sync.Once
	failopenBin  string
	failopenErr  error
)

// failopenArt returns the artifacts with the bootstrap replaced: the failopen Go function
// (built once) or, for "curl", the bash/curl custom runtime.
func failopenArt(t *testing.T, bootstrap string) localrun.Artifacts {
	t.Helper()
	a := art
	if bootstrap == "curl" {
		a.GoExample = filepath.Join(localrun.Root(), "internal", "e2e", "testdata", "failopen", "curl-runtime.sh")
		return a
	}
	failopenOnce.Do(func() {
		failopenBin, failopenErr = localrun.Build(filepath.Dir(art.Extension), "./internal/e2e/testdata/failopen", "failopen")
	})
	if failopenErr != nil {
		t.Fatal(failopenErr)
	}
	a.GoExample = failopenBin
	return a
}

// callerResult is what the caller of an invocation got.
type callerResult struct {
	status int
	body   []byte
	err    error
	took   time.Duration
}

func (r callerResult) String() string {
	return fmt.Sprintf("status %d, %d bytes %.160q, err %v, %v", r.status, len(r.body), r.body, r.err, r.took.Round(time.Millisecond))
}

// invokeOnce posts one event and returns what the caller got. In Managed Instances mode
// the emulator refuses an invoke while its one runtime is between /response and /next
// (Lambda would route it elsewhere): that refusal is retried, as localrun.Invoke does.
func invokeOnce(ctx context.Context, l *localrun.Lambda, event string) callerResult {
	for range 100 {
		r := invokeOnceRaw(ctx, l, event)
		if !bytes.Contains(r.body, []byte("Runtime.Unavailable")) {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	return invokeOnceRaw(ctx, l, event)
}

func invokeOnceRaw(ctx context.Context, l *localrun.Lambda, event string) callerResult {
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.InvokeURL, strings.NewReader(event))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return callerResult{err: err, took: time.Since(start)}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return callerResult{status: res.StatusCode, body: b, err: err, took: time.Since(start)}
}

// sameForCaller fails the test when the caller got something else with the layer than
// without it, or waited longer than the no-layer latency plus failopenSlack.
func sameForCaller(t *testing.T, what string, without, with callerResult) {
	t.Helper()
	// The emulator gives each invocation a new request id, which error documents name.
	with.body, without.body = requestIDPattern.ReplaceAll(with.body, []byte("<request-id>")), requestIDPattern.ReplaceAll(without.body, []byte("<request-id>"))
	if with.status != without.status || !bytes.Equal(with.body, without.body) || (with.err == nil) != (without.err == nil) {
		t.Errorf("%s: the caller got a different result with the layer:\n  without: %s\n  with:    %s", what, without, with)
	}
	if with.took > without.took+failopenSlack {
		t.Errorf("%s: the layer added %v (bound %v): without %v, with %v", what, with.took-without.took, failopenSlack, without.took, with.took)
	}
	t.Logf("FIGURES %s: without the layer %v, with it %v (added %v); results identical: %v", what,
		without.took.Round(time.Millisecond), with.took.Round(time.Millisecond), (with.took - without.took).Round(time.Millisecond),
		with.status == without.status && bytes.Equal(with.body, without.body))
}

// goFailopen starts the Go fail-open function with handler, with the layer or without it,
// summary lines on and its step port free.
func goFailopen(t *testing.T, handler string, layer bool) *localrun.Lambda {
	t.Helper()
	return StartLambda(t, tools, failopenArt(t, "go"), localrun.Function{Runtime: "go", Handler: handler, NoExtension: !layer},
		"BODYTRACE_SUMMARY=on", failopenTimeout, "BODYTRACE_STEPS_PORT="+strconv.Itoa(freeUDP(t)))
}

// freeUDP returns a loopback UDP port that was free a moment ago.
func freeUDP(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func freeTCP(t *testing.T) int {
	t.Helper()
	p, err := localrun.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFailOpenStepFlood: 1,100 step lines for random request ids arrive on the step port
// during a 1 s invocation. The live invocation must answer as without the layer, and the
// strays must cost nothing but a counter: one summary per real invocation, none for them.
func TestFailOpenStepFlood(t *testing.T) {
	needParts(t)
	run := func(layer bool) callerResult {
		steps := freeUDP(t)
		l := StartLambda(t, tools, failopenArt(t, "go"), localrun.Function{Runtime: "go", Handler: "slow", NoExtension: !layer},
			"BODYTRACE_SUMMARY=on", failopenTimeout, "BODYTRACE_STEPS_PORT="+strconv.Itoa(steps))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if r := invokeOnce(ctx, l, `{}`); r.status != 200 { // warm: the cold start is not the case
			t.Fatalf("warm-up invoke: %s", r)
		}
		flooded := make(chan int, 1)
		go func() {
			time.Sleep(200 * time.Millisecond)
			c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(steps))
			if err != nil {
				flooded <- 0
				return
			}
			defer c.Close()
			sent := 0
			for i := range 1100 {
				if i%50 == 0 {
					time.Sleep(2 * time.Millisecond) // paced: datagrams past the socket buffer are dropped, not evidence
				}
				line := fmt.Sprintf(`@bodytrace/step {"v":1,"rid":"%016x-forged","seq":0,"stage":"handler","phase":"out","bytes":5}`, rand.Uint64())
				if _, err := c.Write([]byte(line)); err == nil {
					sent++
				}
			}
			flooded <- sent
		}()
		r := invokeOnce(ctx, l, `{}`)
		// Without the layer nothing listens: the kernel refuses every other datagram.
		if n := <-flooded; layer && n != 1100 {
			t.Errorf("sent %d of 1,100 forged step lines", n)
		}
		if layer {
			sums, err := l.WaitSummaries(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			l.Stop() // SHUTDOWN closes whatever is open: strays must still write nothing
			if n := len(l.Summaries()); n != 2 || sums[1]["verdict"] != "delivered" {
				t.Errorf("%d summaries (want 2, one per real invocation); the flooded one says %v", n, sums[1]["verdict"])
			}
		}
		return r
	}
	without, with := run(false), run(true)
	sameForCaller(t, "1,100 forged step lines during a 1 s invocation", without, with)
}

// squatters are programs that may hold the proxy's port before the extension starts.
var squatters = []struct {
	name  string
	start func(t *testing.T, port int)
}{
	{"an HTTP server", func(t *testing.T, port int) {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"not":"the runtime api"}`)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}},
	{"a listener that never answers", func(t *testing.T, port int) {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		var held []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range held {
				c.Close()
			}
		})
	}},
}

// TestFailOpenProxyPortTaken: another program holds the proxy's port. The extension binds
// another and names it in its ready file; the Go probe and the exec wrapper redirect only
// to the proxy proven there, so every invocation answers as without the layer and is
// still observed.
func TestFailOpenProxyPortTaken(t *testing.T) {
	needParts(t)
	for _, sq := range squatters {
		for _, runtime := range []string{"go", "node"} {
			t.Run(sq.name+"/"+runtime, func(t *testing.T) {
				run := func(layer bool) []callerResult {
					port := freeTCP(t)
					if layer {
						sq.start(t, port)
					}
					fn := localrun.Function{Runtime: runtime, Handler: "index.handler", NoExtension: !layer}
					a := art
					event := string(event(t, "function-url.json", map[string]string{"bytes": "300"}))
					if runtime == "go" {
						fn.Handler, a, event = "echo", failopenArt(t, "go"), `{}`
					}
					l := StartLambda(t, tools, a, fn, "BODYTRACE_SUMMARY=on", failopenTimeout, "BODYTRACE_PROXY_PORT="+strconv.Itoa(port))
					ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
					defer cancel()
					var out []callerResult
					for range 3 {
						out = append(out, invokeOnce(ctx, l, event))
					}
					if layer {
						sums, err := l.WaitSummaries(ctx, 3)
						if err != nil {
							t.Errorf("%v: the invocations were not observed", err) // and still compared below
						}
						for i, s := range sums {
							if !observed(s, "runtime-api") || s["verdict"] != "delivered" {
								t.Errorf("summary %d: observed %v verdict %v; want the proxy found on its other port", i, s["observed"], s["verdict"])
							}
						}
					}
					return out
				}
				without, with := run(false), run(true)
				for i := range without {
					sameForCaller(t, fmt.Sprintf("proxy port held by %s, %s invoke %d", sq.name, runtime, i), without[i], with[i])
				}
			})
		}
	}
}

// TestFailOpenIdleConnections: 1,100 idle connections are held open against the proxy
// under Lambda's 1,024-descriptor limit, then a bash/curl custom runtime (a new connection
// per request, results posted with Expect: 100-continue) serves three invocations. Each
// must answer as without the layer, with a delivered verdict.
func TestFailOpenIdleConnections(t *testing.T) {
	needParts(t)
	run := func(layer bool) []callerResult {
		l := StartLambda(t, tools, failopenArt(t, "curl"), localrun.Function{Runtime: "go", Handler: "function.handler", NoExtension: !layer, NoFile: 1024},
			"BODYTRACE_SUMMARY=on", failopenTimeout)
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		out := []callerResult{invokeOnce(ctx, l, `{}`)} // cold: the proxy is up from here
		if layer {
			var idle []net.Conn
			defer func() {
				for _, c := range idle {
					c.Close()
				}
			}()
			for range 1100 {
				c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(l.ProxyPort))
				if err != nil {
					t.Fatalf("idle connection %d: %v", len(idle), err)
				}
				idle = append(idle, c)
			}
		}
		for range 3 {
			out = append(out, invokeOnce(ctx, l, `{}`))
		}
		if layer {
			sums, err := l.WaitSummaries(ctx, 4)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range sums {
				if s["verdict"] != "delivered" || !observed(s, "runtime-api") {
					t.Errorf("summary %d: verdict %v observed %v; want delivered through the proxy", i, s["verdict"], s["observed"])
				}
			}
		}
		return out
	}
	without, with := run(false), run(true)
	for i := range without {
		sameForCaller(t, fmt.Sprintf("bash/curl runtime, 1,100 idle connections, invoke %d", i), without[i], with[i])
	}
}

// TestFailOpenMarshalJSON: a Go result whose MarshalJSON answers differently on each call,
// through steps.Wrap. The caller must get the runtime's first encoding, as without it.
func TestFailOpenMarshalJSON(t *testing.T) {
	needParts(t)
	run := func(layer bool) callerResult {
		l := goFailopen(t, "marshal", layer)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		return invokeOnce(ctx, l, `{}`)
	}
	without, with := run(false), run(true)
	sameForCaller(t, "a stateful MarshalJSON through steps.Wrap", without, with)
}

// TestFailOpenGoPanic: a Go handler that panics inside steps.Wrap. The error the caller
// gets (message, type and every stack frame) must be the one it gets without the layer: no
// frame of bodytrace's in the trace that error reports are made from.
func TestFailOpenGoPanic(t *testing.T) {
	needParts(t)
	run := func(layer bool) callerResult {
		l := goFailopen(t, "panic", layer)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r := invokeOnce(ctx, l, `{}`)
		if layer {
			sums, err := l.WaitSummaries(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if sums[0]["mode"] != "error" || !strings.Contains(fmt.Sprint(sums[0]["reason"]), "error (string)") {
				t.Errorf("summary %v; want mode error, naming the panic's error type", sums[0])
			}
		}
		return r
	}
	without, with := run(false), run(true)
	if !strings.Contains(string(without.body), `"stackTrace"`) || !strings.Contains(string(without.body), "boom") {
		t.Fatalf("without the layer the caller got %q; want aws-lambda-go's panic report", without.body)
	}
	sameForCaller(t, "a panic inside steps.Wrap", without, with)
}

// TestFailOpenInitFailure: a custom runtime reports an init error and exits. The caller
// gets what it gets without the layer, and bodytrace writes a summary saying so.
func TestFailOpenInitFailure(t *testing.T) {
	needParts(t)
	run := func(layer bool) callerResult {
		l := StartLambda(t, tools, failopenArt(t, "curl"), localrun.Function{Runtime: "go", Handler: "initfail", NoExtension: !layer},
			"BODYTRACE_SUMMARY=on", failopenTimeout)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r := invokeOnce(ctx, l, `{}`)
		if layer {
			sums, err := l.WaitSummaries(ctx, 1)
			if err != nil {
				t.Fatalf("%v: no summary for the failed init", err)
			}
			if sums[0]["verdict"] != "lost:platform" || !strings.Contains(fmt.Sprint(sums[0]["reason"]), "init failed") {
				t.Errorf("summary %v; want lost:platform naming the failed init", sums[0])
			}
		}
		return r
	}
	without, with := run(false), run(true)
	// The emulator answers an init failure with its own message, which names no request
	// id; compare it whole.
	sameForCaller(t, "init failure", without, with)
}

// TestFailOpenStreamPanic: a Go function URL handler panics mid-stream, so its runtime
// process dies and the caller gets an error. Ten times over, the caller must get what it
// gets without the layer, and bodytrace must never call the stream delivered.
func TestFailOpenStreamPanic(t *testing.T) {
	needParts(t)
	const runs = 10
	ev := string(event(t, "function-url.json", nil))
	run := func(layer bool) []callerResult {
		l := goFailopen(t, "streampanic", layer)
		ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
		defer cancel()
		var out []callerResult
		for range runs {
			out = append(out, invokeOnce(ctx, l, ev))
		}
		if layer {
			sums, err := l.WaitSummaries(ctx, runs)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range sums {
				if s["verdict"] == "delivered" || !strings.HasPrefix(fmt.Sprint(s["verdict"]), "lost:") {
					t.Errorf("summary %d: verdict %v (%v); want lost:platform or lost:streaming for a stream whose runtime died", i, s["verdict"], s["reason"])
				}
			}
		}
		return out
	}
	without, with := run(false), run(true)
	// Which of two answers the emulator gives is a race of its own (the runtime's error
	// document, or the stream it had taken, under a 502), with the layer or without: every
	// run must have the status of its no-layer twin and one of the answers seen without, or
	// the other answer: the function's own prelude and bytes, cut.
	seen := map[string]bool{}
	for _, r := range without {
		body := requestIDPattern.ReplaceAll(r.body, []byte("<request-id>"))
		seen[string(body)] = true
	}
	for i := range without {
		body := requestIDPattern.ReplaceAll(with[i].body, []byte("<request-id>"))
		if with[i].status != without[i].status || !seen[string(body)] && !cutStream(body) || with[i].took > without[i].took+failopenSlack {
			t.Errorf("run %d: with the layer %s; without %s", i, with[i], without[i])
		}
		t.Logf("FIGURES Go stream panicking mid-stream, run %d: status %d/%d, added %v", i, without[i].status, with[i].status, (with[i].took - without[i].took).Round(time.Millisecond))
	}
}

// cutStream reports whether body is the failopen function's stream as the emulator hands it
// over when the runtime died mid-stream: its function-URL prelude, 8 NULs, then only the
// bytes the function writes ('x'), fewer than it meant to.
func cutStream(body []byte) bool {
	i := bytes.Index(body, make([]byte, 8))
	if i <= 0 || !json.Valid(body[:i]) {
		return false
	}
	return len(bytes.Trim(body[i+8:], "x")) == 0
}

// TestFailOpenForgedVerdicts: while a 1 s invocation runs (Managed Instances mode, where
// telemetry is delivered), another process posts a /response for a request id the Runtime
// API never delivered (refused upstream) and a platform.runtimeDone saying the live
// invocation timed out. The caller must get what it gets without the layer; the live
// invocation must be judged delivered, the forged timeout noted, and the forged response
// must produce no summary.
func TestFailOpenForgedVerdicts(t *testing.T) {
	needParts(t)
	run := func(layer bool) callerResult {
		telemetryPort := freeTCP(t)
		l := StartLambda(t, tools, failopenArt(t, "go"), localrun.Function{Runtime: "go", Handler: "slow", ManagedInstances: true, NoExtension: !layer},
			"BODYTRACE_SUMMARY=on", failopenTimeout, "BODYTRACE_TELEMETRY_PORT="+strconv.Itoa(telemetryPort),
			"BODYTRACE_STEPS_PORT="+strconv.Itoa(freeUDP(t)), "_HANDLER=slow")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if r := invokeOnce(ctx, l, `{}`); r.status != 200 {
			t.Fatalf("warm-up invoke: %s", r)
		}
		done := make(chan callerResult, 1)
		go func() { done <- invokeOnce(ctx, l, `{}`) }()
		var live string
		for deadline := time.Now().Add(10 * time.Second); live == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if ids := requestIDs(l.Log.String()); len(ids) == 2 {
				live = ids[1]
			}
		}
		if live == "" {
			t.Fatalf("the emulator did not start the second invocation:\n%s", l.Log)
		}
		forged := fmt.Sprintf("%08x-0000-4000-8000-%012x", rand.Uint32(), rand.Uint64()&0xffffffffffff)
		res, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/2018-06-01/runtime/invocation/%s/response", l.ProxyPort, forged), "application/json", strings.NewReader(`{"forged":true}`))
		if err == nil {
			res.Body.Close()
		} else if layer {
			t.Errorf("post the forged /response: %v", err)
		}
		batch := fmt.Sprintf(`[{"time":%q,"type":"platform.runtimeDone","record":{"requestId":%q,"status":"timeout","metrics":{"durationMs":1}}}]`,
			time.Now().UTC().Format(time.RFC3339Nano), live)
		res, err = http.Post(fmt.Sprintf("http://127.0.0.1:%d/", telemetryPort), "application/json", strings.NewReader(batch))
		if err == nil {
			res.Body.Close()
		} else if layer {
			t.Errorf("post the forged telemetry: %v", err)
		}
		r := <-done
		if layer {
			sums, err := l.WaitSummaries(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			l.Stop()
			var mine []map[string]any
			for _, s := range l.Summaries() {
				if s["requestId"] == forged {
					t.Errorf("a summary for the forged /response: %v", s)
				}
				if s["requestId"] == live {
					mine = append(mine, s)
				}
			}
			if len(mine) != 1 || mine[0]["verdict"] != "delivered" || !strings.Contains(fmt.Sprint(mine[0]["reason"]), "telemetry says timeout") {
				t.Errorf("summaries for the live invocation %v (all: %d); want one, delivered, noting the forged timeout", mine, len(sums))
			}
		}
		return r
	}
	without, with := run(false), run(true)
	sameForCaller(t, "forged /response and runtimeDone timeout during a 1 s invocation", without, with)
}
