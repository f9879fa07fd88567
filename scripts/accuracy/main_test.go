package main

import (
	"strings"
	"testing"
)

func TestScore(t *testing.T) {
	for _, c := range []struct {
		r    row
		want string
	}{
		{row{Healthy: true, Verdict: "delivered"}, right},
		{row{Healthy: true, Verdict: "empty-by-design"}, right},
		{row{Healthy: true, Verdict: "lost:streaming"}, falseAlarm},
		{row{Healthy: true, Verdict: "unknown"}, unknown},
		{row{Expected: "lost:handler", Verdict: "lost:handler"}, right},
		{row{Expected: "lost:handler", Verdict: "delivered"}, missed},
		{row{Expected: "lost:middleware:x", Verdict: "lost:platform"}, wrongStage},
		{row{Expected: "lost:handler", Verdict: "unknown"}, unknown},
	} {
		if got := score(c.r); got != c.want {
			t.Errorf("score(%+v) = %s, want %s", c.r, got, c.want)
		}
	}
}

func TestRenderTotals(t *testing.T) {
	rows := []row{
		{Stack: "b", Case: "x (bug)", Node: "24", Expected: "lost:handler", Verdict: "delivered", Link: "https://example.com/1"},
		{Stack: "b", Case: "x (healthy twin)", Node: "24", Healthy: true, Verdict: "lost:handler", Reason: "a|b"},
		{Stack: "a", Case: "y (bug)", Node: "22", Expected: "lost:handler", Verdict: "lost:handler"},
	}
	var sb strings.Builder
	render(&sb, rows, "predates the fixes")
	out := sb.String()
	for _, want := range []string{
		"**3 invocations** (2 bugs, 1 healthy): **1 right**, **1 wrong**, **1 false alarms**.",
		"> predates the fixes",
		"[x (bug)](https://example.com/1)",
		`a\|b`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "| a |") > strings.Index(out, "| b |") {
		t.Errorf("rows not sorted by stack:\n%s", out)
	}
}
