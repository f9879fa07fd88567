package capture

import (
	"fmt"
	"strconv"
	"strings"
)

// Mode says how much of a payload is captured (BODYTRACE_CAPTURE).
type Mode string

// Capture modes. Metadata is the default: bodies stay out unless asked for.
const (
	// Off captures nothing; the record keeps only sizes.
	Off Mode = "off"
	// Metadata captures the path, headers and query parameters, redacted, and no body.
	Metadata Mode = "metadata"
	// Body captures Metadata plus the body and result documents, redacted and capped.
	Body Mode = "body"
)

// Defaults and bounds of the settings.
const (
	DefaultMode     = Metadata
	DefaultMaxBytes = 4096
	MinMaxBytes     = 64
	MaxMaxBytes     = 64 << 10
	// maxKeys bounds the redaction list: every captured name is compared with each entry.
	maxKeys = 64
)

// Redacted replaces every value bodytrace does not copy.
const Redacted = "[redacted]"

// DefaultRedactHeaders are the headers whose values are never captured.
var DefaultRedactHeaders = []string{
	"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
	"x-amz-security-token", "x-auth-token", "x-csrf-token",
}

// DefaultRedactKeys are the name fragments that mark a query parameter, form field, JSON
// key or header as sensitive.
var DefaultRedactKeys = []string{
	"password", "passwd", "secret", "token", "key", "authorization", "cookie", "session", "credential",
}

// Config says what to capture and what to redact. The zero value captures nothing; use
// Default or FromEnv.
type Config struct {
	Mode Mode
	// MaxBytes caps a Sample (names and values together) and a JSON result (BODYTRACE_CAPTURE_MAX_BYTES).
	MaxBytes int
	// RedactHeaders are header names, compared case-insensitively, whose values are redacted.
	RedactHeaders []string
	// RedactKeys are lower-case fragments: a name matches when its lower-cased form contains
	// one (BODYTRACE_REDACT_KEYS adds to DefaultRedactKeys).
	RedactKeys []string
}

// Default is the configuration with no variable set.
func Default() Config {
	return Config{
		Mode:          DefaultMode,
		MaxBytes:      DefaultMaxBytes,
		RedactHeaders: append([]string(nil), DefaultRedactHeaders...),
		RedactKeys:    append([]string(nil), DefaultRedactKeys...),
	}
}

// FromEnv reads BODYTRACE_CAPTURE (off, metadata, body), BODYTRACE_CAPTURE_MAX_BYTES and
// BODYTRACE_REDACT_KEYS through getenv. An invalid value is never fatal: it is reported in
// problems, naming the variable and the accepted values, and its default is used.
//
// BODYTRACE_REDACT_KEYS adds to DefaultRedactKeys rather than replacing them, so setting it
// can only redact more.
func FromEnv(getenv func(string) string) (Config, []string) {
	c := Default()
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if v := strings.ToLower(strings.TrimSpace(getenv("BODYTRACE_CAPTURE"))); v != "" {
		switch Mode(v) {
		case Off, Metadata, Body:
			c.Mode = Mode(v)
		default:
			problem("BODYTRACE_CAPTURE=%q is not valid: use one of off, metadata, body; using %q", v, DefaultMode)
		}
	}
	if v := strings.TrimSpace(getenv("BODYTRACE_CAPTURE_MAX_BYTES")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < MinMaxBytes || n > MaxMaxBytes {
			problem("BODYTRACE_CAPTURE_MAX_BYTES=%q is not valid: use a whole number of bytes from %d to %d; using %d",
				v, MinMaxBytes, MaxMaxBytes, DefaultMaxBytes)
		} else {
			c.MaxBytes = n
		}
	}
	if v := getenv("BODYTRACE_REDACT_KEYS"); strings.TrimSpace(v) != "" {
		var extra []string
		for _, k := range strings.Split(v, ",") {
			if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
				extra = append(extra, k)
			}
		}
		switch {
		case len(extra) == 0:
			problem("BODYTRACE_REDACT_KEYS=%q is not valid: use a comma-separated list of names such as ssn,iban; using the defaults (%s)",
				v, strings.Join(DefaultRedactKeys, ","))
		case len(extra)+len(c.RedactKeys) > maxKeys:
			problem("BODYTRACE_REDACT_KEYS has %d names: use at most %d; using the defaults (%s)",
				len(extra), maxKeys-len(DefaultRedactKeys), strings.Join(DefaultRedactKeys, ","))
		default:
			c.RedactKeys = append(c.RedactKeys, extra...)
		}
	}
	return c, problems
}

// sensitiveKey reports whether a query parameter, form field or JSON key is redacted.
func (c Config) sensitiveKey(name string) bool {
	name = strings.ToLower(name)
	for _, k := range c.RedactKeys {
		if k != "" && strings.Contains(name, k) {
			return true
		}
	}
	return false
}

// sensitiveHeader reports whether a header's value is redacted.
func (c Config) sensitiveHeader(name string) bool {
	for _, h := range c.RedactHeaders {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return c.sensitiveKey(name)
}
