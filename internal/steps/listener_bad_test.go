package steps

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/steps/line"
)

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
	huge := []byte(line.Marker + `{"v":1,"rid":"r","stage":"handler","note":"` + strings.Repeat("x", 1<<20) + `"}`)
	bad := [][]byte{
		huge,
		[]byte(line.Marker + "{\"v\":1,\"rid\":\"\xc3\x28\",\"stage\":\"handler\"}"),
		[]byte(line.Marker + `{"v":1,"rid":"r","stage":`),
		[]byte(line.Marker + strings.Repeat("[", 4000)),
		append([]byte(line.Marker), bytes.Repeat([]byte{0xff}, line.MaxLine)...),
	}
	h := &countingHandler{}
	c := NewCounter(slog.New(h))
	const rounds = 200
	for range rounds {
		for _, l := range bad {
			c.Feed(l, func(s line.Step) { t.Fatalf("bad line accepted: %+v", s) })
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
	allocs := testing.AllocsPerRun(100, func() { _, _ = line.Parse(huge) })
	if allocs > 1 {
		t.Errorf("line.Parse of a 1 MB line allocates %.0f times, want none (rejected on length)", allocs)
	}
}

// TestListenerOversizedDatagram: a datagram longer than line.MaxLine is read truncated and
// rejected, the next valid one still goes through.
func TestListenerOversizedDatagram(t *testing.T) {
	got := make(chan line.Step, 4)
	l, err := Listen("127.0.0.1:0", func(s line.Step) { got <- s }, NewCounter(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("udp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := []byte(line.Marker + `{"v":1,"rid":"big","stage":"handler","note":"` + strings.Repeat("y", 60<<10) + `"}`)
	for _, d := range [][]byte{big, {0xff, 0xfe}, line.Format(line.Step{RequestID: "ok", Stage: "handler", Bytes: 5})} {
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
