package invocation

import (
	"strings"

	"github.com/bodytrace/bodytrace/steps/line"
)

// EncodingIdentity is the content-encoding of a body that is not compressed.
const EncodingIdentity = "identity"

// normalEncoding returns a Content-Encoding header value in one spelling: lower case, no
// spaces, "identity" for none, "gzip" for its x- alias.
func normalEncoding(v string) string {
	v = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v), " ", ""))
	switch v {
	case "", EncodingIdentity:
		return EncodingIdentity
	case "x-gzip":
		return "gzip"
	}
	return v
}

// stepEncoding is the content-encoding a step line's bytes are in: what the line says,
// identity for values that are not HTTP-shaped (their bytes are their JSON), "" when an
// HTTP-shaped result or a stream did not say.
func stepEncoding(s line.Step) string {
	switch {
	case s.Enc != "":
		return normalEncoding(s.Enc)
	case s.Kind == "json" || s.Kind == "undefined":
		return EncodingIdentity
	}
	return ""
}

// encoding is the content-encoding of the body the runtime sent: its Content-Encoding
// header for HTTP-shaped results and function-URL streams, identity for anything else
// (the whole result is the body), "" when the headers were too large to read.
func (r *Response) encoding() string {
	switch {
	case r.HeadersUnread:
		return ""
	case r.HTTP:
		return normalEncoding(r.ContentEncoding)
	}
	return EncodingIdentity
}

// decodedSize is a stage's body length after content decoding, when it is known: stated
// by the stage, or its bytes when they are not encoded.
func (s Stage) decodedSize() (int64, bool) {
	switch {
	case s.Decoded != nil:
		return *s.Decoded, true
	case s.Enc == EncodingIdentity:
		return s.Bytes, true
	}
	return 0, false
}
