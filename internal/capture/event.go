package capture

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Sample is the captured part of an invocation event, redacted and capped.
type Sample struct {
	// Headers are keyed by lower-cased name; repeated headers are joined with ", ".
	Headers map[string]string `json:"headers,omitempty"`
	// Query holds the query parameters; repeated parameters are joined with ",".
	Query map[string]string `json:"query,omitempty"`
	Path  string            `json:"path,omitempty"`
	// Body is the request body (Body mode only): decoded from base64, redacted, capped.
	Body string `json:"body,omitempty"`
	// Truncated is true when MaxBytes cut or left out part of the sample.
	Truncated bool `json:"truncated,omitempty"`
}

// Empty reports whether nothing was captured.
func (s Sample) Empty() bool {
	return len(s.Headers) == 0 && len(s.Query) == 0 && s.Path == "" && s.Body == "" && !s.Truncated
}

// QueryString returns the captured query parameters as a URL query (url.query), in name
// order.
func (s Sample) QueryString() string {
	q := make(url.Values, len(s.Query))
	for k, v := range s.Query {
		q.Set(k, v)
	}
	return q.Encode()
}

// httpEvent holds the fields of API Gateway v1 and v2, function URL and ALB events that a
// sample reads, decoded in one pass (the events package's types decode far more).
type httpEvent struct {
	Path              string              `json:"path"`
	RawPath           string              `json:"rawPath"`
	RawQueryString    string              `json:"rawQueryString"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Query             map[string]string   `json:"queryStringParameters"`
	MultiValueQuery   map[string][]string `json:"multiValueQueryStringParameters"`
	Cookies           []string            `json:"cookies"`
	Body              json.RawMessage     `json:"body"` // unquoted only in Body mode
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
	RequestContext    json.RawMessage     `json:"requestContext"`
}

// Event samples an invocation event. For an HTTP-shaped event (API Gateway v1 or v2,
// function URL, ALB) it keeps the path, the headers and the query parameters, redacted,
// and in Body mode the body; for any other event, in Body mode, the whole event as JSON.
// Everything is redacted first, then capped at MaxBytes in that order (path, headers,
// query, body), with Truncated set when something was cut or left out.
func (c Config) Event(event []byte) Sample {
	var s Sample
	if c.Mode != Metadata && c.Mode != Body || c.MaxBytes <= 0 {
		return s
	}
	b := budget{left: c.MaxBytes}
	var e httpEvent
	err := json.Unmarshal(event, &e)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) || !e.http() {
		// Not an HTTP event: in Body mode, the event itself is the payload.
		if c.Mode == Body {
			s.Body = c.body(event, "", &b)
		}
		s.Truncated = b.truncated
		return s
	}

	path := e.RawPath
	if path == "" {
		path = e.Path
	}
	s.Path = b.take(path)

	headers := map[string]string{}
	for k, v := range e.Headers {
		addValue(headers, strings.ToLower(k), v, ", ")
	}
	for k, vs := range e.MultiValueHeaders {
		if _, ok := e.Headers[k]; !ok { // API Gateway v1 and ALB repeat single values in both maps
			for _, v := range vs {
				addValue(headers, strings.ToLower(k), v, ", ")
			}
		}
	}
	if len(e.Cookies) > 0 { // API Gateway v2 and function URLs move Cookie headers here
		addValue(headers, "cookie", strings.Join(e.Cookies, "; "), "; ")
	}
	for k, v := range headers {
		headers[k] = c.headerValue(k, v)
	}
	s.Headers = b.takeMap(headers)

	query := map[string]string{}
	for k, v := range e.Query {
		query[k] = v
	}
	for k, vs := range e.MultiValueQuery {
		query[k] = strings.Join(vs, ",")
	}
	if len(query) == 0 && e.RawQueryString != "" {
		parsed, _ := url.ParseQuery(e.RawQueryString) // pairs that do not parse are left out
		for k, vs := range parsed {
			query[k] = strings.Join(vs, ",")
		}
	}
	for k, v := range query {
		query[k] = c.paramValue(k, v)
	}
	s.Query = b.takeMap(query)

	var body string
	if c.Mode == Body && json.Unmarshal(e.Body, &body) == nil && body != "" {
		raw := []byte(body)
		if e.IsBase64Encoded {
			decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(body))
			if err != nil {
				// Never show the encoded form: it carries the same secrets.
				raw = nil
				s.Body = b.take(fmt.Sprintf("[undecodable base64 body, %d bytes]", len(body)))
			} else {
				raw = decoded
			}
		}
		if raw != nil {
			s.Body = c.body(raw, headers["content-type"], &b)
		}
	}
	s.Truncated = b.truncated
	return s
}

// http reports whether the event is HTTP-shaped: every such trigger sends a request
// context and headers or a path.
func (e *httpEvent) http() bool {
	return len(e.RequestContext) > 0 && string(e.RequestContext) != "null" &&
		(e.Headers != nil || e.MultiValueHeaders != nil || e.Path != "" || e.RawPath != "")
}

// body samples a request body: JSON and form fields redacted, other text kept, binary
// replaced by its size.
func (c Config) body(raw []byte, contentType string, b *budget) string {
	if b.left <= 0 {
		b.truncated = true
		return ""
	}
	if t := strings.TrimLeft(string(raw[:min(len(raw), 64)]), " \t\r\n"); t != "" && (t[0] == '{' || t[0] == '[') {
		r := c.redactor(b.left)
		if r.document(raw, 0) {
			b.left -= len(r.out)
			b.truncated = b.truncated || r.full
			return string(r.out)
		}
	}
	if isForm(raw, contentType) {
		form, _ := url.ParseQuery(string(raw)) // fields that do not parse are left out
		for k, vs := range form {
			for i, v := range vs {
				vs[i] = c.paramValue(k, v)
			}
		}
		return b.take(form.Encode())
	}
	if !utf8.Valid(raw) {
		return b.take(fmt.Sprintf("[binary body, %d bytes]", len(raw)))
	}
	return b.take(string(raw))
}

// isForm reports whether a body holds form fields: by its content type, or, since a
// missing or wrong content type must not expose a password, by its shape (a=b&c=d).
func isForm(raw []byte, contentType string) bool {
	first, _, _ := strings.Cut(contentType, ",") // repeated headers were joined
	if mt, _, _ := mime.ParseMediaType(first); mt == "application/x-www-form-urlencoded" {
		return true
	}
	if len(raw) == 0 || !bytes.ContainsRune(raw, '=') {
		return false
	}
	for _, b := range raw {
		if b <= ' ' || b >= 0x7f || b == '"' || b == '{' || b == '<' {
			return false
		}
	}
	return true
}

// headerValue redacts a sensitive header, and the sensitive parts of a URL in any other.
func (c Config) headerValue(name, v string) string {
	if c.sensitiveHeader(name) {
		return Redacted
	}
	return c.urlValue(v, 0)
}

// paramValue redacts a sensitive query parameter or form field, and the sensitive parts of
// a URL passed as a parameter (redirect_uri=https://...?code=...).
func (c Config) paramValue(name, v string) string {
	if c.sensitiveKey(name) {
		return Redacted
	}
	return c.urlValue(v, 0)
}

// maxURLDepth bounds how many URLs nested in query parameters are followed.
const maxURLDepth = 2

// urlValue redacts the password and sensitive query parameters of a URL (a Referer, a
// Location, a redirect parameter); any other value comes back unchanged.
func (c Config) urlValue(v string, depth int) string {
	if !strings.Contains(v, "?") && !strings.Contains(v, "@") {
		return v
	}
	u, err := url.Parse(v)
	if err != nil || !(u.Scheme != "" && u.Host != "" || strings.HasPrefix(v, "/")) {
		return v
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User, changed = url.UserPassword(u.User.Username(), Redacted), true
	}
	if u.RawQuery != "" {
		q, _ := url.ParseQuery(u.RawQuery) // pairs that do not parse are left out
		for k, vs := range q {
			for i, x := range vs {
				switch {
				case c.sensitiveKey(k):
					vs[i] = Redacted
				case depth >= maxURLDepth && strings.ContainsAny(x, "?@"):
					vs[i] = Redacted // nested too deep to look into: leave nothing to chance
				default:
					vs[i] = c.urlValue(x, depth+1)
				}
				changed = changed || vs[i] != x
			}
		}
		if changed || q.Encode() != u.RawQuery {
			u.RawQuery = q.Encode()
			changed = true
		}
	}
	if !changed {
		return v
	}
	return u.String()
}

func addValue(m map[string]string, k, v, sep string) {
	if old, ok := m[k]; ok {
		v = old + sep + v
	}
	m[k] = v
}

// budget is what remains of MaxBytes while a sample is filled.
type budget struct {
	left      int
	truncated bool
}

// take returns as much of s as fits.
func (b *budget) take(s string) string {
	if len(s) > b.left {
		s = cutUTF8(s, b.left)
		b.truncated = true
	}
	b.left -= len(s)
	return s
}

// takeMap keeps the entries that fit, in name order, cutting the last value that does
// not; a name never appears without room for it.
func (b *budget) takeMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if len(k) > b.left {
			b.truncated = true
			continue
		}
		b.left -= len(k)
		out[k] = b.take(m[k])
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
