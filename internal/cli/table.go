package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ANSI colours for the verdict column.
const (
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiDim    = "\x1b[2m"
	ansiReset  = "\x1b[0m"
)

// Table prints one row per invocation with fixed-width columns, so rows line up when they
// arrive one at a time (--follow).
type Table struct {
	w      io.Writer
	colour bool
	header bool
}

// NewTable writes rows to w, in colour when colour is true.
func NewTable(w io.Writer, colour bool) *Table { return &Table{w: w, colour: colour} }

// UseColour reports whether output to f should be coloured: a terminal, and NO_COLOR unset
// (https://no-color.org).
func UseColour(f *os.File) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

const (
	rowFormat  = "%-19s  %-8s  %-24s  %6s  %s  %s\n"
	bytesWidth = 44
)

// Row prints one invocation (and the header before the first).
func (t *Table) Row(inv Invocation) error {
	if !t.header {
		t.header = true
		h := fmt.Sprintf(rowFormat, "TIME (UTC)", "REQUEST", "ROUTE", "STATUS", pad("BYTES", "BYTES"), "VERDICT")
		if t.colour {
			h = ansiDim + strings.TrimRight(h, "\n") + ansiReset + "\n"
		}
		if _, err := io.WriteString(t.w, h); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(t.w, rowFormat, formatTime(inv.Time), inv.ShortID(), inv.Route(),
		formatStatus(inv.Status), pad(t.bytes(inv, false), t.bytes(inv, t.colour)), t.verdict(inv.Verdict)+reason(inv))
	return err
}

// reason is an unknown verdict's reason, after the verdict: it says what bodytrace could
// not see, and so what to fix.
func reason(inv Invocation) string {
	if inv.Verdict != "unknown" || inv.Reason == "" {
		return ""
	}
	return " (" + inv.Reason + ")"
}

// pad pads shown (which may hold colour codes) to the column width of plain.
func pad(plain, shown string) string {
	if n := bytesWidth - utf8.RuneCountInString(plain); n > 0 {
		return shown + strings.Repeat(" ", n)
	}
	return shown
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func formatStatus(s int) string {
	if s == 0 {
		return "-"
	}
	return strconv.Itoa(s)
}

// bytes is the byte count at each stage: the stages when the line has them, else the
// checkpoints of the bytes object.
func (t *Table) bytes(inv Invocation, colour bool) string {
	var parts []string
	if len(inv.Stages) > 0 {
		for _, s := range inv.Stages {
			p := fmt.Sprintf("%s %d", s.Stage, s.Bytes)
			if s.Lost && colour {
				p = ansiRed + p + ansiReset
			}
			parts = append(parts, p)
		}
	} else {
		b := inv.Bytes
		for _, c := range []struct {
			name string
			n    *int64
		}{{"event", b.Event}, {"response", b.Response}, {"body", b.Body}, {"produced", b.Produced}} {
			if c.n != nil {
				parts = append(parts, fmt.Sprintf("%s %d", c.name, *c.n))
			}
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " → ")
}

func (t *Table) verdict(v string) string {
	if !t.colour {
		return v
	}
	return verdictColour(v) + v + ansiReset
}

func verdictColour(v string) string {
	switch {
	case strings.HasPrefix(v, "lost:"):
		return ansiRed
	case v == "delivered":
		return ansiGreen
	}
	return ansiYellow // empty-by-design, unknown
}
