package line

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzParse: any bytes (a log line, a datagram) are either a valid step or rejected
// with an error wrapping ErrRejected; never a panic, never a step breaking the
// documented invariants; an accepted step formats back to a line that parses to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`@bodytrace/step {"v":1,"rid":"r1","seq":0,"stage":"handler","phase":"out","bytes":2048,"kind":"http","status":200}`,
		"2026-11-25T13:00:00Z\tr1\tINFO\t@bodytrace/step {\"v\":1,\"rid\":\"r1\",\"stage\":\"write\",\"after\":12.5,\"bytes\":3,\"who\":\"sentry\"}\n",
		`@bodytrace/step {"v":1,"rid":"r","stage":"handler","bytes":-1}`,
		`@bodytrace/step {"v":2,"rid":"r","stage":"handler"}`,
		"@bodytrace/step {\"v\":1,\"rid\":\"\xff\",\"stage\":\"handler\"}",
		`@bodytrace/step {"v":1,"rid":"r","stage":"s","bytes":1e300}`,
		`@bodytrace/step {"v":1,"rid":"r","stage":"s","bytes":9223372036854775807,"seq":-5,"status":-1}`,
		`@bodytrace/step {"v":1,"rid":"r","stage":"s","RID":"R","Stage":"S"}`,
		`@bodytrace/step @bodytrace/step {"v":1,"rid":"r","stage":"s"}`,
		"@bodytrace/step {\"v\":1,\"rid\":\"r\",\"stage\":\"s\"}\n@bodytrace/step garbage",
		`@bodytrace/step {"v":1,"rid":"r","stage":"s","note":"\u003c\u0000\ud800"}`,
		"@bodytrace/step",
		"",
		`@bodytrace/step {"v":1,"rid":"r","stage":"middleware:compression","bytes":120,"kind":"http","enc":"gzip","decoded":5171}`,
		`@bodytrace/step {"v":1,"rid":"r","stage":"handler","bytes":1,"decoded":-3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		s, err := Parse(line)
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrRejected", line, err)
			}
			if s != (Step{}) {
				t.Fatalf("Parse(%q) rejected but returned %+v", line, s)
			}
			return
		}
		if len(line) > MaxLine || Find(line) < 0 {
			t.Fatalf("Parse accepted %d bytes (marker at %d)", len(line), Find(line))
		}
		if s.V != Version || s.RequestID == "" || s.Stage == "" || s.Bytes < 0 || s.Decoded != nil && *s.Decoded < 0 {
			t.Fatalf("Parse(%q) = %+v: breaks v/rid/stage/bytes invariants", line, s)
		}
		if !utf8.ValidString(s.RequestID) || !utf8.ValidString(s.Stage) || !utf8.ValidString(s.Note) {
			t.Fatalf("Parse(%q) = %+v: invalid UTF-8 accepted", line, s)
		}
		out := Format(s)
		if len(out) > MaxLine {
			// Escaping can make a line longer than the one read (<, >, & become \u003c...):
			// such a step cannot travel again, which is fine for a reader.
			return
		}
		if bytes.ContainsAny(out, "\n\r") {
			t.Fatalf("Format(%+v) = %q: not one line", s, out)
		}
		back, err := Parse(out)
		if err != nil || !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip: Parse(Format(%+v)) = %+v, %v", s, back, err)
		}
	})
}
