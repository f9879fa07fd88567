package steps

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

// countingHandler counts the log records written at Warn or above.
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.n.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// TestFeedBadLinesBounded feeds lines a broken or hostile emitter could print to the
// function log: 1 MB lines, invalid UTF-8, truncated JSON. Each is counted, none reaches
// the handler, and the warnings are rate-limited (1st, 10th, 100th, 1000th...).
func TestFeedBadLinesBounded(t *testing.T) {
	huge := []byte(Marker + `{"v":1,"rid":"r","stage":"handler","note":"` + strings.Repeat("x", 1<<20) + `"}`)
	bad := [][]byte{
		huge,
		[]byte(Marker + "{\"v\":1,\"rid\":\"\xc3\x28\",\"stage\":\"handler\"}"),
		[]byte(Marker + `{"v":1,"rid":"r","stage":`),
		[]byte(Marker + strings.Repeat("[", 4000)),
		append([]byte(Marker), bytes.Repeat([]byte{0xff}, MaxLine)...),
	}
	h := &countingHandler{}
	c := NewCounter(slog.New(h))
	const rounds = 200
	for range rounds {
		for _, l := range bad {
			c.Feed(l, func(s Step) { t.Fatalf("bad line accepted: %+v", s) })
		}
	}
	st := c.Stats()
	if st.Rejected != rounds*uint64(len(bad)) || st.Accepted != 0 {
		t.Errorf("Stats = %+v, want %d rejected", st, rounds*len(bad))
	}
	// 1000 rejections: logged at 1, 10, 100 and 1000.
	if n := h.n.Load(); n != 4 {
		t.Errorf("%d warnings for %d rejected lines, want 4 (rate-limited)", n, st.Rejected)
	}
	// The cost of a 1 MB line is a length check: far below parsing it.
	allocs := testing.AllocsPerRun(100, func() { _, _ = Parse(huge) })
	if allocs > 1 {
		t.Errorf("Parse of a 1 MB line allocates %.0f times, want none (rejected on length)", allocs)
	}
}

// TestListenerOversizedDatagram: a datagram longer than MaxLine is read truncated and
// rejected, the next valid one still goes through.
func TestListenerOversizedDatagram(t *testing.T) {
	got := make(chan Step, 4)
	l, err := Listen("127.0.0.1:0", func(s Step) { got <- s }, NewCounter(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("udp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := []byte(Marker + `{"v":1,"rid":"big","stage":"handler","note":"` + strings.Repeat("y", 60<<10) + `"}`)
	for _, d := range [][]byte{big, {0xff, 0xfe}, Format(Step{RequestID: "ok", Stage: "handler", Bytes: 5})} {
		if _, err := c.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s.RequestID != "ok" {
			t.Errorf("accepted %+v, want only the valid step", s)
		}
	default:
		t.Fatal("the valid step after the oversized datagram was not handled")
	}
	if st := l.Stats(); st.Rejected != 2 || st.Accepted != 1 {
		t.Errorf("Stats = %+v, want 2 rejected, 1 accepted", st)
	}
}
