package line

import "testing"

// BenchmarkParse decodes step lines as the function's helpers write them: bare (datagram)
// and behind a log prefix (function log).
func BenchmarkParse(b *testing.B) {
	step := Step{V: Version, RequestID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd", Seq: 3, Stage: "middleware:compress",
		Phase: "after", Bytes: 1048576, Kind: "buffered", Status: 200, After: 12.5, Who: "compression"}
	bare := Format(step)
	prefixed := append([]byte("2026-11-25T13:21:55.533Z\t8476a536-e9f4-11e8-9739-2dfe598c3fcd\tINFO\t"), bare...)
	for _, c := range []struct {
		name string
		line []byte
	}{{"datagram", bare}, {"log-line", prefixed}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.line)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(c.line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
