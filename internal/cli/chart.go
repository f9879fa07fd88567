package cli

import (
	"fmt"
	"strings"
)

// Bar is one stage of an invocation's bar chart of bytes.
type Bar struct {
	Stage string // request, handler, middleware:<name>, late-write, response, stream, platform
	Label string
	Bytes *int64 // nil when not observed
	// Width is the bar's length in percent of the largest stage.
	Width float64
	Lost  bool   // the bytes vanished here
	Kind  string // request, step, response, platform: the bar's colour
	Note  string
}

// Chart lays out an invocation's stages: the request, the step stages (handler, each
// middleware), the runtime's response or stream, the platform; the stage where the bytes
// vanished is marked.
func Chart(inv Invocation) []Bar {
	var bars []Bar
	if n := inv.Bytes.Event; n != nil {
		bars = append(bars, Bar{Stage: "request", Label: "request event", Bytes: n, Kind: "request",
			Note: "the event Lambda passed to the function"})
	}
	has := map[string]bool{}
	for _, s := range inv.Stages {
		n := s.Bytes
		b := Bar{Stage: s.Stage, Label: stageLabel(s.Stage), Bytes: &n, Lost: s.Lost, Kind: "step"}
		switch {
		case s.Stage == "response" || s.Stage == "stream":
			b.Kind, b.Note = "response", responseNote(inv)
		case s.Stage == "platform":
			b.Kind, b.Note = "platform", platformNote
		case s.Who != "":
			b.Note = s.Who
		}
		bars = append(bars, b)
		has[s.Stage] = true
	}
	// Lines without stages (or traces without step spans) still have the bytes object.
	if !has["response"] && !has["stream"] && inv.Bytes.Body != nil {
		stage := "response"
		if inv.Mode == "streaming" {
			stage = "stream"
		}
		bars = append(bars, Bar{Stage: stage, Label: stageLabel(stage), Bytes: inv.Bytes.Body, Kind: "response", Note: responseNote(inv)})
	}
	if !has["platform"] && inv.Bytes.Produced != nil {
		bars = append(bars, Bar{Stage: "platform", Label: stageLabel("platform"), Bytes: inv.Bytes.Produced, Kind: "platform",
			Note: platformNote})
	}
	bars = markLost(inv, bars)

	var top int64
	for _, b := range bars {
		if b.Bytes != nil && *b.Bytes > top {
			top = *b.Bytes
		}
	}
	for i, b := range bars {
		if b.Bytes == nil || top == 0 || *b.Bytes == 0 {
			continue
		}
		bars[i].Width = max(0.6, float64(*b.Bytes)*100/float64(top)) // a sliver stays visible
	}
	return bars
}

// markLost marks the bar where the bytes vanished: the stage the line flags, else the one
// the verdict names; a stage the verdict names but nobody measured is added, unmeasured,
// before the response.
func markLost(inv Invocation, bars []Bar) []Bar {
	for _, b := range bars {
		if b.Lost {
			return bars
		}
	}
	if !inv.Lost() {
		return bars
	}
	target := inv.LostAt
	if target == "" {
		target = strings.TrimPrefix(inv.Verdict, "lost:")
	}
	switch {
	case target == "streaming":
		target = "stream"
	case strings.HasPrefix(target, "late-write"):
		target = "late-write"
	}
	for i, b := range bars {
		if b.Stage == target || (target == "stream" && b.Stage == "response") {
			bars[i].Lost = true
			return bars
		}
	}
	missing := Bar{Stage: target, Label: stageLabel(target), Lost: true, Kind: "step",
		Note: "not measured (no step line from this stage): the verdict comes from the stages after it"}
	if target == "platform" {
		missing.Kind, missing.Note = "platform", "the platform reported an error, a timeout or a refused response"
		return append(bars, missing)
	}
	at := len(bars)
	for i, b := range bars {
		if b.Kind == "response" || b.Kind == "platform" {
			at = i
			break
		}
	}
	return append(bars[:at], append([]Bar{missing}, bars[at:]...)...)
}

// platformNote explains the platform's count: the whole result, not the body.
const platformNote = "producedBytes reported by Lambda: the whole result, envelope included"

func stageLabel(stage string) string {
	switch {
	case stage == "response":
		return "runtime response"
	case stage == "platform":
		return "platform"
	case strings.HasPrefix(stage, "middleware:"):
		return "middleware " + strings.TrimPrefix(stage, "middleware:")
	}
	return stage
}

func responseNote(inv Invocation) string {
	var parts []string
	if inv.Mode != "" {
		parts = append(parts, inv.Mode)
	}
	if inv.Status != 0 {
		parts = append(parts, fmt.Sprintf("status %d", inv.Status))
	}
	if n := inv.Bytes.Response; n != nil {
		parts = append(parts, HumanBytes(*n)+" on the wire")
	}
	if len(parts) == 0 {
		return ""
	}
	return "body bytes; " + strings.Join(parts, ", ")
}

// HumanBytes writes a byte count for people: exact below 10 KB, then KB, then MB.
func HumanBytes(n int64) string {
	switch {
	case n < 10*1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
}
