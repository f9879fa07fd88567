package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// standIn is a local stand-in of the Lambda API's layer routes, enough for the publisher:
// PublishLayerVersion and AddLayerVersionPermission, as aws-sdk-go-v2 sends them (REST
// JSON, SigV4 signed). It is not AWS: it checks no signature and keeps versions in memory.
type standIn struct {
	mu          sync.Mutex
	published   []publishCall
	permissions []permissionCall
	versions    map[string]int64 // region/layer → last version
}

type publishCall struct {
	Region, Layer string
	Content       struct{ ZipFile []byte }
	Architectures []string `json:"CompatibleArchitectures"`
	Runtimes      []string `json:"CompatibleRuntimes"`
	Description   string
	LicenseInfo   string
}

type permissionCall struct {
	Region, Layer string
	Version       int64
	StatementId   string
	Action        string
	Principal     string
}

var (
	publishRoute    = regexp.MustCompile(`^/2018-10-31/layers/([^/]+)/versions$`)
	permissionRoute = regexp.MustCompile(`^/2018-10-31/layers/([^/]+)/versions/(\d+)/policy$`)
	// The region is in the SigV4 credential scope: Credential=AKID/date/<region>/lambda/aws4_request.
	scopeRegion = regexp.MustCompile(`Credential=[^/]+/\d+/([^/]+)/lambda/aws4_request`)
)

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := scopeRegion.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil || r.Method != http.MethodPost {
		http.Error(w, `{"message":"stand-in: unsigned request or wrong method"}`, http.StatusBadRequest)
		return
	}
	region := m[1]
	switch {
	case publishRoute.MatchString(r.URL.Path):
		var c publishCall
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.Region, c.Layer = region, publishRoute.FindStringSubmatch(r.URL.Path)[1]
		s.published = append(s.published, c)
		if s.versions == nil {
			s.versions = map[string]int64{}
		}
		s.versions[region+"/"+c.Layer]++
		v := s.versions[region+"/"+c.Layer]
		arn := fmt.Sprintf("arn:aws:lambda:%s:123456789012:layer:%s", region, c.Layer)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"LayerArn": arn, "LayerVersionArn": fmt.Sprintf("%s:%d", arn, v), "Version": v,
			"CompatibleArchitectures": c.Architectures, "CompatibleRuntimes": c.Runtimes, "Description": c.Description,
		})
	case permissionRoute.MatchString(r.URL.Path):
		var c permissionCall
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sm := permissionRoute.FindStringSubmatch(r.URL.Path)
		c.Region, c.Layer = region, sm[1]
		c.Version, _ = strconv.ParseInt(sm[2], 10, 64)
		s.permissions = append(s.permissions, c)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"Statement": `{"Sid":"` + c.StatementId + `"}`, "RevisionId": "stand-in-1"})
	default:
		http.Error(w, `{"message":"stand-in: no such route"}`, http.StatusNotFound)
	}
}

// offlineAWS gives the SDK static credentials and keeps it away from this machine's AWS
// configuration and from the instance metadata service.
func offlineAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTANDIN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stand-in-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", "")
}

// fakeZips writes two small zips whose bytes say their architecture.
func fakeZips(t *testing.T) string {
	dir := t.TempDir()
	for _, arch := range []string{"x86_64", "arm64"} {
		if err := os.WriteFile(filepath.Join(dir, "bodytrace-"+arch+".zip"), []byte("PK\x03\x04 layer for "+arch), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPublishAgainstStandIn(t *testing.T) {
	offlineAWS(t)
	api := &standIn{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := fakeZips(t)

	var out, log bytes.Buffer
	p := &Publisher{Client: NewClient(srv.URL), Out: &out, Log: &log}
	got, err := p.Run(context.Background(), Options{Dir: dir, Name: "bodytrace", Regions: []string{"us-east-1", "eu-west-1"}, Public: true, License: "Apache-2.0"})
	if err != nil {
		t.Fatal(err)
	}

	wantARNs := []string{
		"arn:aws:lambda:us-east-1:123456789012:layer:bodytrace-x86_64:1",
		"arn:aws:lambda:us-east-1:123456789012:layer:bodytrace-arm64:1",
		"arn:aws:lambda:eu-west-1:123456789012:layer:bodytrace-x86_64:1",
		"arn:aws:lambda:eu-west-1:123456789012:layer:bodytrace-arm64:1",
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(lines, "\n") != strings.Join(wantARNs, "\n") {
		t.Errorf("printed ARNs:\n%s\nwant:\n%s", out.String(), strings.Join(wantARNs, "\n"))
	}
	if len(got) != 4 || !got[3].Public || got[3].Region != "eu-west-1" || got[3].Architecture != "arm64" {
		t.Errorf("Run returned %+v", got)
	}

	if len(api.published) != 4 {
		t.Fatalf("stand-in saw %d PublishLayerVersion calls, want 4", len(api.published))
	}
	for i, c := range api.published {
		region, arch := []string{"us-east-1", "eu-west-1"}[i/2], []string{"x86_64", "arm64"}[i%2]
		if c.Region != region || c.Layer != "bodytrace-"+arch {
			t.Errorf("call %d: layer %s in %s, want bodytrace-%s in %s", i, c.Layer, c.Region, arch, region)
		}
		if want := "PK\x03\x04 layer for " + arch; string(c.Content.ZipFile) != want {
			t.Errorf("call %d: zip bytes %q, want %q", i, c.Content.ZipFile, want)
		}
		if len(c.Architectures) != 1 || c.Architectures[0] != arch {
			t.Errorf("call %d: architectures %v, want [%s]", i, c.Architectures, arch)
		}
		if strings.Join(c.Runtimes, ",") != strings.Join(DefaultRuntimes, ",") {
			t.Errorf("call %d: runtimes %v", i, c.Runtimes)
		}
		if c.LicenseInfo != "Apache-2.0" || c.Description == "" {
			t.Errorf("call %d: license %q description %q", i, c.LicenseInfo, c.Description)
		}
	}
	if len(api.permissions) != 4 {
		t.Fatalf("stand-in saw %d AddLayerVersionPermission calls, want 4", len(api.permissions))
	}
	for i, c := range api.permissions {
		if c.Principal != "*" || c.Action != "lambda:GetLayerVersion" || c.Version != 1 || c.StatementId == "" || c.Layer != api.published[i].Layer || c.Region != api.published[i].Region {
			t.Errorf("permission %d: %+v", i, c)
		}
	}
}

func TestPublishPrivateAddsNoPermission(t *testing.T) {
	offlineAWS(t)
	api := &standIn{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	var out, log bytes.Buffer
	p := &Publisher{Client: NewClient(srv.URL), Out: &out, Log: &log}
	if _, err := p.Run(context.Background(), Options{Dir: fakeZips(t), Name: "bt", Regions: []string{"ap-southeast-2"}, Architectures: []string{"arm64"}}); err != nil {
		t.Fatal(err)
	}
	if len(api.published) != 1 || len(api.permissions) != 0 {
		t.Errorf("published %d, permissions %d; want 1 and 0", len(api.published), len(api.permissions))
	}
	if got := strings.TrimSpace(out.String()); got != "arn:aws:lambda:ap-southeast-2:123456789012:layer:bt-arm64:1" {
		t.Errorf("printed %q", got)
	}
	if !strings.Contains(log.String(), "private") {
		t.Errorf("log %q does not say the version is private", log.String())
	}
}

func TestDryRunCallsNothing(t *testing.T) {
	dir := fakeZips(t)
	var out, log bytes.Buffer
	p := &Publisher{
		Client: func(context.Context, string) (API, error) {
			t.Fatal("a dry run asked for an AWS client")
			return nil, nil
		},
		Out: &out, Log: &log,
	}
	if _, err := p.Run(context.Background(), Options{Dir: dir, Name: "bodytrace", Regions: []string{"us-east-1", "eu-west-1"}, Public: true, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"dry run: no AWS call is made",
		"us-east-1: publish layer bodytrace-x86_64 from " + filepath.Join(dir, "bodytrace-x86_64.zip"),
		"eu-west-1: publish layer bodytrace-arm64 from " + filepath.Join(dir, "bodytrace-arm64.zip"),
		"architectures arm64, runtimes " + strings.Join(DefaultRuntimes, ","),
		`allow principal "*" action lambda:GetLayerVersion`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, ": publish layer "); n != 4 {
		t.Errorf("dry run plans %d publications, want 4:\n%s", n, text)
	}
}

func TestMissingZip(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bodytrace-x86_64.zip"), []byte("PK"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Publisher{
		Client: func(context.Context, string) (API, error) { t.Fatal("published with a zip missing"); return nil, nil },
		Out:    &bytes.Buffer{}, Log: &bytes.Buffer{},
	}
	for _, dry := range []bool{false, true} {
		_, err := p.Run(context.Background(), Options{Dir: dir, Name: "bodytrace", Regions: []string{"us-east-1"}, DryRun: dry})
		if err == nil || !strings.Contains(err.Error(), "bodytrace-arm64.zip is missing: run make layer") {
			t.Errorf("dry run %v: error %v, want the missing arm64 zip and the make layer hint", dry, err)
		}
	}
}

func TestOptionsChecked(t *testing.T) {
	p := &Publisher{Out: &bytes.Buffer{}, Log: &bytes.Buffer{}}
	for name, o := range map[string]Options{
		"no region":  {Dir: t.TempDir(), Name: "bodytrace"},
		"bad arch":   {Dir: t.TempDir(), Name: "bodytrace", Regions: []string{"us-east-1"}, Architectures: []string{"amd64"}},
		"empty name": {Dir: t.TempDir(), Regions: []string{"us-east-1"}},
	} {
		if _, err := p.Run(context.Background(), o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
