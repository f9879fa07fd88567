package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Invoke sends an event and returns the body the caller received. In Managed Instances
// mode the emulator refuses an invoke while its one runtime is between /response and its
// next /next (Lambda would route it elsewhere); Invoke retries that, bounded.
func (l *Lambda) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	return l.InvokeWith(ctx, event, nil)
}

// InvokeWith is Invoke with extra HTTP headers on the invoke request (X-Amzn-Trace-Id, ...).
func (l *Lambda) InvokeWith(ctx context.Context, event []byte, header http.Header) ([]byte, error) {
	for range 100 {
		body, err := l.invoke(ctx, event, header)
		if err == nil || !bytes.Contains(body, []byte("Runtime.Unavailable")) {
			return body, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l.invoke(ctx, event, header)
}

func (l *Lambda) invoke(ctx context.Context, event []byte, header http.Header) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.InvokeURL, bytes.NewReader(event))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read invoke answer: %w", err)
	}
	if resp.StatusCode != 200 {
		return body, fmt.Errorf("invoke: %s: %s", resp.Status, body)
	}
	return body, nil
}

var summaryLine = regexp.MustCompile(`(?m)^\{"type":"bodytrace.invocation".*$`)

// Summaries returns the extension's summary lines so far, decoded.
func (l *Lambda) Summaries() []map[string]any {
	var out []map[string]any
	for _, line := range summaryLine.FindAllString(l.Log.String(), -1) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// WaitSummaries waits (bounded by ctx) until the extension has written n summary lines.
func (l *Lambda) WaitSummaries(ctx context.Context, n int) ([]map[string]any, error) {
	for {
		s := l.Summaries()
		if len(s) >= n {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("%d of %d summary lines after waiting: %w", len(s), n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitLog waits (bounded by ctx) until the emulator's log, which relays the runtime's and
// the extensions' output on its own schedule, contains every one of want.
func (l *Lambda) WaitLog(ctx context.Context, want ...string) (string, error) {
	for {
		log := l.Log.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(log, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return log, nil
		}
		select {
		case <-ctx.Done():
			return log, fmt.Errorf("emulator log has no %q after waiting: %w", missing, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
