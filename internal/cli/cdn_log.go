package cli

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// EdgeRow is one request in a CloudFront access log (standard logging, legacy W3C or v2
// JSON); the field names in comments are AWS's.
type EdgeRow struct {
	Time       time.Time `json:"time"`                         // date + time: when the edge finished responding
	Location   string    `json:"location,omitempty"`           // x-edge-location
	RequestID  string    `json:"edgeRequestId"`                // x-edge-request-id, the x-amz-cf-id the origin saw
	Method     string    `json:"method,omitempty"`             // cs-method
	Path       string    `json:"path,omitempty"`               // cs-uri-stem, decoded
	Status     int       `json:"status,omitempty"`             // sc-status; 0 when the viewer went away first
	ResultType string    `json:"resultType"`                   // x-edge-result-type
	Response   string    `json:"responseResultType,omitempty"` // x-edge-response-result-type
	Detailed   string    `json:"detailedResultType,omitempty"` // x-edge-detailed-result-type
	BytesSent  int64     `json:"bytesSent"`                    // sc-bytes, headers included
	// ContentLen is sc-content-len, the response's Content-Length; nil when absent ("-").
	ContentLen *int64 `json:"contentLen,omitempty"`
	// Source is where the row was read: file:line, s3://bucket/key:line, a log group.
	Source string `json:"source,omitempty"`
}

// edgeRequired are the fields a log layout must carry for the join to work.
var edgeRequired = []string{"date", "time", "x-edge-request-id", "x-edge-result-type", "sc-status", "cs-uri-stem"}

// CDNLog parses CloudFront access logs and counts the lines it had to skip.
type CDNLog struct {
	// Skipped counts malformed lines per source, in the order first met.
	Skipped []Skip
}

// Skip is the count of malformed lines skipped in one source, and why the first was.
type Skip struct {
	Source string `json:"source"`
	Lines  int    `json:"lines"`
	First  string `json:"first"`
}

func (l *CDNLog) skip(source string, line int, why string) {
	for i := range l.Skipped {
		if l.Skipped[i].Source == source {
			l.Skipped[i].Lines++
			return
		}
	}
	l.Skipped = append(l.Skipped, Skip{Source: source, Lines: 1, First: fmt.Sprintf("line %d: %s", line, why)})
}

// Read parses one log file, plain or gzipped (told by its magic bytes, whatever its name):
// W3C lines under a #Fields header, or one JSON object per line. name is used in messages.
func (l *CDNLog) Read(r io.Reader, name string, fn func(EdgeRow)) error {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("read CDN log %s: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var fields map[string]int // column of each #Fields name; nil until the header
	n, rows := 0, 0
	emit := func(row EdgeRow) {
		rows++
		row.Source = fmt.Sprintf("%s:%d", name, n)
		fn(row)
	}
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "#Fields:"):
			names := strings.Fields(strings.TrimPrefix(line, "#Fields:"))
			fields = map[string]int{}
			for i, f := range names {
				fields[f] = i
			}
			if missing := missingFields(func(f string) bool { _, ok := fields[f]; return ok }); len(missing) > 0 {
				return fmt.Errorf("read CDN log %s: unknown log layout: line %d: #Fields lacks %s", name, n, strings.Join(missing, ", "))
			}
			continue
		case strings.HasPrefix(line, "#"): // #Version and other directives
			continue
		case strings.HasPrefix(line, "{"):
			row, err := ParseEdgeJSON([]byte(line))
			if err != nil {
				l.skip(name, n, err.Error())
				continue
			}
			emit(row)
			continue
		case fields == nil:
			return fmt.Errorf("read CDN log %s: unknown log layout: line %d is neither JSON nor under a #Fields header", name, n)
		}
		cols := strings.Split(line, "\t")
		if len(cols) != len(fields) {
			l.skip(name, n, fmt.Sprintf("%d tab-separated fields, #Fields names %d", len(cols), len(fields)))
			continue
		}
		row, err := edgeRow(func(f string) string {
			if i, ok := fields[f]; ok {
				return cols[i]
			}
			return ""
		})
		if err != nil {
			l.skip(name, n, err.Error())
			continue
		}
		emit(row)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read CDN log %s: %w", name, err)
	}
	if rows == 0 {
		// Not one line parsed: the file is something else, not a log with a few bad lines.
		for i, sk := range l.Skipped {
			if sk.Source == name {
				l.Skipped = append(l.Skipped[:i], l.Skipped[i+1:]...)
				return fmt.Errorf("read CDN log %s: unknown log layout: none of its %d lines is a CloudFront record (%s)", name, sk.Lines, sk.First)
			}
		}
	}
	return nil
}

func missingFields(has func(string) bool) []string {
	var out []string
	for _, f := range edgeRequired {
		if !has(f) {
			out = append(out, f)
		}
	}
	return out
}

// ParseEdgeJSON reads one record of standard logging v2 delivered as JSON (to CloudWatch
// Logs or S3): an object keyed by the same field names as the W3C header.
func ParseEdgeJSON(b []byte) (EdgeRow, error) {
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		return EdgeRow{}, fmt.Errorf("not a JSON object: %v", err)
	}
	get := func(f string) string {
		switch v := rec[f].(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		case nil:
			return ""
		default:
			return fmt.Sprint(v)
		}
	}
	if missing := missingFields(func(f string) bool { _, ok := rec[f]; return ok }); len(missing) > 0 {
		return EdgeRow{}, fmt.Errorf("record lacks %s", strings.Join(missing, ", "))
	}
	return edgeRow(get)
}

// edgeRow builds a row from the field values get returns by name ("-" is empty).
func edgeRow(get func(string) string) (EdgeRow, error) {
	val := func(f string) string {
		if v := get(f); v != "-" {
			return v
		}
		return ""
	}
	var row EdgeRow
	t, err := time.Parse("2006-01-02 15:04:05", val("date")+" "+val("time"))
	if err != nil {
		return row, fmt.Errorf("date/time %q %q: want YYYY-MM-DD and HH:MM:SS", get("date"), get("time"))
	}
	row.Time = t.UTC()
	row.RequestID = val("x-edge-request-id")
	if row.RequestID == "" {
		return row, errors.New("empty x-edge-request-id")
	}
	row.ResultType = val("x-edge-result-type")
	if s := val("sc-status"); s != "" && s != "000" {
		if row.Status, err = strconv.Atoi(s); err != nil {
			return row, fmt.Errorf("sc-status %q is not a number", s)
		}
	}
	if s := val("sc-bytes"); s != "" {
		if row.BytesSent, err = strconv.ParseInt(s, 10, 64); err != nil {
			return row, fmt.Errorf("sc-bytes %q is not a number", s)
		}
	}
	if s := val("sc-content-len"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return row, fmt.Errorf("sc-content-len %q is not a number", s)
		}
		row.ContentLen = &n
	}
	row.Location, row.Method = val("x-edge-location"), val("cs-method")
	row.Response, row.Detailed = val("x-edge-response-result-type"), val("x-edge-detailed-result-type")
	row.Path = val("cs-uri-stem")
	if p, err := url.PathUnescape(row.Path); err == nil { // the stem is URL-encoded in the log
		row.Path = p
	}
	return row, nil
}

// shortEdgeID is the start of the edge request id, enough to tell rows apart.
func shortEdgeID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Route is "METHOD /path".
func (r EdgeRow) Route() string { return strings.TrimSpace(r.Method + " " + r.Path) }

// Short reports whether the edge sent an empty or short body where a client expects one
// (a 2xx or a 304, not a redirect or an error): a zero Content-Length, or fewer than limit
// bytes in all (sc-bytes counts the headers too).
func (r EdgeRow) Short(limit int64) bool {
	if r.Status != 0 && r.Status != 304 && (r.Status < 200 || r.Status > 299) {
		return false
	}
	if r.ContentLen != nil {
		return *r.ContentLen == 0 || r.BytesSent < limit
	}
	return r.BytesSent < limit
}
