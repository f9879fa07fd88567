package cli

import (
	"strconv"
	"strings"
	"testing"

	"github.com/bodytrace/bodytrace/internal/export"
)

func n(v int64) *int64 { return &v }

func TestChart(t *testing.T) {
	for _, c := range []struct {
		name string
		inv  Invocation
		want string // stage:bytes, * marks the lost bar, ? an unmeasured one
	}{
		{"lost:handler without step lines: the handler is added, unmeasured",
			Invocation{Summary: export.Summary{Verdict: "lost:handler", LostAt: "handler", Mode: "buffered",
				Bytes: export.Bytes{Event: n(872), Response: n(107), Body: n(0)}, Stages: []export.Stage{{Stage: "response", Bytes: 0, Status: 200}}}},
			"request:872 handler:?* response:0"},
		{"old line without stages",
			Invocation{Summary: export.Summary{Verdict: "lost:handler", LostAt: "handler", Bytes: export.Bytes{Event: n(872), Response: n(107), Body: n(0), Produced: n(107)}}},
			"request:872 handler:?* response:0 platform:107"},
		{"a broken stream marks the stream",
			Invocation{Summary: export.Summary{Verdict: "lost:streaming", LostAt: "streaming", Mode: "streaming", Bytes: export.Bytes{Event: n(932), Body: n(4096)}}},
			"request:932 stream:4096*"},
		{"the line's own lost flag wins",
			Invocation{Summary: export.Summary{Verdict: "lost:middleware:sentry", LostAt: "middleware:sentry",
				Stages: []export.Stage{{Stage: "handler", Bytes: 2048}, {Stage: "middleware:sentry", Bytes: 0, Lost: true}, {Stage: "response", Bytes: 0}}}},
			"handler:2048 middleware:sentry:0* response:0"},
		{"platform failure without a platform stage",
			Invocation{Summary: export.Summary{Verdict: "lost:platform", LostAt: "platform", Bytes: export.Bytes{Event: n(1190)}}},
			"request:1190 platform:?*"},
		{"delivered marks nothing",
			Invocation{Summary: export.Summary{Verdict: "delivered", Bytes: export.Bytes{Event: n(878), Body: n(2048)}}},
			"request:878 response:2048"},
		{"nothing observed",
			Invocation{Summary: export.Summary{Verdict: "unknown"}}, ""},
	} {
		var got []string
		for _, b := range Chart(c.inv) {
			s := b.Stage + ":?"
			if b.Bytes != nil {
				s = b.Stage + ":" + itoa(*b.Bytes)
			}
			if b.Lost {
				s += "*"
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: %s, want %s", c.name, strings.Join(got, " "), c.want)
		}
	}
}

func TestChartWidths(t *testing.T) {
	bars := Chart(Invocation{Summary: export.Summary{Verdict: "delivered", Bytes: export.Bytes{Event: n(1), Body: n(1 << 20)}}})
	if bars[1].Width != 100 || bars[0].Width < 0.6 || bars[0].Width > 1 {
		t.Errorf("widths %v and %v: want a visible sliver and 100", bars[0].Width, bars[1].Width)
	}
}

func TestExplainCoversEveryVerdict(t *testing.T) {
	for _, v := range []string{"delivered", "empty-by-design", "lost:handler", "lost:middleware:datadog", "lost:late-write", "lost:late-write:@sentry/nextjs", "lost:streaming", "lost:platform", "lost:gateway", "unknown"} {
		a := Explain(Invocation{Summary: export.Summary{Verdict: v, Reason: "the Runtime API was not observed"}})
		if a.Headline == "" || len(a.Steps) == 0 {
			t.Errorf("%s: no advice", v)
		}
	}
	if a := Explain(Invocation{Summary: export.Summary{Verdict: "lost:middleware:datadog"}}); !strings.Contains(a.Headline, "datadog") {
		t.Errorf("middleware advice does not name it: %q", a.Headline)
	}
	if a := Explain(Invocation{Summary: export.Summary{Verdict: "unknown", Reason: "the Runtime API was not observed"}}); !strings.Contains(a.Steps[0], "the Runtime API was not observed") {
		t.Errorf("unknown advice does not say what was missing: %q", a.Steps)
	}
}

func TestHumanBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 2048: "2048 B", 65536: "64.0 KB", 1 << 20: "1.0 MB", 50 << 20: "50.0 MB"} {
		if got := HumanBytes(in); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
