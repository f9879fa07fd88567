package invocation

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// httpResult is the HTTP-shaped result API Gateway, function URLs and ALB accept, and the
// prelude of a function-URL stream (which has no body field).
type httpResult struct {
	StatusCode        *int                `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              *string             `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

func (h httpResult) header(name string) string {
	return headerValue(h.Headers, h.MultiValueHeaders, name)
}

// headerValue finds a header in an event's or a result's headers and multiValueHeaders,
// without regard to case, as API Gateway and ALB carry them.
func headerValue(single map[string]string, multi map[string][]string, name string) string {
	for k, v := range single {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, v := range multi {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (r *Response) setHTTP(h httpResult) {
	r.HTTP = true
	r.StatusCode = *h.StatusCode
	r.ContentLength = h.header("Content-Length")
	r.ContentEncoding = h.header("Content-Encoding")
	r.ContentType = h.header("Content-Type")
	r.Location = h.header("Location")
	r.TransferEncoding = h.header("Transfer-Encoding")
	r.IsBase64Encoded = h.IsBase64Encoded
}

// ParseBuffered fills the HTTP fields and the body length of a buffered result. complete
// is false when only the first part of the result was captured; then BodyBytes is -1
// unless the result is not HTTP-shaped. For HTTP triggers a result that is not
// HTTP-shaped is sent as a 200 whose body is the result itself, as API Gateway v2 and
// function URLs do.
func (r *Response) ParseBuffered(result []byte, complete bool, trigger Trigger) {
	r.BodyBytes = r.WireBytes
	var h httpResult
	if !complete {
		r.BodyBytes = -1
		return
	}
	if bytes.Equal(bytes.TrimSpace(result), []byte("null")) {
		// A handler that returned undefined: the runtime sends null, and an HTTP trigger
		// answers with an empty body.
		r.BodyBytes = 0
		if trigger.HTTP() {
			r.HTTP, r.StatusCode = true, 200
		}
		return
	}
	if json.Unmarshal(result, &h) != nil || h.StatusCode == nil {
		if trigger.HTTP() {
			r.HTTP, r.StatusCode = true, 200
		}
		return
	}
	r.setHTTP(h)
	r.BodyBytes = 0
	if h.Body == nil {
		return
	}
	r.BodyBytes = int64(len(*h.Body))
	r.textEvidence(*h.Body, h.IsBase64Encoded)
	if h.IsBase64Encoded {
		if n, err := base64.StdEncoding.DecodeString(*h.Body); err == nil {
			r.BodyBytes = int64(len(n))
		} else {
			r.BadBase64 = true
		}
	}
}

// HTTPIntegrationContentType marks a function-URL stream that starts with a JSON prelude.
const HTTPIntegrationContentType = "application/vnd.awslambda.http-integration-response"

// preludeEnd separates a function-URL stream's JSON prelude from its body.
var preludeEnd = make([]byte, 8)

// ParseStream fills the HTTP fields of a streamed result from the first bytes of the
// stream: for function-URL streams the prelude's status and headers; the body length is
// the bytes after the prelude. Without a prelude the whole stream is the body.
func (r *Response) ParseStream(head []byte, contentType string) {
	r.BodyBytes = r.WireBytes
	if !strings.HasPrefix(contentType, HTTPIntegrationContentType) {
		return
	}
	i := bytes.Index(head, preludeEnd)
	if i < 0 && r.WireBytes == 0 {
		r.BodyBytes = 0
		return
	}
	if i < 0 {
		// The prelude never finished within the capture: the stream carried no body we can place.
		r.BodyBytes = -1
		return
	}
	var h httpResult
	if json.Unmarshal(head[:i], &h) == nil && h.StatusCode != nil {
		r.setHTTP(h)
	} else {
		r.HTTP, r.StatusCode = true, 200
	}
	r.BodyBytes = r.WireBytes - int64(i+len(preludeEnd))
}

// maxErrorBody caps the error document kept from /error: enough for its type, message
// and the top of its stack trace.
const maxErrorBody = 8 << 10

// ParseError keeps the start of the error document the runtime posted to
// /invocation/{id}/error ({"errorType","errorMessage","trace"} from the Node runtime), so
// the verdict can name the package on the error's stack. It stays in the record; nothing
// exports it.
//
// When the runtime sent no Lambda-Runtime-Function-Error-Type header (aws-lambda-ric 4
// posts through its native client without one), the document's errorType names the error.
func (r *Response) ParseError(body []byte) {
	r.ErrorBody = string(body[:min(len(body), maxErrorBody)])
	if r.ErrorType == "" {
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal(body, &doc) != nil {
			// A document cut by the capture still names its type near the start.
			if m := errorTypeField().FindSubmatch(body); m != nil {
				doc.ErrorType = string(m[1])
			}
		}
		if len(doc.ErrorType) <= maxErrorType && !strings.ContainsAny(doc.ErrorType, "\r\n") {
			r.ErrorType = doc.ErrorType
		}
	}
}

// errorTypeField finds the errorType of an error document that is not whole.
var errorTypeField = lazyRegexp(`^\s*\{\s*"errorType"\s*:\s*"([^"\\]*)"`)

// maxErrorType caps an error type taken from the document: a type is a name, not a message.
const maxErrorType = 256

// errorText is the error document readable as text: a stream's error trailer carries it
// base64-encoded, the /error route as is.
func (r *Response) errorText() string {
	if d, err := base64.StdEncoding.DecodeString(r.ErrorBody); err == nil && len(d) > 0 {
		return string(d)
	}
	return r.ErrorBody
}
