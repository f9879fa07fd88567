package capture

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// secret is what the tests plant; no byte run of it may reach a sample.
const secret = "s3cr3t-Zq9X"

// loadEvent reads a recorded trigger event from testdata as a generic document.
func loadEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setHeader puts a header in both header maps of a v1 or ALB event, or in headers only.
func setHeader(ev map[string]any, k, v string) {
	if h, ok := ev["headers"].(map[string]any); ok {
		h[k] = v
	} else if ev["multiValueHeaders"] == nil {
		ev["headers"] = map[string]any{k: v}
	}
	if h, ok := ev["multiValueHeaders"].(map[string]any); ok {
		h[k] = []any{v}
	}
}

func setQuery(ev map[string]any, k, v string) {
	if q, ok := ev["multiValueQueryStringParameters"].(map[string]any); ok {
		q[k] = []any{v}
	}
	if q, ok := ev["queryStringParameters"].(map[string]any); ok {
		q[k] = v
	} else if ev["multiValueQueryStringParameters"] == nil {
		ev["queryStringParameters"] = map[string]any{k: v}
	}
	if raw, ok := ev["rawQueryString"].(string); ok {
		ev["rawQueryString"] = raw + "&" + k + "=" + v
	}
}

// assertNoSecret checks the whole sample, as it would be exported, for the secret.
func assertNoSecret(t *testing.T, s Sample) string {
	t.Helper()
	out := string(encode(t, s))
	if strings.Contains(out, secret) || strings.Contains(out, secret[:8]) {
		t.Errorf("secret leaked: %s", out)
	}
	return out
}

var triggers = []string{"apigw-v1.json", "apigw-v2.json", "function-url.json", "alb.json"}

func TestEventRedacts(t *testing.T) {
	nestedJSON := map[string]any{
		"user":  map[string]any{"name": "visible-name", "Password": secret},
		"items": []any{map[string]any{"id": 1, "apiToken": secret}, []any{map[string]any{"CLIENT_SECRET": secret}}},
		"auth":  map[string]any{"credentials": map[string]any{"user": "x", "pass": secret}},
		"note":  "visible-note",
	}
	tests := []struct {
		name    string
		plant   func(t *testing.T, ev map[string]any)
		visible string // something the sample must still show
	}{
		{"authorization header", func(t *testing.T, ev map[string]any) { setHeader(ev, "Authorization", "Bearer "+secret) }, "authorization"},
		{"proxy-authorization header", func(t *testing.T, ev map[string]any) { setHeader(ev, "Proxy-Authorization", "Basic "+secret) }, "proxy-authorization"},
		{"x-api-key header", func(t *testing.T, ev map[string]any) { setHeader(ev, "X-API-Key", secret) }, "x-api-key"},
		{"security token header", func(t *testing.T, ev map[string]any) { setHeader(ev, "X-Amz-Security-Token", secret) }, "x-amz-security-token"},
		{"custom header matching a key", func(t *testing.T, ev map[string]any) { setHeader(ev, "X-Session-Id", secret) }, "x-session-id"},
		{"cookie header", func(t *testing.T, ev map[string]any) { setHeader(ev, "Cookie", "theme=dark; sid="+secret) }, "cookie"},
		{"cookies array", func(t *testing.T, ev map[string]any) { ev["cookies"] = []any{"theme=dark", "session=" + secret} }, "cookie"},
		{"referer with a token", func(t *testing.T, ev map[string]any) {
			setHeader(ev, "Referer", "https://app.example.com/cb?page=visible-page&access_token="+secret)
		}, "visible-page"},
		{"url password in a header", func(t *testing.T, ev map[string]any) {
			setHeader(ev, "X-Upstream", "https://user:"+secret+"@db.example.com/x?y=1")
		}, "db.example.com"},
		{"query token", func(t *testing.T, ev map[string]any) { setQuery(ev, "token", secret) }, "token"},
		{"query password, other casing", func(t *testing.T, ev map[string]any) { setQuery(ev, "UserPassWord", secret) }, "UserPassWord"},
		{"query api_key", func(t *testing.T, ev map[string]any) { setQuery(ev, "api_key", secret) }, "api_key"},
		{"query redirect with a code token", func(t *testing.T, ev map[string]any) {
			setQuery(ev, "redirect_uri", "https://cb.example.com/?id_token="+secret)
		}, "cb.example.com"},
		{"json body, nested, arrays, casing", func(t *testing.T, ev map[string]any) {
			ev["body"], ev["isBase64Encoded"] = string(encode(t, nestedJSON)), false
		}, "visible-note"},
		{"json body inside a json string", func(t *testing.T, ev map[string]any) {
			ev["body"] = string(encode(t, map[string]any{"payload": string(encode(t, nestedJSON))}))
			ev["isBase64Encoded"] = false
		}, "visible-name"},
		{"base64 json body", func(t *testing.T, ev map[string]any) {
			ev["body"], ev["isBase64Encoded"] = base64.StdEncoding.EncodeToString(encode(t, nestedJSON)), true
		}, "visible-name"},
		{"base64 body that does not decode", func(t *testing.T, ev map[string]any) {
			ev["body"], ev["isBase64Encoded"] = base64.StdEncoding.EncodeToString([]byte("password="+secret))+"!!", true
		}, "undecodable base64"},
		{"form body", func(t *testing.T, ev map[string]any) {
			setHeader(ev, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			ev["body"], ev["isBase64Encoded"] = "user=visible-user&password="+secret+"&csrf_token="+secret, false
		}, "visible-user"},
		{"base64 form body", func(t *testing.T, ev map[string]any) {
			setHeader(ev, "content-type", "application/x-www-form-urlencoded")
			ev["body"], ev["isBase64Encoded"] = base64.StdEncoding.EncodeToString([]byte("user=visible-user&passwd="+secret)), true
		}, "visible-user"},
		{"json body cut by the event's own truncation", func(t *testing.T, ev map[string]any) {
			ev["body"], ev["isBase64Encoded"] = `{"note":"visible-note","secret":"`+secret+`","more":`, false
		}, "visible-note"},
	}
	c := Default()
	c.Mode, c.MaxBytes = Body, MaxMaxBytes
	for _, trig := range triggers {
		for _, tt := range tests {
			t.Run(strings.TrimSuffix(trig, ".json")+"/"+tt.name, func(t *testing.T) {
				ev := loadEvent(t, trig)
				tt.plant(t, ev)
				s := c.Event(encode(t, ev))
				out := assertNoSecret(t, s)
				if !strings.Contains(out, tt.visible) {
					t.Errorf("sample lost %q: %s", tt.visible, out)
				}
				if s.Truncated {
					t.Errorf("truncated under a 64 KiB cap: %s", out)
				}
			})
		}
	}
}

func TestEventShapes(t *testing.T) {
	c := Default()
	c.Mode = Body
	tests := []struct {
		file, path, header, query, body string
	}{
		{"apigw-v1.json", "/hello/world", "user-agent", "name", `{"a":1}`}, // JSON bodies come back compact
		{"apigw-v2.json", "/", "user-agent", "", ""},
		{"function-url.json", "/my/path", "header1", "parameter2", "Hello from client!"},
		{"alb.json", "/", "x-myheader", "key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			s := c.Event(data)
			if s.Path != tt.path || s.Headers[tt.header] == "" || s.Body != tt.body {
				t.Errorf("sample = %+v", s)
			}
			if _, ok := s.Query[tt.query]; !ok && tt.query != "" {
				t.Errorf("query %q missing: %+v", tt.query, s.Query)
			}
		})
	}
	// The ALB event's query parameter is named "key", a default redaction fragment.
	data, _ := os.ReadFile(filepath.Join("testdata", "alb.json"))
	if got := c.Event(data).Query["key"]; got != Redacted {
		t.Errorf("alb key = %q, want %q", got, Redacted)
	}
}

func TestEventModes(t *testing.T) {
	ev := loadEvent(t, "apigw-v2.json")
	ev["body"] = `{"visible":"yes"}`
	setHeader(ev, "Authorization", secret)
	data := encode(t, ev)

	c := Default()
	c.Mode = Off
	if s := c.Event(data); !s.Empty() {
		t.Errorf("off captured %+v", s)
	}
	c.Mode = Metadata
	s := c.Event(data)
	if s.Body != "" || s.Path == "" || len(s.Headers) == 0 || s.Headers["authorization"] != Redacted {
		t.Errorf("metadata captured %+v", s)
	}
	if got := c.JSON([]byte(`{"a":1}`)); got != "" {
		t.Errorf("JSON in metadata mode = %q", got)
	}
	c.Mode = Body
	if s := c.Event(data); s.Body != `{"visible":"yes"}` {
		t.Errorf("body mode body = %q", s.Body)
	}
	if q := (Sample{Query: map[string]string{"b": "2", "token": Redacted, "a": "x y"}}).QueryString(); q != "a=x+y&b=2&token=%5Bredacted%5D" {
		t.Errorf("QueryString = %q", q)
	}
	if s := (Config{}).Event(data); !s.Empty() {
		t.Errorf("zero Config captured %+v", s)
	}
}

func TestEventDirect(t *testing.T) {
	c := Default()
	c.Mode = Body
	direct := []byte(`{"orderId":"visible-order","customer":{"cardToken":"` + secret + `"},"requestContext":{"x":1}}`)
	s := c.Event(direct)
	out := assertNoSecret(t, s)
	if !strings.Contains(s.Body, "visible-order") || len(s.Headers) != 0 {
		t.Errorf("direct event sample = %s", out)
	}
	c.Mode = Metadata
	if s := c.Event(direct); !s.Empty() {
		t.Errorf("metadata mode captured a direct event: %+v", s)
	}
	c.Mode = Body
	for _, ev := range []string{"", "null", "42", `"a string"`, "not json at all", "[1,2,3]"} {
		s := c.Event([]byte(ev))
		if len(s.Headers) != 0 || s.Path != "" {
			t.Errorf("Event(%q) = %+v", ev, s)
		}
	}
}

// sampleSize counts a sample as MaxBytes does: names and values.
func sampleSize(s Sample) int {
	n := len(s.Path) + len(s.Body)
	for k, v := range s.Headers {
		n += len(k) + len(v)
	}
	for k, v := range s.Query {
		n += len(k) + len(v)
	}
	return n
}

func TestEventCap(t *testing.T) {
	ev := loadEvent(t, "apigw-v1.json")
	setHeader(ev, "Authorization", "Bearer "+secret)
	setQuery(ev, "token", secret)
	setHeader(ev, "X-Long", strings.Repeat("é", 5000)) // two bytes a character: cuts must not split one
	ev["body"] = string(encode(t, map[string]any{"password": secret, "filler": strings.Repeat("x", 100000)}))
	data := encode(t, ev)
	for _, max := range []int{64, 100, 512, 4096, 20000} {
		c := Default()
		c.Mode, c.MaxBytes = Body, max
		s := c.Event(data)
		assertNoSecret(t, s)
		if n := sampleSize(s); n > max {
			t.Errorf("MaxBytes %d: sample has %d bytes", max, n)
		}
		if !s.Truncated {
			t.Errorf("MaxBytes %d: not marked truncated", max)
		}
		for k, v := range s.Headers {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Errorf("MaxBytes %d: header %q cut inside a character", max, k)
			}
		}
		if !utf8.ValidString(s.Body) {
			t.Errorf("MaxBytes %d: body cut inside a character", max)
		}
	}
}

func TestEventInvalidUTF8(t *testing.T) {
	c := Default()
	c.Mode = Body
	// Raw invalid bytes inside the event's JSON strings.
	ev := []byte("{\"version\":\"2.0\",\"rawPath\":\"/p\xff\xfe\",\"headers\":{\"x-bad\":\"a\xc3\x28b\",\"authorization\":\"" + secret + "\xff\"}," +
		"\"requestContext\":{\"http\":{\"method\":\"GET\"}},\"body\":\"{\\\"pass\xffword\\\":1,\\\"token\\\":\\\"" + secret + "\xfe\\\"}\"}")
	s := c.Event(ev)
	out := assertNoSecret(t, s)
	if !utf8.ValidString(out) || !utf8.ValidString(s.Path) || !utf8.ValidString(s.Body) {
		t.Errorf("invalid UTF-8 in sample: %q", out)
	}
	if s.Path == "" || s.Headers["x-bad"] == "" {
		t.Errorf("sample lost fields: %+v", s)
	}
	// A binary (base64) body is replaced by its size.
	bin := base64.StdEncoding.EncodeToString([]byte("\x00\x01\xffpassword=" + secret + "\xfe"))
	s = c.Event([]byte(`{"version":"2.0","rawPath":"/","headers":{},"requestContext":{},"isBase64Encoded":true,"body":"` + bin + `"}`))
	assertNoSecret(t, s)
	if !strings.HasPrefix(s.Body, "[binary body, ") {
		t.Errorf("binary body = %q", s.Body)
	}
}

// Text bodies are kept as they are (capped): the documented reason bodies are opt-in.
func TestEventTextBody(t *testing.T) {
	c := Default()
	c.Mode = Body
	for body, want := range map[string]string{
		"[INFO] hello":                 "[INFO] hello",
		"a=1 and b=2":                  "a=1 and b=2",
		"user=visible&token=" + secret: "token=%5Bredacted%5D&user=visible", // shaped like a form: read as one
	} {
		ev := encode(t, map[string]any{"version": "2.0", "rawPath": "/", "headers": map[string]string{"content-type": "text/plain"},
			"requestContext": map[string]any{}, "body": body})
		if s := c.Event(ev); s.Body != want {
			t.Errorf("text body %q = %q, want %q", body, s.Body, want)
		}
	}
}
