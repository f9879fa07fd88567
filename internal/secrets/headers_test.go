package secrets

import (
	"strings"
	"testing"
)

func TestHeaders(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "x-honeycomb-team=abc", want: "x-honeycomb-team=abc"},
		{in: " a=1, b=2%20x ", want: "a=1, b=2%20x"},
		{in: `{"b":"two words","a":"x=y,z"}`, want: "a=x=y%2Cz,b=two%20words"},
		{in: `{"n":42}`, want: "n=42"},
		{in: "", err: "empty"},
		{in: "{}", err: "empty JSON object"},
		{in: "just-a-key", err: "has no '='"},
		{in: "bad name=x", err: "not a valid HTTP header name"},
		{in: "a=%zz", err: "percent-encoded"},
		{in: "a=%0A", err: "control characters"},
		{in: `{"a":"x\n"}`, err: "control characters"},
		{in: `{"a b":"x"}`, err: "not a valid HTTP header name"},
		{in: `{"a":true}`, err: "not a string"},
		{in: `{"a":"x"} {"b":"y"}`, err: "not a JSON object"},
		{in: `{"a":"x"`, err: "not a JSON object"},
	}
	for _, tt := range tests {
		got, err := Headers(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("Headers(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Headers(%q) error = %v; want one containing %q", tt.in, err, tt.err)
		}
	}
}

// A value's content never reaches an error, whatever is wrong with it.
func FuzzHeadersErrorsHideValue(f *testing.F) {
	for _, s := range []string{"a=b", `{"a":"b"}`, "zzzzzzzz", "a=%zz", `{"a":[1]}`, "{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		const marker = "Q7SECRETQ7"
		for _, v := range []string{value + marker, marker + value, `{"k":"` + marker + value + `"}`, "k=" + marker + value} {
			if _, err := Headers(v); err != nil && strings.Contains(err.Error(), marker) {
				t.Fatalf("error %q shows the value", err)
			}
		}
	})
}
