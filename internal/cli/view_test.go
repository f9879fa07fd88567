package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func viewServer(t *testing.T, src Source) *httptest.Server {
	t.Helper()
	v, err := NewView(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var rowRE = regexp.MustCompile(`<tr class="row-`)

func recordedFiles() Files {
	return Files{Paths: testdata(append(recordedLogs, "steps.log")...)}
}

func TestViewList(t *testing.T) {
	srv := viewServer(t, recordedFiles())
	code, body, h := get(t, srv.URL+"/")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", code, h.Get("Content-Type"))
	}
	if n := len(rowRE.FindAllString(body, -1)); n != 12 {
		t.Errorf("%d rows, want 12", n)
	}
	for _, want := range []string{
		`lost <b>5</b>`, `delivered <b>4</b>`, `empty-by-design <b>2</b>`, `unknown <b>1</b>`, `all <b>12</b>`,
		`GET /api/products`, `GET /health`, `badge-lost" href="/invocations/3f1c2a9e-5b7d-4e21-9c0a-6d2e8f4b1a70">lost:middleware:sentry`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	// Newest first: the 12:02:40 line before the 12:02:11 one.
	if strings.Index(body, "/health") > strings.Index(body, "3f1c2a9e") {
		t.Error("rows are not newest first")
	}
}

func TestViewFilter(t *testing.T) {
	srv := viewServer(t, recordedFiles())
	_, body, _ := get(t, srv.URL+"/?verdict=lost")
	if n := len(rowRE.FindAllString(body, -1)); n != 5 {
		t.Errorf("%d rows for verdict=lost, want 5", n)
	}
	if strings.Contains(body, `row-ok`) || strings.Contains(body, `row-neutral`) {
		t.Error("a row that is not lost passed the filter")
	}
	if !strings.Contains(body, `class="chip active chip-lost"`) {
		t.Error("the lost chip is not marked active")
	}
	_, body, _ = get(t, srv.URL+"/?verdict=lost:teleport")
	if !strings.Contains(body, "No invocations with verdict <code>lost:teleport</code>") {
		t.Errorf("empty filter page:\n%s", body)
	}
	_, body, _ = get(t, srv.URL+"/api/invocations?verdict=lost:streaming")
	var rows []Invocation
	if err := json.Unmarshal([]byte(body), &rows); err != nil || len(rows) != 1 || rows[0].Verdict != "lost:streaming" {
		t.Errorf("api: %v %+v", err, rows)
	}
}

func TestViewDetail(t *testing.T) {
	srv := viewServer(t, recordedFiles())
	for _, c := range []struct {
		id   string
		want []string
	}{
		{"3f1c2a9e-5b7d-4e21-9c0a-6d2e8f4b1a70", []string{
			`id="verdict">lost:middleware:sentry`,
			"Lost in middleware sentry: the handler produced a body, and after the sentry wrapper it was empty or short.",
			`class="bar bar-step bar-lost" data-stage="middleware:sentry"`,
			`middleware sentry<span class="lost-tag" id="lost-stage">bytes vanished here</span>`,
			`data-stage="request"`, `data-stage="handler"`, `data-stage="response"`, `data-stage="platform"`,
			"The sentry wrapper dropped the body. Upgrade it, or reconfigure it",
			"bodytrace: the handler produced 2048 bytes and middleware sentry passed on 0",
		}},
		{"8a0e4d5b-21c3-4f9e-b7a6-0c1d2e3f4a5b", []string{
			`data-stage="late-write"`, "@sentry/nextjs", "Sentry&#39;s Next.js integration 7.29 to 8.4", "The late writer: @sentry/nextjs.",
		}},
		{"71d3f5a7-9b1c-4d3e-8f5a-2b4c6d8e0f1a", []string{`bar-platform bar-lost" data-stage="platform"`, "6 MB"}},
		{"e4f6a8b0-c2d4-4e6f-8a0b-1c3d5e7f9a2b", []string{"Empty by design", `badge-neutral big`}},
		{"c2b7e9f1-4a3d-4c6b-9e8f-7a6b5c4d3e2f", []string{"Delivered", "CDN cache", `badge-ok big`}},
	} {
		code, body, _ := get(t, srv.URL+"/invocations/"+c.id)
		if code != 200 {
			t.Errorf("%s: status %d", c.id, code)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q", c.id, w)
			}
		}
		if n := strings.Count(body, "bar-lost"); strings.Contains(body, "badge-lost") && n != 1 {
			t.Errorf("%s: %d lost bars, want 1", c.id, n)
		}
	}
	if code, body, _ := get(t, srv.URL+"/invocations/no-such-id"); code != 404 || !strings.Contains(body, "no invocation &#34;no-such-id&#34;") {
		t.Errorf("unknown id: %d\n%s", code, body)
	}
}

func TestViewStatic(t *testing.T) {
	srv := viewServer(t, recordedFiles())
	code, body, h := get(t, srv.URL+"/static/style.css")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/css") || !strings.Contains(body, ".bar-lost") {
		t.Errorf("style.css: %d %s", code, h.Get("Content-Type"))
	}
	if code, _, _ := get(t, srv.URL+"/static/list.html"); code != http.StatusNotFound {
		t.Errorf("a template is served as a static file: %d", code)
	}
}

type failingSource struct{}

func (failingSource) List(context.Context) ([]Invocation, error) {
	return nil, errors.New("query Jaeger at http://127.0.0.1:16686: connection refused")
}
func (failingSource) Describe() string { return "Jaeger http://127.0.0.1:16686" }

func TestViewSourceError(t *testing.T) {
	srv := viewServer(t, failingSource{})
	code, body, _ := get(t, srv.URL+"/")
	if code != http.StatusBadGateway || !strings.Contains(body, "connection refused") {
		t.Errorf("%d\n%s", code, body)
	}
}

func TestViewFromJaeger(t *testing.T) {
	js, _ := jaegerStandIn(t, map[string]string{"shop-web": "jaeger-steps.json"})
	srv := viewServer(t, &Jaeger{URL: js.URL, Service: "shop-web"})
	_, list, _ := get(t, srv.URL+"/?verdict=lost")
	m := regexp.MustCompile(`/invocations/([0-9a-f-]{36})`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("no invocation in the list:\n%s", list)
	}
	_, body, _ := get(t, srv.URL+"/invocations/"+m[1])
	for _, w := range []string{`bar-lost" data-stage="middleware:sentry"`, "Lost in middleware sentry", "e2e-node", "Jaeger " + js.URL} {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}
