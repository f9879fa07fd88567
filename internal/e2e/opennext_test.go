package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

// openNextVersions are the exact versions examples/opennext/package-lock.json pins.
const openNextVersions = "next@16.4.6 @opennextjs/aws@4.2.0 @sentry/nextjs@7.97.0"

// openNextSentryIssue is the public report of the seed's case: an API route wrapped by
// @sentry/nextjs answers 200 with an empty body under OpenNext's buffered wrapper.
const openNextSentryIssue = "https://github.com/opennextjs/opennextjs-aws/issues/177"

// openNextBuilds returns OpenNext's server function folder for each wrapper, as
// scripts/install-opennext.sh built (or found cached) them.
func openNextBuilds(t *testing.T) map[string]string {
	t.Helper()
	cmd := exec.Command(filepath.Join(localrun.Root(), "scripts", "install-opennext.sh"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("build the OpenNext example: %v\n%s", err, stderr.Bytes())
	}
	builds := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if w, dir, ok := strings.Cut(line, " "); ok {
			builds[w] = dir
		}
	}
	for _, w := range []string{"aws-lambda", "aws-lambda-streaming"} {
		if builds[w] == "" {
			t.Fatalf("scripts/install-opennext.sh printed no %s build: %q", w, out)
		}
	}
	return builds
}

// openNextCase is one request to the OpenNext example and what it should come to.
type openNextCase struct {
	name        string
	path        string
	conditional bool   // send If-None-Match with the etag of the previous answer
	healthy     bool   // the caller gets the whole body (or none, by design)
	status      int    // the status the caller gets
	emptyBody   bool   // the caller gets no body
	verdict     string // the right verdict
	link        string // the public issue the case reproduces
}

// openNextCases are the requests sent, in order, to each build. The Sentry route's caller gets
// 200 and an empty body under the buffered wrapper (the seed's case) and the whole body when
// streamed: OpenNext's streaming wrapper waits for the response's end.
func openNextCases(wrapper string) []openNextCase {
	sentry := openNextCase{name: "API route wrapped by @sentry/nextjs (res.end deferred)", path: "/api/sentry", status: 200}
	if wrapper == "aws-lambda" {
		sentry.emptyBody, sentry.verdict, sentry.link = true, "lost:late-write:sentry", openNextSentryIssue
	} else {
		sentry.healthy, sentry.verdict = true, "delivered"
	}
	return []openNextCase{
		{name: "JSON API route (App Router)", path: "/api/json", healthy: true, status: 200, verdict: "delivered"},
		{name: "streamed route, 8 chunks (App Router)", path: "/api/stream", healthy: true, status: 200, verdict: "delivered"},
		{name: "API route with an etag (Pages Router)", path: "/api/etag", healthy: true, status: 200, verdict: "delivered"},
		{name: "If-None-Match with that etag: 304", path: "/api/etag", conditional: true, healthy: true, status: 304, emptyBody: true, verdict: "empty-by-design"},
		sentry,
	}
}

// openNextEvent is a function URL event (API Gateway v2 payload) for a GET of path.
func openNextEvent(t *testing.T, path, ifNoneMatch string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event(t, "function-url.json", nil), &ev); err != nil {
		t.Fatal(err)
	}
	ev["rawPath"], ev["rawQueryString"] = path, ""
	delete(ev, "queryStringParameters")
	ev["requestContext"].(map[string]any)["http"].(map[string]any)["path"] = path
	if ifNoneMatch != "" {
		ev["headers"].(map[string]any)["if-none-match"] = ifNoneMatch
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// openNextAnswer is what a function URL caller got: status, headers and body, from a buffered
// result or from a stream's prelude and the bytes after it.
type openNextAnswer struct {
	status  int
	headers map[string]string
	body    []byte
}

func parseOpenNextAnswer(raw []byte, streaming bool) (openNextAnswer, error) {
	var meta struct {
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if !streaming {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return openNextAnswer{}, fmt.Errorf("buffered result: %w: %.200q", err, raw)
		}
		if meta.IsBase64Encoded {
			return openNextAnswer{}, fmt.Errorf("unexpected base64 body: %.200q", raw)
		}
		return openNextAnswer{meta.StatusCode, meta.Headers, []byte(meta.Body)}, nil
	}
	// The function URL stream: the prelude's JSON, 8 NUL bytes, then the body.
	i := bytes.Index(raw, make([]byte, 8))
	if i < 0 {
		return openNextAnswer{}, fmt.Errorf("no prelude in the stream: %.200q", raw)
	}
	if err := json.Unmarshal(raw[:i], &meta); err != nil {
		return openNextAnswer{}, fmt.Errorf("stream prelude: %w: %.200q", err, raw[:i])
	}
	return openNextAnswer{meta.StatusCode, meta.Headers, raw[i+8:]}, nil
}

// fakeSentry stands in for Sentry's ingestion endpoint (sentry.io cannot be reached here): it
// accepts every envelope. The SDK's flush is a real HTTP round trip to it, as in production, and
// that round trip is what delays res.end past OpenNext's snapshot. It returns the DSN to use.
func fakeSentry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	return "http://public@" + srv.Listener.Addr().String() + "/1"
}

// openNextRun is one build run under the emulator on one Node.js version, with or without
// bodytrace, and what each case's caller got (raw bytes, in openNextCases' order).
func openNextRun(t *testing.T, dir, wrapper, node string, withLayer bool) (raw [][]byte, sums []map[string]any) {
	t.Helper()
	fn := localrun.Function{Runtime: "node", Node: node, Dir: dir, Whole: true, Handler: "index.handler", NoExtension: !withLayer}
	l := StartLambda(t, tools, art, fn, "BODYTRACE_SUMMARY=on", "SENTRY_DSN="+fakeSentry(t))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	etag := ""
	for _, c := range openNextCases(wrapper) {
		inm := ""
		if c.conditional {
			inm = etag
		}
		got, err := l.Invoke(ctx, openNextEvent(t, c.path, inm))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		a, err := parseOpenNextAnswer(got, wrapper == "aws-lambda-streaming")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if a.headers["etag"] != "" {
			etag = a.headers["etag"]
		}
		raw = append(raw, got)
	}
	if withLayer {
		var err error
		if sums, err = l.WaitSummaries(ctx, len(raw)); err != nil {
			t.Fatal(err)
		}
	}
	return raw, sums
}

// TestOpenNext runs a real Next.js app built with @opennextjs/aws (both server wrappers) on
// Lambda's Node.js 22 and 24 runtimes, once without bodytrace and once with the layer, and
// checks for each request that the caller got the same bytes either way (fail open), that the
// app behaves as reported (the Sentry-wrapped route is empty only under the buffered wrapper),
// and that bodytrace's verdict is the right one.
func TestOpenNext(t *testing.T) {
	needParts(t)
	builds := openNextBuilds(t)
	for _, major := range localrun.NodeVersions {
		t.Run("node"+major, func(t *testing.T) {
			t.Parallel()
			for _, wrapper := range []string{"aws-lambda", "aws-lambda-streaming"} {
				t.Run(wrapper, func(t *testing.T) {
					streaming := wrapper == "aws-lambda-streaming"
					base, _ := openNextRun(t, builds[wrapper], wrapper, major, false)
					got, sums := openNextRun(t, builds[wrapper], wrapper, major, true)
					for i, c := range openNextCases(wrapper) {
						a, err := parseOpenNextAnswer(got[i], streaming)
						if err != nil {
							t.Fatal(err)
						}
						s := sums[i]
						verdict, _ := s["verdict"].(string)
						reason, _ := s["reason"].(string)
						recordAccuracy(t, accuracyRow{
							Stack:    "Next.js + @opennextjs/aws (" + wrapper + ")",
							Versions: openNextVersions, Node: major, Case: c.name, Link: c.link, Healthy: c.healthy,
							CallerGot: fmt.Sprintf("%d, %d B body", a.status, len(a.body)),
							Expected:  c.verdict, Verdict: verdict, Reason: reason,
						})
						if !bytes.Equal(got[i], base[i]) {
							t.Errorf("%s: with the layer the caller got %d bytes %.300q, without it %d bytes %.300q", c.name, len(got[i]), got[i], len(base[i]), base[i])
						}
						if a.status != c.status || (len(a.body) == 0) != c.emptyBody {
							t.Errorf("%s: caller got %d with a %d-byte body, want %d (empty body: %v)", c.name, a.status, len(a.body), c.status, c.emptyBody)
						}
						if verdict != c.verdict {
							t.Errorf("%s: verdict %q (%s), want %q; stages %v", c.name, verdict, reason, c.verdict, s["stages"])
						}
						// The proxy's record agrees with the caller: the mode, and the body bytes of a
						// delivered answer (a hand-written prelude is not body).
						wantMode := map[bool]string{false: "buffered", true: "streaming"}[streaming]
						b, _ := s["bytes"].(map[string]any)
						if s["mode"] != wantMode || (c.verdict == "delivered" && b["body"] != float64(len(a.body))) {
							t.Errorf("%s: summary mode %v bytes %v, want %s with a %d-byte body", c.name, s["mode"], b, wantMode, len(a.body))
						}
					}
				})
			}
		})
	}
}
