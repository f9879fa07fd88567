package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// s3StandIn is a local stand-in of the two S3 calls the cdn command makes, as
// aws-sdk-go-v2 speaks them path-style: ListObjectsV2 (GET /bucket?list-type=2) and
// GetObject (GET /bucket/key). It is not AWS: it checks no signature, only that there is
// one. Bucket "locked-logs" answers AccessDenied; any bucket but its own, NoSuchBucket.
type s3StandIn struct {
	bucket   string
	objects  map[string]s3Object
	pageSize int
	mu       sync.Mutex
	gets     []string
}

type s3Object struct {
	body     []byte
	modified time.Time
}

func (s *s3StandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		s3Error(w, http.StatusBadRequest, "InvalidRequest", "only signed GETs here")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case bucket == "locked-logs":
		s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	case bucket != s.bucket:
		s3Error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	if key != "" {
		o, ok := s.objects[key]
		if !ok {
			s3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		s.mu.Lock()
		s.gets = append(s.gets, key)
		s.mu.Unlock()
		w.Header().Set("Content-Length", fmt.Sprint(len(o.body)))
		w.Header().Set("Last-Modified", o.modified.Format(http.TimeFormat))
		_, _ = w.Write(o.body)
		return
	}
	q := r.URL.Query()
	if q.Get("list-type") != "2" {
		s3Error(w, http.StatusBadRequest, "InvalidRequest", "want ListObjectsV2")
		return
	}
	var keys []string
	for k := range s.objects {
		if strings.HasPrefix(k, q.Get("prefix")) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	from := 0
	fmt.Sscan(q.Get("continuation-token"), &from)
	to := min(from+s.pageSize, len(keys))
	type content struct {
		Key          string
		LastModified string
		ETag         string
		Size         int
		StorageClass string
	}
	out := struct {
		XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name, Prefix          string
		KeyCount, MaxKeys     int
		IsTruncated           bool
		Contents              []content
		NextContinuationToken string `xml:",omitempty"`
	}{Name: s.bucket, Prefix: q.Get("prefix"), KeyCount: to - from, MaxKeys: 1000, IsTruncated: to < len(keys)}
	for _, k := range keys[from:to] {
		o := s.objects[k]
		out.Contents = append(out.Contents, content{k, o.modified.UTC().Format("2006-01-02T15:04:05.000Z"), `"0"`, len(o.body), "STANDARD"})
	}
	if to < len(keys) {
		out.NextContinuationToken = fmt.Sprint(to)
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(out)
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>STANDIN</RequestId></Error>`, code, msg)
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(cdnPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCDNFromS3(t *testing.T) {
	offlineAWS(t)
	delivered := time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)
	api := &s3StandIn{bucket: "shop-cdn-logs", pageSize: 2, objects: map[string]s3Object{
		"cf/" + cdnW3C: {readSample(t, cdnW3C), delivered},
		// Outside the window by the hour in its key: never fetched.
		"cf/E2EXAMPLE1D8N.2026-11-24-09.0b1c2d3e.gz": {[]byte("not fetched"), delivered},
		// No hour in the key: kept by LastModified.
		"cf/v2/shop.jsonl": {readSample(t, cdnJSON), delivered},
		"other/E2EXAMPLE1D8N.2026-11-25-13.77777777.gz": {[]byte("outside the prefix"), delivered},
	}}
	srv := httptest.NewServer(api)
	defer srv.Close()

	code, out, errs := run(t, "", "cdn", "--cdn-s3", "s3://shop-cdn-logs/cf/", "--since", "2026-11-25T13:00:00Z", "--until", "2026-11-25T14:00:00Z",
		"--endpoint-url", srv.URL, "--file", cdnPath("invocations.log"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if want := string(readSample(t, "golden.txt")); out != want {
		t.Errorf("rows read from S3 differ from the files':\n%s\nwant\n%s", out, want)
	}
	if got := strings.Join(api.gets, " "); got != "cf/"+cdnW3C+" cf/v2/shop.jsonl" {
		t.Errorf("fetched %s", got)
	}
	if !strings.Contains(errs, "skipped 1 malformed line in s3://shop-cdn-logs/cf/"+cdnW3C+" (first: line 7:") {
		t.Errorf("stderr %q", errs)
	}

	for _, tc := range []struct{ url, want string }{
		{"s3://locked-logs/cf/", "list CDN logs in s3://locked-logs/cf/: access denied: the caller needs s3:ListBucket on bucket locked-logs (AccessDenied)"},
		{"s3://no-such-logs/cf/", "list CDN logs in s3://no-such-logs/cf/: bucket no-such-logs does not exist (NoSuchBucket)"},
	} {
		code, _, errs := run(t, "", "cdn", "--cdn-s3", tc.url, "--endpoint-url", srv.URL, "--file", cdnPath("invocations.log"))
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d %q, want %q", tc.url, code, errs, tc.want)
		}
	}
}

// logsRouter puts two log groups behind one endpoint: the function's (invocations) and the
// CDN's, each a logsStandIn, which answers only for /aws/lambda/shop-web.
type logsRouter struct {
	function, cdn *logsStandIn
	cdnGroup      string
}

func (l *logsRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	if req["logGroupName"] == l.cdnGroup {
		req["logGroupName"] = "/aws/lambda/shop-web"
		body, _ = json.Marshal(req)
		r.Body = io.NopCloser(bytes.NewReader(body))
		l.cdn.ServeHTTP(w, r)
		return
	}
	if req["logGroupName"] == "/aws/lambda/shop-web" {
		r.Body = io.NopCloser(bytes.NewReader(body))
		l.function.ServeHTTP(w, r)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	l.cdn.ServeHTTP(w, r) // answers ResourceNotFoundException
}

func TestCDNFromLogGroups(t *testing.T) {
	offlineAWS(t)
	router := &logsRouter{function: &logsStandIn{pageSize: 3}, cdn: &logsStandIn{pageSize: 2}, cdnGroup: "/aws/cloudfront/shop"}
	for _, l := range readLinesOf(t, "cdn/invocations.log") {
		inv, _ := ParseLine([]byte(l))
		router.function.add(inv.Time.UnixMilli(), l)
	}
	at := time.Date(2026, 11, 25, 13, 35, 40, 0, time.UTC).UnixMilli()
	for _, l := range strings.Split(strings.TrimSpace(string(readSample(t, cdnJSON))), "\n") {
		router.cdn.add(at, l)
	}
	srv := httptest.NewServer(router)
	defer srv.Close()

	code, out, errs := run(t, "", "cdn", "--cdn-log-group", "/aws/cloudfront/shop", "--log-group", "/aws/lambda/shop-web",
		"--since", "2026-11-25T13:00:00Z", "--endpoint-url", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var where []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if l == "" {
			break
		}
		f := strings.Fields(l)
		where = append(where, f[2]+" "+f[8])
	}
	// A, B, C, D ran but the v2 log has no row for them; E and F joined; L and M never reached it.
	want := "VZrq0IJk no-record 335w5QIV no-record ayPA1fNd no-record PznVw0jl no-record qfUVZr1n invoked 9nqxCtTk invoked ct_PsMRw edge-error CPJxiHzp edge-cache"
	if got := strings.Join(where, " "); got != want {
		t.Errorf("rows\n%s\nwhere %s\nwant  %s", out, got, want)
	}
	if errs != "bodytrace cdn: skipped 1 malformed line in /aws/cloudfront/shop (first: line 3: record lacks x-edge-request-id)\n" {
		t.Errorf("stderr %q", errs)
	}
	if first := router.cdn.requests[0]; first.StartTime != time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC).UnixMilli() || first.FilterPattern != "" {
		t.Errorf("CDN log group read with %+v", first)
	}

	code, _, errs = run(t, "", "cdn", "--cdn-log-group", "/aws/cloudfront/missing", "--file", cdnPath("invocations.log"), "--endpoint-url", srv.URL)
	if code != 1 || !strings.Contains(errs, "read CDN log group /aws/cloudfront/missing: the log group does not exist") {
		t.Errorf("missing group: exit %d %q", code, errs)
	}
}
