package capture

import (
	"slices"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    func(Config) bool
		problem string // a fragment every problem must contain; "" means no problem
	}{
		{name: "defaults", env: nil, want: func(c Config) bool {
			return c.Mode == Metadata && c.MaxBytes == 4096 && slices.Equal(c.RedactKeys, DefaultRedactKeys) &&
				slices.Equal(c.RedactHeaders, DefaultRedactHeaders)
		}},
		{name: "off", env: map[string]string{"BODYTRACE_CAPTURE": "off"}, want: func(c Config) bool { return c.Mode == Off }},
		{name: "body, any case", env: map[string]string{"BODYTRACE_CAPTURE": " Body "}, want: func(c Config) bool { return c.Mode == Body }},
		{name: "bad mode", env: map[string]string{"BODYTRACE_CAPTURE": "all"},
			want: func(c Config) bool { return c.Mode == Metadata }, problem: "BODYTRACE_CAPTURE=\"all\" is not valid: use one of off, metadata, body"},
		{name: "max bytes", env: map[string]string{"BODYTRACE_CAPTURE_MAX_BYTES": "1024"}, want: func(c Config) bool { return c.MaxBytes == 1024 }},
		{name: "max bytes not a number", env: map[string]string{"BODYTRACE_CAPTURE_MAX_BYTES": "4k"},
			want: func(c Config) bool { return c.MaxBytes == 4096 }, problem: "BODYTRACE_CAPTURE_MAX_BYTES=\"4k\" is not valid: use a whole number of bytes from 64 to 65536"},
		{name: "max bytes too small", env: map[string]string{"BODYTRACE_CAPTURE_MAX_BYTES": "0"},
			want: func(c Config) bool { return c.MaxBytes == 4096 }, problem: "BODYTRACE_CAPTURE_MAX_BYTES"},
		{name: "max bytes too large", env: map[string]string{"BODYTRACE_CAPTURE_MAX_BYTES": "10000000"},
			want: func(c Config) bool { return c.MaxBytes == 4096 }, problem: "from 64 to 65536"},
		{name: "redact keys add to the defaults", env: map[string]string{"BODYTRACE_REDACT_KEYS": " SSN, iban ,"},
			want: func(c Config) bool {
				return slices.Contains(c.RedactKeys, "ssn") && slices.Contains(c.RedactKeys, "iban") && slices.Contains(c.RedactKeys, "password")
			}},
		{name: "redact keys empty list", env: map[string]string{"BODYTRACE_REDACT_KEYS": " , ,"},
			want: func(c Config) bool { return slices.Equal(c.RedactKeys, DefaultRedactKeys) }, problem: "BODYTRACE_REDACT_KEYS=\" , ,\" is not valid: use a comma-separated list"},
		{name: "redact keys too many", env: map[string]string{"BODYTRACE_REDACT_KEYS": strings.Repeat("k,", 100)},
			want: func(c Config) bool { return slices.Equal(c.RedactKeys, DefaultRedactKeys) }, problem: "BODYTRACE_REDACT_KEYS has 100 names: use at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, problems := FromEnv(func(k string) string { return tt.env[k] })
			if !tt.want(c) {
				t.Errorf("config = %+v", c)
			}
			switch {
			case tt.problem == "" && len(problems) > 0:
				t.Errorf("unexpected problems: %q", problems)
			case tt.problem != "" && (len(problems) != 1 || !strings.Contains(problems[0], tt.problem)):
				t.Errorf("problems = %q, want one containing %q", problems, tt.problem)
			}
		})
	}
}

func TestSensitiveKey(t *testing.T) {
	c := Default()
	for _, k := range []string{"password", "Password", "USER_PASSWORD", "apiKey", "x-api-key", "accessToken",
		"client_secret", "sessionId", "Set-Cookie", "AWS_CREDENTIALS", "passwd"} {
		if !c.sensitiveKey(k) {
			t.Errorf("%q is not sensitive", k)
		}
	}
	for _, k := range []string{"user", "id", "page", "content-type", "name"} {
		if c.sensitiveKey(k) {
			t.Errorf("%q is sensitive", k)
		}
	}
}
