package e2e

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// corpusCase is one documented real-world bug from examples/corpus: a public issue reproduced
// on the exact npm versions it names, with a healthy twin (the fixed version or the correct
// configuration).
type corpusCase struct {
	name     string // folder under examples/corpus
	stack    string
	versions string // the bug's packages
	twinVers string // the twin's packages
	link     string
	handler  string
	event    string // file under examples/events
	// twinDir is the twin's own folder (other package versions that cannot share a process);
	// empty means the same function answers the twin with ?variant=twin.
	twinDir string
	want    string // the right verdict for the bug
	// known, when set, is bodytrace's verdict today where it is not want, and why: the test
	// pins it (a change either way is noticed) and docs/accuracy.md scores it as wrong.
	known, knownWhy string
	// twinWant is the right verdict for the twin: delivered unless its body is empty by design
	// (either is accepted as no false alarm).
	twinWant string
	env      []string // the function's configuration, the same with and without the layer
}

// corpus lists the cases; each folder's README.md says what the caller gets.
var corpus = []corpusCase{
	{name: "vendia-gzip-353", stack: "Express + compression + @vendia/serverless-express (function URL)",
		versions: "@vendia/serverless-express@4.0.0-rc.8 express@4.21.2 compression@1.7.4", twinVers: "@vendia/serverless-express@4.1.0",
		link: "https://github.com/CodeGenieApp/serverless-express/issues/353", handler: "index.handler", event: "function-url.json", want: "lost:handler"},
	{name: "ase-gzip-73", stack: "Express + compression + aws-serverless-express (API Gateway REST)",
		versions: "aws-serverless-express@3.4.0 express@4.21.2 compression@1.7.4", twinVers: "same, text/html in binaryMimeTypes",
		link: "https://github.com/CodeGenieApp/serverless-express/issues/73", handler: "index.handler", event: "apigw-v1.json", want: "lost:handler"},
	{name: "shttp-png-122", stack: "Express static + serverless-http (function URL)",
		versions: "serverless-http@3.2.0 express@4.21.2", twinVers: "same, binary: ['image/*']",
		link: "https://github.com/dougmoscrop/serverless-http/issues/122", handler: "index.handler", event: "function-url.json", want: "lost:handler"},
	{name: "vendia-octet-645", stack: "Express + @vendia/serverless-express, octet-stream (function URL)",
		versions: "@vendia/serverless-express@4.10.1 express@4.21.2", twinVers: "same, binarySettings.contentTypes",
		link: "https://github.com/CodeGenieApp/serverless-express/issues/645", handler: "index.handler", event: "function-url.json", want: "lost:handler"},
	{name: "shttp-null-270", stack: "Express + serverless-http, handler returns nothing (function URL)",
		versions: "serverless-http@3.2.0 express@4.21.2", twinVers: "same, handler returns the result",
		link: "https://github.com/dougmoscrop/serverless-http/issues/270", handler: "index.handler", event: "function-url.json", want: "lost:handler"},
	{name: "hono-gzip-1294", stack: "hono/aws-lambda + hono/compress, ES module (function URL)",
		versions: "hono@3.3.4", twinVers: "hono@3.4.0",
		link: "https://github.com/honojs/hono/issues/1294", handler: "index.handler", event: "function-url.json", want: "lost:handler"},
	{name: "shttp-koa-base64-163", stack: "Koa + serverless-http, image body (function URL)",
		versions: "serverless-http@3.2.0 koa@2.15.3", twinVers: "same, Buffer body",
		link: "https://github.com/dougmoscrop/serverless-http/issues/163", handler: "index.handler", event: "function-url.json", want: "lost:handler"},
	{name: "sentry-streaming-12815", stack: "@sentry/aws-serverless wrapHandler on a streaming handler, ES module (function URL)",
		versions: "@sentry/aws-serverless@8.27.0", twinVers: "@sentry/aws-serverless@10.11.0",
		link: "https://github.com/getsentry/sentry-javascript/issues/12815", handler: "index.handler", event: "function-url.json",
		twinDir: "twin", want: "lost:middleware:sentry"},
	{name: "datadog-streaming-376", stack: "datadog-lambda-js datadog() on a streaming handler (function URL)",
		versions: "datadog-lambda-js@6.87.0", twinVers: "datadog-lambda-js@6.89.0",
		link: "https://github.com/DataDog/datadog-lambda-js/pull/376", handler: "index.handler", event: "function-url.json",
		twinDir: "twin", want: "lost:middleware:datadog"},
	{name: "otel-streaming-2827", stack: "@opentelemetry/instrumentation-aws-lambda on a streaming handler (function URL)",
		versions: "@opentelemetry/instrumentation-aws-lambda@0.52.0 @opentelemetry/sdk-trace-node@2.0.1", twinVers: "@opentelemetry/instrumentation-aws-lambda@0.57.2",
		link: "https://github.com/open-telemetry/opentelemetry-js-contrib/issues/2827", handler: "index.handler", event: "function-url.json",
		twinDir: "twin", want: "lost:middleware:opentelemetry",
		known: "lost:platform", knownWhy: "the init fails in the runtime client, whose stack names no package; the wrapper's arity change is not reported by the helper",
		env: []string{"NODE_OPTIONS=--experimental-loader=@opentelemetry/instrumentation/hook.mjs --require /var/task/otel.cjs"}},
	{name: "h4ad-chunked-165", stack: "Express (Transfer-Encoding: chunked) + @h4ad/serverless-adapter (ALB)",
		versions: "@h4ad/serverless-adapter@4.0.1 express@4.21.2", twinVers: "@h4ad/serverless-adapter@4.2.0",
		link: "https://github.com/H4ad/serverless-adapter/issues/165", handler: "index.handler", event: "alb.json", want: "lost:handler"},
	{name: "hono-stream-redirect-2401", stack: "hono/aws-lambda streamHandle, redirect, ES module (function URL, streaming)",
		versions: "hono@4.1.3", twinVers: "hono@4.1.5",
		link: "https://github.com/honojs/hono/issues/2401", handler: "index.handler", event: "function-url.json", want: "lost:streaming",
		twinWant: "empty-by-design"},
}

// corpusModules installs (cached) every corpus folder's npm packages and returns their
// node_modules by folder, relative to examples/corpus.
func corpusModules(t *testing.T) map[string]string {
	t.Helper()
	cmd := exec.Command(filepath.Join(localrun.Root(), "scripts", "install-corpus.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("install the corpus' npm packages: %v", err)
	}
	mods := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if rel, dir, ok := strings.Cut(line, " "); ok {
			mods[rel] = dir
		}
	}
	return mods
}

// corpusEvent is the case's trigger event asking for variant ("bug" or "twin"), from a client
// that accepts compressed answers, as browsers do.
func corpusEvent(t *testing.T, name, variant string) []byte {
	t.Helper()
	ev := loadEvent(t, name)
	ev["queryStringParameters"] = map[string]any{"variant": variant}
	if _, ok := ev["rawQueryString"]; ok {
		ev["rawQueryString"] = "variant=" + variant
	}
	if _, ok := ev["multiValueQueryStringParameters"]; ok {
		ev["multiValueQueryStringParameters"] = map[string]any{"variant": []string{variant}}
	}
	if h, ok := ev["headers"].(map[string]any); ok {
		h["accept-encoding"] = "gzip, deflate, br"
	}
	if h, ok := ev["multiValueHeaders"].(map[string]any); ok {
		h["accept-encoding"] = []string{"gzip, deflate, br"}
	}
	out, _ := json.Marshal(ev)
	return out
}

// callerView is what the caller of a function URL or API Gateway would get from the raw
// invoke answer: the HTTP result decoded, a streamed answer split at its prelude, or an error.
type callerView struct {
	null       bool
	funcError  string // errorType of a function error
	status     int
	headers    map[string]string
	body       []byte // after base64
	streamed   bool
	decodeErr  error // content-encoding that does not decode
	decodedLen int
}

var streamPreludeEnd = make([]byte, 8)

func viewCaller(raw []byte) callerView {
	var v callerView
	if len(raw) == 0 {
		// A stream that ended with no prelude and no bytes: a function URL answers 200, no body.
		v.streamed, v.status = true, 200
		return v
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		v.null = true
		return v
	}
	if i := bytes.Index(raw, streamPreludeEnd); i > 0 && raw[0] == '{' {
		var prelude struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
		}
		if json.Unmarshal(raw[:i], &prelude) == nil {
			v.streamed, v.status, v.headers, v.body = true, prelude.StatusCode, prelude.Headers, raw[i+8:]
			return v
		}
	}
	var res struct {
		StatusCode      int                 `json:"statusCode"`
		Headers         map[string]string   `json:"headers"`
		MultiHeaders    map[string][]string `json:"multiValueHeaders"`
		Body            *string             `json:"body"`
		IsBase64Encoded bool                `json:"isBase64Encoded"`
		ErrorType       string              `json:"errorType"`
	}
	if json.Unmarshal(raw, &res) != nil || (res.StatusCode == 0 && res.ErrorType == "") {
		// Not an HTTP result: a plain streamed or returned body.
		v.streamed, v.status, v.body = true, 200, raw
		return v
	}
	if res.ErrorType != "" {
		v.funcError = res.ErrorType
		return v
	}
	v.status, v.headers = res.StatusCode, map[string]string{}
	for k, vs := range res.MultiHeaders {
		if len(vs) > 0 {
			v.headers[strings.ToLower(k)] = vs[0]
		}
	}
	for k, h := range res.Headers {
		v.headers[strings.ToLower(k)] = h
	}
	if res.Body != nil {
		v.body = []byte(*res.Body)
		if res.IsBase64Encoded {
			if b, err := base64.StdEncoding.DecodeString(*res.Body); err == nil {
				v.body = b
			}
		}
	}
	v.decodedLen = len(v.body)
	if v.headers["content-encoding"] == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(v.body))
		if err == nil {
			var n int64
			n, err = io.Copy(io.Discard, zr)
			v.decodedLen = int(n)
		}
		v.decodeErr = err
	}
	return v
}

// healthy reports whether a client could use the answer: a redirect, or a 2xx with a body that
// matches its own headers (decodes, has the declared length, is the image it says it is).
func (v callerView) healthy() bool {
	if v.status >= 300 && v.status <= 399 && v.headers["location"] != "" && v.funcError == "" {
		return true // a redirect: empty by design
	}
	if v.null || v.funcError != "" || v.status < 200 || v.status > 299 || v.decodeErr != nil || len(v.body) == 0 {
		return false
	}
	if cl, err := strconv.Atoi(v.headers["content-length"]); err == nil && cl != len(v.body) {
		return false
	}
	if v.headers["content-type"] == "image/png" && !bytes.HasPrefix(v.body, []byte("\x89PNG")) {
		return false
	}
	// A buffered result is one whole body: HTTP chunk framing in it reaches the client as text.
	return v.streamed || v.headers["transfer-encoding"] != "chunked"
}

func (v callerView) String() string {
	switch {
	case v.null:
		return "null (no HTTP result)"
	case v.funcError != "":
		return "function error " + v.funcError
	}
	s := fmt.Sprintf("%d, %d B body", v.status, len(v.body))
	if loc := v.headers["location"]; loc != "" {
		s += ", location " + loc
	}
	if v.streamed {
		s += " (streamed)"
	}
	if enc := v.headers["content-encoding"]; enc != "" {
		if v.decodeErr != nil {
			s += ", " + enc + " that does not decode"
		} else {
			s += fmt.Sprintf(", %s of %d B", enc, v.decodedLen)
		}
	}
	if cl := v.headers["content-length"]; cl != "" && cl != strconv.Itoa(len(v.body)) {
		s += ", content-length " + cl
	}
	if v.headers["content-type"] == "image/png" && !bytes.HasPrefix(v.body, []byte("\x89PNG")) {
		s += ", not a PNG"
	}
	if !v.streamed && v.headers["transfer-encoding"] == "chunked" {
		s += ", chunk framing in the body"
	}
	return s
}

// dateHeader matches the Date header an HTTP server stamps on each answer (aws-serverless-express
// runs a real one): the one part of a caller's bytes that differs between two runs by design.
var dateHeader = regexp.MustCompile(`"date":\s*"[^"]*"`)

func sameBytesForCaller(a, b []byte) bool {
	return bytes.Equal(dateHeader.ReplaceAll(a, []byte(`"date":""`)), dateHeader.ReplaceAll(b, []byte(`"date":""`)))
}

// corpusRun is one function under the emulator and the caller's answer to each request.
type corpusRun struct {
	answers   [][]byte
	summaries []map[string]any // one per answer, in order
}

// runCorpus starts one emulator for dir and sends events in order; with the layer it waits for
// each invocation's summary line.
func runCorpus(t *testing.T, c corpusCase, major, dir, modules string, noExt bool, events ...[]byte) corpusRun {
	t.Helper()
	// Lambda sets LAMBDA_TASK_ROOT (aws-lambda-ric 4 refuses to start without it) and
	// AWS_EXECUTION_ENV (it picks the runtime client's messages); the emulator leaves both to the
	// runtime's image.
	env := append([]string{"LAMBDA_TASK_ROOT=/var/task", "AWS_EXECUTION_ENV=AWS_Lambda_nodejs" + major + ".x"}, c.env...)
	fn := localrun.Function{Runtime: "node", Node: major, Dir: dir, NodeModules: modules, Handler: c.handler, NoExtension: noExt, Env: env}
	l := StartLambda(t, tools, art, fn, "BODYTRACE_SUMMARY=on")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var run corpusRun
	seen := 0 // summary lines taken so far
	for i, ev := range events {
		got, err := l.Invoke(ctx, ev)
		if err != nil && len(got) == 0 {
			t.Fatalf("invoke %d: %v", i, err)
		}
		run.answers = append(run.answers, got)
		if noExt {
			continue
		}
		// A verdict comes within a second; a missing one is scored (as no verdict) and
		// reported, not fatal, so that the caller's bytes are still compared.
		// Invocations are sequential, so the next new line is this invocation's.
		wait, cancelWait := context.WithTimeout(ctx, 10*time.Second)
		sums, err := l.WaitSummaries(wait, seen+1)
		cancelWait()
		if err != nil {
			t.Errorf("invoke %d: no summary line: %v", i, err)
			run.summaries = append(run.summaries, map[string]any{"verdict": "none", "reason": "no summary line within 10 s"})
			continue
		}
		run.summaries = append(run.summaries, sums[seen])
		seen++
	}
	return run
}

// TestCorpus runs every documented real-world bug of examples/corpus and its healthy twin on
// Lambda's Node.js 22 and 24 runtimes, with the layer and without it, and checks: the caller
// gets the same bytes either way (fail open); the bug reproduces and the twin does not; the twin
// is delivered or empty by design (no false alarm); the bug is not delivered and names the
// stage where the body was lost. Each invocation is scored for docs/accuracy.md.
func TestCorpus(t *testing.T) {
	needParts(t)
	if art.NodeHelper == "" {
		t.Fatal("layer/node/bodytrace.cjs is missing")
	}
	mods := corpusModules(t)
	root := filepath.Join(localrun.Root(), "examples", "corpus")
	for _, major := range localrun.NodeVersions {
		for _, c := range corpus {
			t.Run("node"+major+"/"+c.name, func(t *testing.T) {
				if mods[c.name] == "" || (c.twinDir != "" && mods[c.name+"/"+c.twinDir] == "") {
					t.Fatalf("scripts/install-corpus.sh installed no node_modules for %s (have %v)", c.name, mods)
				}
				dir := filepath.Join(root, c.name)
				bugEv, twinEv := corpusEvent(t, c.event, "bug"), corpusEvent(t, c.event, "twin")
				var bugBase, twinBase, bugLayer, twinLayer []byte
				var bugSum, twinSum map[string]any
				if c.twinDir == "" {
					base := runCorpus(t, c, major, dir, mods[c.name], true, bugEv, twinEv)
					layer := runCorpus(t, c, major, dir, mods[c.name], false, bugEv, twinEv)
					bugBase, twinBase, bugLayer, twinLayer = base.answers[0], base.answers[1], layer.answers[0], layer.answers[1]
					bugSum, twinSum = layer.summaries[0], layer.summaries[1]
				} else {
					twinRel := c.name + "/" + c.twinDir
					twinDir := filepath.Join(root, twinRel)
					bugBase = runCorpus(t, c, major, dir, mods[c.name], true, bugEv).answers[0]
					twinBase = runCorpus(t, c, major, twinDir, mods[twinRel], true, twinEv).answers[0]
					l := runCorpus(t, c, major, dir, mods[c.name], false, bugEv)
					bugLayer, bugSum = l.answers[0], l.summaries[0]
					l = runCorpus(t, c, major, twinDir, mods[twinRel], false, twinEv)
					twinLayer, twinSum = l.answers[0], l.summaries[0]
				}
				bugView, twinView := viewCaller(bugBase), viewCaller(twinBase)
				score := func(healthy bool, sum map[string]any, got callerView, want string) {
					verdict, _ := sum["verdict"].(string)
					reason, _ := sum["reason"].(string)
					row := accuracyRow{Stack: c.stack, Versions: c.versions, Node: major, Case: c.name + " (bug)", Link: c.link,
						CallerGot: got.String(), Expected: want, Verdict: verdict, Reason: reason}
					if healthy {
						row.Versions, row.Case, row.Link, row.Healthy = c.twinVers, c.name+" (healthy twin)", "", true
					}
					recordAccuracy(t, row)
				}
				score(false, bugSum, bugView, c.want)
				score(true, twinSum, twinView, cmp.Or(c.twinWant, "delivered"))

				// Fail open: the layer changes nothing the caller gets.
				if !sameBytesForCaller(bugBase, bugLayer) {
					t.Errorf("fail open: bug answer differs with the layer:\nwithout %.300q\nwith    %.300q", bugBase, bugLayer)
				}
				if !sameBytesForCaller(twinBase, twinLayer) {
					t.Errorf("fail open: twin answer differs with the layer:\nwithout %.300q\nwith    %.300q", twinBase, twinLayer)
				}
				// The reproduction holds: the bug breaks the answer, the twin does not.
				if bugView.healthy() {
					t.Errorf("bug did not reproduce: caller got %s", bugView)
				}
				if !twinView.healthy() {
					t.Errorf("twin is not healthy: caller got %s (%.200q)", twinView, twinBase)
				}
				// Zero false alarms on the twin; the bug is never delivered and names its stage.
				if v := twinSum["verdict"]; v != "delivered" && v != "empty-by-design" {
					t.Errorf("false alarm: healthy twin got %v (%v), caller got %s", v, twinSum["reason"], twinView)
				}
				if v := bugSum["verdict"]; c.known != "" && v != c.known {
					t.Errorf("bug verdict %v (%v), want today's known %s (right would be %s: %s); caller got %s", v, bugSum["reason"], c.known, c.want, c.knownWhy, bugView)
				} else if v := bugSum["verdict"]; c.known == "" && v != c.want {
					t.Errorf("bug verdict %v (%v), want %s; caller got %s", v, bugSum["reason"], c.want, bugView)
				}
				if v := bugSum["verdict"]; v == "delivered" {
					t.Errorf("a bug called delivered: %v", bugSum["reason"])
				}
			})
		}
	}
}
