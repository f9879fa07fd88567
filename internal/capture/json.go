package capture

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxDepth is the nesting depth past which a JSON object or array is replaced by DepthLimit.
const MaxDepth = 32

// Markers that stand in for what a sample leaves out.
const (
	DepthLimit    = "[depth limit]"
	TruncatedMark = "…"
)

// JSON returns the JSON document v (a result payload, an event) with the values of
// sensitive keys redacted at any depth, objects and arrays nested deeper than MaxDepth
// replaced, and the whole capped at MaxBytes, ending with TruncatedMark when cut. Input
// that is not JSON comes back as its size only. JSON returns "" unless the mode is Body.
func (c Config) JSON(v []byte) string {
	if c.Mode != Body || c.MaxBytes <= 0 {
		return ""
	}
	r := c.redactor(c.MaxBytes - len(TruncatedMark))
	if !r.document(v, 0) {
		return fmt.Sprintf("[not JSON, %d bytes]", len(v))
	}
	if r.full {
		return string(r.out) + TruncatedMark
	}
	return string(r.out)
}

// redactor copies a JSON document token by token, so that a sensitive value is skipped
// before anything is copied and the copy stops as soon as the cap is reached: the cost is
// bounded by the cap plus a scan of what is skipped, whatever the input's size or depth.
// (encoding/json's Decoder has no such mode, hence this type.)
type redactor struct {
	cfg    Config
	out    []byte
	limit  int
	full   bool // the output reached limit and was cut
	tokens int  // tokens read, to tell JSON from text that merely starts with a bracket
}

func (c Config) redactor(limit int) *redactor {
	return &redactor{cfg: c, limit: max(limit, 0)}
}

// document copies the first JSON value of data. It returns false when data is not JSON:
// it failed before its second token (so text such as "[INFO] ..." is not mistaken for a
// document). A document cut short by the cap or by the end of its input returns true with
// what was copied so far, all of it redacted.
func (r *redactor) document(data []byte, depth int) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	complete := r.value(dec, depth)
	return complete || r.full || r.tokens > 1
}

// value copies the next value of dec; false means stop (output full or input not JSON).
func (r *redactor) value(dec *json.Decoder, depth int) bool {
	if depth >= MaxDepth {
		return r.deep(dec)
	}
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	r.tokens++
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return r.array(dec, depth)
		}
		return r.object(dec, depth)
	case string:
		return r.str(t, depth)
	case json.Number:
		return r.write(string(t))
	case bool:
		return r.write(fmt.Sprint(t))
	case nil:
		return r.write("null")
	}
	return false
}

func (r *redactor) object(dec *json.Decoder, depth int) bool {
	if !r.write("{") {
		return false
	}
	for first := true; dec.More(); first = false {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		r.tokens++
		key, _ := tok.(string) // the Decoder only returns strings for keys
		if !first && !r.write(",") {
			return false
		}
		if !r.write(quote(r.cut(key))) || !r.write(":") {
			return false
		}
		if r.cfg.sensitiveKey(key) {
			if !skip(dec) || !r.write(quote(Redacted)) {
				return false
			}
			continue
		}
		if !r.value(dec, depth+1) {
			return false
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return false
	}
	return r.write("}")
}

func (r *redactor) array(dec *json.Decoder, depth int) bool {
	if !r.write("[") {
		return false
	}
	for first := true; dec.More(); first = false {
		if !first && !r.write(",") {
			return false
		}
		if !r.value(dec, depth+1) {
			return false
		}
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return false
	}
	return r.write("]")
}

// str copies a string value. A string holding a JSON document (an API Gateway result's
// body, a message's payload) is redacted as a document of its own.
func (r *redactor) str(s string, depth int) bool {
	if t := strings.TrimLeft(s, " \t\r\n"); t != "" && (t[0] == '{' || t[0] == '[') {
		inner := r.cfg.redactor(r.limit - len(r.out))
		if inner.document([]byte(s), depth+1) {
			s = string(inner.out)
		}
	}
	return r.write(quote(r.cut(s)))
}

// deep replaces an object or array past MaxDepth, and copies a scalar.
func (r *redactor) deep(dec *json.Decoder) bool {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil || len(raw) == 0 {
		return false
	}
	r.tokens++
	switch raw[0] {
	case '{', '[':
		return r.write(quote(DepthLimit))
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return false
		}
		return r.str(s, MaxDepth) // a JSON document inside it becomes DepthLimit
	}
	return r.write(string(raw))
}

// skip reads past the next value without copying it.
func skip(dec *json.Decoder) bool {
	var raw json.RawMessage
	return dec.Decode(&raw) == nil
}

// cut shortens s to what can still be written, so a huge string is not quoted whole.
func (r *redactor) cut(s string) string {
	return cutUTF8(s, r.limit-len(r.out))
}

// write appends s, or as much of it as fits; false once the output is full.
func (r *redactor) write(s string) bool {
	if r.full {
		return false
	}
	if room := r.limit - len(r.out); len(s) > room {
		r.out = append(r.out, cutUTF8(s, room)...)
		r.full = true
		return false
	}
	r.out = append(r.out, s...)
	return true
}

// quote returns s as a JSON string, without the HTML escaping json.Marshal adds.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes; invalid UTF-8 becomes U+FFFD
	return strings.TrimSuffix(b.String(), "\n")
}

// cutUTF8 returns at most n bytes of s, not splitting a character.
func cutUTF8(s string, n int) string {
	if n >= len(s) {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
