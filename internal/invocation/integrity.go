package invocation

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A body can reach Lambda whole in length and still be lost to the caller: binary bytes
// turned into a UTF-8 string (each invalid byte a U+FFFD) and sent without
// isBase64Encoded, an image base64-encoded twice, HTTP chunk framing passed on as body.
// The proxy keeps a few facts about a buffered result's body as it streams past (its
// first and last decoded bytes, its replacement characters), and the checks below judge
// them against the result's own headers. Each check needs positive evidence; where the
// evidence is weaker the answer is unknown, never lost.

// Evidence is what the proxy kept of a result's headers and body besides its length.
type Evidence struct {
	Location         string // the Location header
	TransferEncoding string // the Transfer-Encoding header
	// BodyHead holds the first decoded body bytes (after base64 when isBase64Encoded), up
	// to bodyHeadMax; BodyTail the last ones, up to bodyTailMax. Strings, so a Response
	// stays comparable.
	BodyHead string
	BodyTail string
	// Replacements counts U+FFFD characters in a body string: what binary bytes become
	// when they are read as UTF-8 text.
	Replacements int64
}

const (
	bodyHeadMax = 16
	bodyTailMax = 12
	// headRawMax and tailRawMax are the bytes of the body string kept to find them:
	// enough base64 text for bodyHeadMax and bodyTailMax bytes with line breaks between.
	headRawMax = 64
	tailRawMax = 24
)

// setBodyEvidence fills BodyHead and BodyTail from the first and last bytes of the body
// string (at most headRawMax and tailRawMax of them), decoding base64 when the result
// says it is. The scanner and ParseBuffered both come here, so they agree.
func (e *Evidence) setBodyEvidence(head, tail []byte, isBase64 bool) {
	if !isBase64 {
		e.BodyHead = clip(head, bodyHeadMax, false)
		e.BodyTail = clip(tail, bodyTailMax, true)
		return
	}
	if h := dropLineBreaks(head); len(h) >= 4 {
		h = h[:len(h)/4*4]
		if d, err := base64.StdEncoding.DecodeString(string(h)); err == nil {
			e.BodyHead = clip(d, bodyHeadMax, false)
		}
	}
	if t := dropLineBreaks(tail); len(t) >= 4 {
		// The body's base64 characters come in fours (or it is not base64 and judged so),
		// so a suffix that is a multiple of four starts on a boundary.
		t = t[len(t)%4:]
		if d, err := base64.StdEncoding.DecodeString(string(t)); err == nil {
			e.BodyTail = clip(d, bodyTailMax, true)
		}
	}
}

func clip(b []byte, n int, last bool) string {
	if len(b) > n {
		if last {
			b = b[len(b)-n:]
		} else {
			b = b[:n]
		}
	}
	return string(b)
}

func dropLineBreaks(b []byte) []byte {
	if !bytes.ContainsAny(b, "\r\n") {
		return b
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return out
}

// textEvidence fills the body facts ParseBuffered reads from a whole body string.
func (e *Evidence) textEvidence(body string, isBase64 bool) {
	b := []byte(body)
	head, tail := b[:min(len(b), headRawMax)], b[max(0, len(b)-tailRawMax):]
	e.setBodyEvidence(head, tail, isBase64)
	e.Replacements = int64(strings.Count(body, string(utf8.RuneError)))
}

// signatures are the first bytes of the binary formats a content type names for sure;
// text and container formats whose signature sits further in are left out.
var signatures = map[string][][]byte{
	"image/png":                {[]byte("\x89PNG\r\n\x1a\n")},
	"image/jpeg":               {[]byte("\xff\xd8\xff")},
	"image/gif":                {[]byte("GIF87a"), []byte("GIF89a")},
	"image/webp":               {[]byte("RIFF")},
	"image/x-icon":             {[]byte("\x00\x00\x01\x00")},
	"image/vnd.microsoft.icon": {[]byte("\x00\x00\x01\x00")},
	"application/pdf":          {[]byte("%PDF-")},
	"application/zip":          {[]byte("PK\x03\x04"), []byte("PK\x05\x06")},
	"application/gzip":         {[]byte("\x1f\x8b")},
	"application/x-gzip":       {[]byte("\x1f\x8b")},
	"font/woff":                {[]byte("wOFF")},
	"font/woff2":               {[]byte("wOF2")},
}

// formatName is how a reason names a content type's format.
func formatName(mediaType string) string {
	_, sub, _ := strings.Cut(mediaType, "/")
	return strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(sub, "x-"), "vnd.microsoft."))
}

// gzipMagic starts every gzip member (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// chunkSizeLine is the first line of HTTP/1.1 chunked framing: a hex size, extensions, CRLF.
var chunkSizeLine = lazyRegexp(`^([0-9A-Fa-f]{1,8})(?:;[^\r\n]*)?\r\n`)

// mediaType is a Content-Type without its parameters, in lower case.
func mediaType(contentType string) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		return mt
	}
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// binaryType reports whether a media type names bytes that are not text, so that
// replacement characters in its body can only be binary read as text.
func binaryType(mt string) bool {
	if signatures[mt] != nil || mt == "application/octet-stream" {
		return true
	}
	if strings.HasSuffix(mt, "+xml") || strings.HasSuffix(mt, "+json") {
		return false // image/svg+xml and the like are text
	}
	for _, p := range []string{"image/", "audio/", "video/", "font/"} {
		if strings.HasPrefix(mt, p) {
			return true
		}
	}
	return false
}

// intactBody judges whether a non-empty buffered HTTP result's body is what its headers
// say it is. It answers lost:handler with the reason when the evidence shows the body
// corrupt, unknown when it only disagrees with a header, and false when nothing is wrong
// or nothing can be told.
func (r *Record) intactBody() (Verdict, bool) {
	resp := r.Response
	if resp == nil || resp.Mode != ModeBuffered || !resp.HTTP || resp.BodyBytes <= 0 || resp.BadBase64 || resp.HeadersUnread {
		return Verdict{}, false
	}
	code := resp.StatusCode
	if code == http.StatusNoContent || code == http.StatusNotModified || code < 200 ||
		r.Request != nil && r.Request.Method == http.MethodHead {
		return Verdict{}, false // no body is expected, so none is judged
	}
	head, tail := []byte(resp.BodyHead), []byte(resp.BodyTail)
	asText := !resp.IsBase64Encoded && resp.Replacements > 0
	mt := mediaType(resp.ContentType)
	enc := resp.encoding()

	if strings.Contains(strings.ToLower(resp.TransferEncoding), "chunked") &&
		chunkSizeLine().Match(head) && bytes.HasSuffix(tail, []byte("\r\n\r\n")) {
		return lost("handler", "the body holds HTTP chunk framing (it starts with a chunk-size line, 0x%s, and ends with the chunked terminator): the adapter passed transfer-encoding: chunked on as body instead of decoding it", chunkSizeLine().FindSubmatch(head)[1]), true
	}
	switch {
	case enc == "gzip" && len(head) >= len(gzipMagic) && !bytes.HasPrefix(head, gzipMagic):
		if asText {
			return lost("handler", "content-encoding gzip but the body is not gzip: binary sent without isBase64Encoded (%d U+FFFD replacement characters in the body)", resp.Replacements), true
		}
		if !resp.IsBase64Encoded && bytes.HasPrefix(head, []byte("H4sI")) {
			// API Gateway REST can be set to convert such text to binary itself.
			return Verdict{Verdict: VerdictUnknown, Reason: "content-encoding gzip but the body is gzip's base64 text without isBase64Encoded: the caller gets the text unless the gateway converts it (API Gateway contentHandling CONVERT_TO_BINARY)"}, true
		}
		return lost("handler", "content-encoding gzip but the body does not start with gzip's bytes (1f 8b)%s", notBase64(resp)), true
	case enc != EncodingIdentity && enc != "" && asText:
		return lost("handler", "content-encoding %s but the body was sent as text: binary sent without isBase64Encoded (%d U+FFFD replacement characters in the body)", enc, resp.Replacements), true
	}
	if enc == EncodingIdentity {
		if v, ok := r.contentLengthAgrees(asText); !ok {
			return v, true
		}
		if sigs := signatures[mt]; sigs != nil && code < 300 && code != http.StatusPartialContent && resp.BodyBytes >= int64(len(sigs[0])) && !hasAnyPrefix(head, sigs) {
			switch {
			case asText:
				return lost("handler", "content-type %s but the body is not a %s: binary sent without isBase64Encoded (%d U+FFFD replacement characters in the body)", mt, formatName(mt), resp.Replacements), true
			case hasAnyPrefix(head, base64Signatures(sigs)) && resp.IsBase64Encoded:
				return lost("handler", "content-type %s but the body is base64 text, not a %s: it was base64-encoded twice (send the bytes, or the base64 once with isBase64Encoded)", mt, formatName(mt)), true
			case hasAnyPrefix(head, base64Signatures(sigs)):
				// API Gateway REST can be set to convert such text to binary itself.
				return Verdict{Verdict: VerdictUnknown, Reason: fmt.Sprintf("content-type %s but the body is the base64 text of a %s without isBase64Encoded: the caller gets the text unless the gateway converts it (API Gateway contentHandling CONVERT_TO_BINARY)", mt, formatName(mt))}, true
			}
			return lost("handler", "content-type %s but the body does not start with a %s signature", mt, formatName(mt)), true
		}
	}
	if asText && binaryType(mt) {
		return lost("handler", "content-type %s but the body was sent as text: binary sent without isBase64Encoded (%d U+FFFD replacement characters in the body)", mt, resp.Replacements), true
	}
	return Verdict{}, false
}

// contentLengthAgrees compares an identity body's length with its Content-Length header.
// A body shorter than its header says is short; a longer one is binary read as text when
// it holds replacement characters, and otherwise only a header that may count characters
// (the gateway sends its own), so unknown.
func (r *Record) contentLengthAgrees(asText bool) (Verdict, bool) {
	resp := r.Response
	want, err := strconv.ParseInt(strings.TrimSpace(resp.ContentLength), 10, 64)
	if err != nil || want < 0 || want == resp.BodyBytes {
		return Verdict{}, true
	}
	switch {
	case resp.BodyBytes < want:
		return lost("handler", "short: %d of %d bytes: the body is shorter than its content-length", resp.BodyBytes, want), false
	case asText:
		return lost("handler", "content-length %d but the body has %d bytes: binary sent without isBase64Encoded (%d U+FFFD replacement characters in the body)", want, resp.BodyBytes, resp.Replacements), false
	}
	return Verdict{Verdict: VerdictUnknown, Reason: fmt.Sprintf("content-length %d but the body has %d bytes: either the header counts characters, not bytes, or the body was changed after it was set", want, resp.BodyBytes)}, false
}

func hasAnyPrefix(b []byte, prefixes [][]byte) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	return false
}

// base64Signatures are the base64 text a body starts with when it is the format's bytes
// base64-encoded: whole groups of three bytes only, so the text does not depend on what follows.
func base64Signatures(sigs [][]byte) [][]byte {
	out := make([][]byte, 0, len(sigs))
	for _, s := range sigs {
		if n := len(s) / 3 * 3; n > 0 {
			out = append(out, []byte(base64.StdEncoding.EncodeToString(s[:n])))
		}
	}
	return out
}

func notBase64(resp *Response) string {
	if resp.IsBase64Encoded {
		return ""
	}
	return ": compressed bytes need isBase64Encoded"
}

// redirectStatus reports whether code is a redirect that sends the client to Location.
func redirectStatus(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}
