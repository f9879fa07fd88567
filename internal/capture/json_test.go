package capture

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func bodyConfig(max int) Config {
	c := Default()
	c.Mode, c.MaxBytes = Body, max
	return c
}

func TestJSON(t *testing.T) {
	c := bodyConfig(MaxMaxBytes)
	tests := []struct {
		name, in string
		want     string // exact output, or "" to only check for the secret
	}{
		{"flat", `{"a":1,"password":"` + secret + `","b":[true,null,"x"]}`, `{"a":1,"password":"[redacted]","b":[true,null,"x"]}`},
		{"any casing", `{"X-Api-KEY":"` + secret + `","AccessToken":{"v":"` + secret + `"}}`, `{"X-Api-KEY":"[redacted]","AccessToken":"[redacted]"}`},
		{"arrays of objects", `[{"ok":1},[{"Secret":["` + secret + `"]}]]`, `[{"ok":1},[{"Secret":"[redacted]"}]]`},
		{"escaped key", `{"pa\u0073sword":"` + secret + `"}`, `{"password":"[redacted]"}`},
		{"numbers kept exactly", `{"n":12345678901234567890.5e3}`, `{"n":12345678901234567890.5e3}`},
		{"html kept readable", `{"html":"<b>&</b>"}`, `{"html":"<b>&</b>"}`},
		{"api gateway result", `{"statusCode":200,"headers":{"Set-Cookie":"sid=` + secret + `","content-type":"application/json"},` +
			`"multiValueHeaders":{"set-cookie":["a=` + secret + `"]},"cookies":["sid=` + secret + `"],"body":"{\"token\":\"` + secret + `\",\"ok\":true}"}`,
			`{"statusCode":200,"headers":{"Set-Cookie":"[redacted]","content-type":"application/json"},"multiValueHeaders":{"set-cookie":"[redacted]"},"cookies":"[redacted]","body":"{\"token\":\"[redacted]\",\"ok\":true}"}`},
		{"text in a string stays", `{"msg":"[INFO] started"}`, `{"msg":"[INFO] started"}`},
		{"scalar", `"just a string"`, `"just a string"`},
		{"trailing garbage ignored", `{"a":1} {"password":"` + secret + `"}`, `{"a":1}`},
		{"not json", `password=` + secret, "[not JSON, 20 bytes]"},
		{"not json, bracketed text", `{password: "` + secret + `"}`, "[not JSON, 25 bytes]"},
		{"cut document", `{"a":"visible","token":"` + secret + `","b":`, `{"a":"visible","token":"[redacted]","b":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.JSON([]byte(tt.in))
			if strings.Contains(got, secret) {
				t.Errorf("secret leaked: %s", got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("JSON(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestJSONCap(t *testing.T) {
	doc := `{"a":"` + strings.Repeat("ü", 3000) + `","password":"` + secret + `","n":[` + strings.Repeat("1,", 3000) + `1]}`
	for _, max := range []int{MinMaxBytes, 100, 1000, 4096} {
		got := bodyConfig(max).JSON([]byte(doc))
		if len(got) > max || !strings.HasSuffix(got, TruncatedMark) || !utf8.ValidString(got) || strings.Contains(got, secret) {
			t.Errorf("MaxBytes %d: %d bytes, %q...", max, len(got), got[:min(len(got), 40)])
		}
	}
}

// deep returns n nested arrays or objects around inner.
func deep(n int, open, close, inner string) string {
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

func TestJSONDepth(t *testing.T) {
	c := bodyConfig(MaxMaxBytes)
	tests := []struct{ name, in string }{
		{"secret past the depth limit", deep(40, `{"a":`, `}`, `{"password":"`+secret+`"}`)},
		{"secret value past the depth limit", deep(40, `[`, `]`, `"`+secret+`"`)},
		{"json string past the depth limit", deep(40, `[`, `]`, `"{\"token\":\"`+secret+`\"}"`)},
		{"json strings nested in json strings", nestedStrings(17)},
		{"deeper than encoding/json allows", deep(20000, `[`, `]`, `{"token":"`+secret+`"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.JSON([]byte(tt.in))
			if strings.Contains(got, `"token":"`+secret) || strings.Contains(got, `"password":"`+secret) || strings.Contains(got, `\"token\":\"`+secret) {
				t.Errorf("secret leaked: %s", got)
			}
			if len(got) > MaxMaxBytes {
				t.Errorf("%d bytes", len(got))
			}
			if tt.name != "secret value past the depth limit" && strings.Contains(got, secret) {
				t.Errorf("secret leaked: %s", got)
			}
		})
	}
	// Depth limit replaces the subtree, the levels above stay.
	got := c.JSON([]byte(deep(40, `[`, `]`, `1`)))
	if want := deep(MaxDepth, `[`, `]`, `"`+DepthLimit+`"`); got != want {
		t.Errorf("depth limit:\n got %s\nwant %s", got, want)
	}
}

// nestedStrings is a JSON document holding a JSON document in a string, n times over,
// with a secret at the bottom.
func nestedStrings(n int) string {
	doc := `{"token":"` + secret + `"}`
	for range n {
		b, _ := json.Marshal(map[string]string{"inner": doc})
		doc = string(b)
	}
	return doc
}

// Huge inputs cost a bounded output, whatever their size: the input is read once, the
// output stops at the cap.
func TestJSONHuge(t *testing.T) {
	c := bodyConfig(DefaultMaxBytes)
	big := bytes.Repeat([]byte(`{"id":12345,"name":"row","token":"`+secret+`"},`), 120000) // ~6 MB
	doc := append(append([]byte(`{"rows":[`), big...), `{}]}`...)
	got := c.JSON(doc)
	if len(got) > DefaultMaxBytes || strings.Contains(got, secret) {
		t.Errorf("%d bytes, leaked=%v", len(got), strings.Contains(got, secret))
	}
	// A huge redacted subtree is skipped, and what follows it is kept.
	doc = append(append([]byte(`{"password":[`), big...), `{}],"after":"visible"}`...)
	if got := c.JSON(doc); got != `{"password":"[redacted]","after":"visible"}` {
		t.Errorf("skipped subtree: %.200s", got)
	}
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":"c"}]}`, `"{\"x\":1}"`, `{"password":"x"}`, "\xff", `[[[[`, `{"a":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	c := bodyConfig(256)
	f.Fuzz(func(t *testing.T, in []byte) {
		got := c.JSON(in)
		if len(got) > 256 || !utf8.ValidString(got) {
			t.Fatalf("%d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
		}
		// The same input under a sensitive key never shows through.
		if !bytes.Contains(in, []byte(secret)) && json.Valid(in) {
			wrapped := []byte(`{"password":` + string(in) + `,"t":"` + secret + `"}`)
			c2 := bodyConfig(MaxMaxBytes)
			c2.RedactKeys = append(c2.RedactKeys, "t")
			if got := c2.JSON(wrapped); strings.Contains(got, secret) {
				t.Fatalf("secret leaked: %s", got)
			}
		}
	})
}

func BenchmarkEventHugeBody(b *testing.B) {
	c := bodyConfig(DefaultMaxBytes)
	body, _ := json.Marshal(strings.Repeat(`{"id":1,"token":"x"},`, 250000))
	ev := []byte(`{"version":"2.0","rawPath":"/","headers":{"authorization":"x"},"requestContext":{},"body":` + string(body) + `}`)
	b.SetBytes(int64(len(ev)))
	for b.Loop() {
		c.Event(ev)
	}
}
