package secrets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Headers turns a stored value into an OTEL_EXPORTER_OTLP_HEADERS string. The value is
// either that string already (key=value pairs, comma separated, values percent-encoded)
// or a JSON object of header names to values, as the Secrets Manager console stores
// key/value secrets. Errors describe the value's shape, never its content.
func Headers(value string) (string, error) {
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return "", errors.New("the value is empty")
	case value[0] == '{':
		return fromJSON(value)
	}
	// Checked here because the OpenTelemetry SDK logs a value it cannot decode.
	for i, pair := range strings.Split(value, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return "", fmt.Errorf("pair %d has no '=': use name=value pairs separated by commas, or a JSON object", i+1)
		}
		if !validName(strings.TrimSpace(k)) {
			return "", fmt.Errorf("pair %d: the header name is not a valid HTTP header name", i+1)
		}
		decoded, err := url.PathUnescape(v)
		if err != nil {
			return "", fmt.Errorf("pair %d: the value is not correctly percent-encoded", i+1)
		}
		if !validValue(decoded) {
			return "", fmt.Errorf("pair %d: the value holds control characters", i+1)
		}
	}
	return value, nil
}

func fromJSON(value string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber()
	var m map[string]any
	// encoding/json's messages quote the input; this one does not.
	if dec.Decode(&m) != nil || dec.More() {
		return "", errors.New("the value starts with '{' but is not a JSON object")
	}
	if len(m) == 0 {
		return "", errors.New("the value is an empty JSON object")
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		var v string
		switch x := m[k].(type) {
		case string:
			v = x
		case json.Number:
			v = x.String()
		default:
			return "", errors.New("a JSON value is not a string: use {\"header-name\": \"value\"}")
		}
		name := strings.TrimSpace(k)
		if !validName(name) {
			return "", errors.New("a JSON key is not a valid HTTP header name")
		}
		if !validValue(v) {
			return "", errors.New("a JSON value holds control characters")
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name + "=" + url.PathEscape(strings.TrimSpace(v)))
	}
	return b.String(), nil
}

// validName reports whether s is an HTTP token, as the OpenTelemetry SDK requires.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0) {
			return false
		}
	}
	return true
}

// validValue rejects what no HTTP header or gRPC metadata value may hold.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
