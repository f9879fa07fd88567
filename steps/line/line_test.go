package line

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Step
		err  error
	}{
		{name: "handler", line: `@bodytrace/step {"v":1,"rid":"r1","seq":0,"stage":"handler","phase":"out","bytes":2048,"kind":"http","status":200}`,
			want: Step{V: 1, RequestID: "r1", Stage: "handler", Phase: "out", Bytes: 2048, Kind: "http", Status: 200}},
		{name: "log prefix and trailing newline", line: "2026-11-25T13:00:00Z\tr1\tINFO\t@bodytrace/step {\"v\":1,\"rid\":\"r1\",\"stage\":\"write\",\"after\":12.5,\"bytes\":3,\"who\":\"sentry\"}\n",
			want: Step{V: 1, RequestID: "r1", Stage: "write", After: 12.5, Bytes: 3, Who: "sentry"}},
		{name: "encoding and decoded length", line: `@bodytrace/step {"v":1,"rid":"r1","seq":1,"stage":"middleware:compression","phase":"out","bytes":138,"kind":"http","status":200,"enc":"gzip","decoded":5171}`,
			want: Step{V: 1, RequestID: "r1", Seq: 1, Stage: "middleware:compression", Phase: "out", Bytes: 138, Kind: "http", Status: 200, Enc: "gzip", Decoded: ptr(5171)}},
		{name: "negative decoded", line: `@bodytrace/step {"v":1,"rid":"r","stage":"handler","bytes":1,"decoded":-1}`, err: ErrMalformed},
		{name: "no marker", line: `{"v":1,"rid":"r1","stage":"handler"}`, err: ErrNoMarker},
		{name: "not JSON", line: `@bodytrace/step {"v":1,`, err: ErrMalformed},
		{name: "unknown version", line: `@bodytrace/step {"v":2,"rid":"r1","stage":"handler"}`, err: ErrBadVersion},
		{name: "no request id", line: `@bodytrace/step {"v":1,"stage":"handler"}`, err: ErrMalformed},
		{name: "negative bytes", line: `@bodytrace/step {"v":1,"rid":"r","stage":"handler","bytes":-1}`, err: ErrMalformed},
		{name: "invalid UTF-8", line: "@bodytrace/step {\"v\":1,\"rid\":\"\xff\",\"stage\":\"handler\"}", err: ErrMalformed},
		{name: "oversized", line: Marker + `{"v":1,"rid":"r","stage":"handler","note":"` + strings.Repeat("x", MaxLine) + `"}`, err: ErrOversized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.line))
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !errors.Is(err, ErrRejected) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestFormatRoundTrip(t *testing.T) {
	in := Step{RequestID: "abc", Seq: 3, Stage: "middleware:auth", Phase: "out", Bytes: 12, Kind: "json", Note: "a \"quoted\" note", Enc: "br", Decoded: ptr(40)}
	line := Format(in)
	if !strings.HasPrefix(string(line), Marker) || strings.Contains(string(line), "\n") {
		t.Fatalf("line %q", line)
	}
	out, err := Parse(line)
	in.V = Version
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip: %+v, %v; want %+v", out, err, in)
	}
}

func ptr(n int64) *int64 { return &n }
