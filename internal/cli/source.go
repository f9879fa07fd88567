package cli

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Source lists recent invocations, newest first: what the view shows.
type Source interface {
	List(ctx context.Context) ([]Invocation, error)
	// Describe says where the rows come from, for the page's header.
	Describe() string
}

// Files reads summary lines from files (or any log saved to a file: other lines are
// skipped). They are read again on every List, so a growing file shows new rows.
type Files struct {
	Paths []string
}

// List reads every file.
func (f Files) List(ctx context.Context) ([]Invocation, error) {
	var out []Invocation
	for _, p := range f.Paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		file, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read summary lines: %w", err)
		}
		err = ReadLines(file, func(inv Invocation) bool { out = append(out, inv); return true })
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("read summary lines from %s: %w", p, err)
		}
	}
	sortNewestFirst(out)
	return out, nil
}

// Describe names the files.
func (f Files) Describe() string {
	if len(f.Paths) == 1 {
		return f.Paths[0]
	}
	return fmt.Sprintf("%d files", len(f.Paths))
}

// Lines are summary lines read once (from stdin), kept for every List.
type Lines struct {
	Invocations []Invocation
	From        string
}

// List returns the lines, newest first.
func (l Lines) List(context.Context) ([]Invocation, error) {
	out := append([]Invocation(nil), l.Invocations...)
	sortNewestFirst(out)
	return out, nil
}

// Describe says where the lines came from.
func (l Lines) Describe() string { return l.From }

// isTerminal reports whether r is a terminal, where nothing is piped in.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// List reads the group's summary lines since c.Start.
func (c *CloudWatch) List(ctx context.Context) ([]Invocation, error) {
	var out []Invocation
	err := c.Each(ctx, false, func(inv Invocation) bool { out = append(out, inv); return true })
	sortNewestFirst(out)
	return out, err
}

// Describe names the log group.
func (c *CloudWatch) Describe() string { return "CloudWatch Logs " + c.Group }

// Describe names the Jaeger and service.
func (j *Jaeger) Describe() string {
	if j.Service == "" {
		return "Jaeger " + j.URL
	}
	return "Jaeger " + j.URL + ", service " + j.Service
}
