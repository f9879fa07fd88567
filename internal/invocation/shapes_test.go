package invocation

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bodytrace/bodytrace/steps/line"
)

// shape is one recorded invocation under testdata/shapes/cases (written by
// testdata/shapes/gen.cjs): the event, what the runtime sent to the Runtime API, the step
// lines the Node helper sent, and the verdict it must get.
type shape struct {
	About       string            `json:"about"`
	Event       string            `json:"event"`
	Route       string            `json:"route"` // response or error
	Mode        string            `json:"mode"`  // buffered or streaming
	ContentType string            `json:"contentType"`
	Body        string            `json:"body"`
	Chunked     bool              `json:"chunked"` // the body file holds HTTP chunked framing
	Trailers    map[string]string `json:"trailers"`
	// ErrorHeader is the Lambda-Runtime-Function-Error-Type header of an error route; nil
	// means TypeError, "" none (aws-lambda-ric 4 sends none).
	ErrorHeader *string  `json:"errorHeader"`
	Steps       []string `json:"steps"`
	Want        struct {
		Verdict string `json:"verdict"`
		Reason  string `json:"reason"`
	} `json:"want"`
}

// record builds the invocation record from a shape as the extension does: the event
// through ParseEvent, a buffered result through the proxy's ResultScanner in small
// writes, a stream through ParseStream after net/http's chunked decoding, an error
// document through ParseError, step lines through line.Parse.
func (sh shape) record(t *testing.T) (Record, *Response) {
	t.Helper()
	dir := filepath.Join("testdata", "shapes")
	event, err := os.ReadFile(filepath.Join(dir, sh.Event))
	if err != nil {
		t.Fatal(err)
	}
	wire, err := os.ReadFile(filepath.Join(dir, sh.Body))
	if err != nil {
		t.Fatal(err)
	}
	if sh.Chunked {
		plain, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(wire)))
		if err != nil {
			t.Fatalf("chunked body: %v", err)
		}
		if len(plain) >= len(wire) {
			t.Fatalf("chunked framing not removed: %d of %d bytes", len(plain), len(wire))
		}
		wire = plain
	}
	req := ParseEvent(event)
	resp := &Response{WireBytes: int64(len(wire)), Upstream: 202}
	switch {
	case sh.Route == "error":
		resp.Mode, resp.ErrorType = ModeError, "TypeError"
		if sh.ErrorHeader != nil {
			resp.ErrorType = *sh.ErrorHeader
		}
		resp.ParseError(wire)
	case sh.Mode == "streaming":
		resp.Mode = ModeStreaming
		resp.ParseStream(wire, sh.ContentType)
		resp.ErrorType = sh.Trailers["Lambda-Runtime-Function-Error-Type"]
		resp.ErrorBody = sh.Trailers["Lambda-Runtime-Function-Error-Body"]
	default:
		resp.Mode = ModeBuffered
		var sc ResultScanner
		for p := wire; len(p) > 0; {
			n := min(len(p), 97)
			_, _ = sc.Write(p[:n])
			p = p[n:]
		}
		sc.Apply(resp, req.Trigger)
		whole := Response{Mode: resp.Mode, WireBytes: resp.WireBytes, Upstream: resp.Upstream}
		whole.ParseBuffered(wire, true, req.Trigger)
		if whole != *resp {
			t.Fatalf("scanner and ParseBuffered disagree: %+v vs %+v", resp, whole)
		}
	}
	rec := Record{RequestID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd", Observed: Observed{RuntimeAPI: true}, Request: &req, Response: resp}
	for _, l := range sh.Steps {
		s, err := line.Parse([]byte(l))
		if err != nil {
			t.Fatalf("step line %q: %v", l, err)
		}
		rec.Steps = append(rec.Steps, s)
	}
	return rec, resp
}

func loadShapes(t *testing.T) map[string]shape {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "shapes", "cases", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shapes: %v", err)
	}
	out := map[string]shape{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sh shape
		if err := json.Unmarshal(b, &sh); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = sh
	}
	return out
}

// TestJudgeShapes judges every recorded shape: each healthy one delivered or empty by
// design, each short one lost at its stage with "short: N of M bytes", each failure that
// a wrapper caused blamed on it by name.
func TestJudgeShapes(t *testing.T) {
	for name, sh := range loadShapes(t) {
		t.Run(name, func(t *testing.T) {
			rec, _ := sh.record(t)
			v := rec.Judge()
			if v.Verdict != sh.Want.Verdict {
				t.Fatalf("%s\nverdict %q (%s), want %q", sh.About, v.Verdict, v.Reason, sh.Want.Verdict)
			}
			if !strings.Contains(v.Reason, sh.Want.Reason) {
				t.Errorf("reason %q does not contain %q", v.Reason, sh.Want.Reason)
			}
			if strings.Contains(v.Reason, "\n") {
				t.Errorf("reason is not one line: %q", v.Reason)
			}
			if v.Lost() && LostPrefix+v.LostAt != v.Verdict {
				t.Errorf("LostAt %q inconsistent with %q", v.LostAt, v.Verdict)
			}
		})
	}
}

// TestShapesBodyBytes pins what the proxy's parsing makes of the recorded streams: the
// prelude and the chunked framing are never body.
func TestShapesBodyBytes(t *testing.T) {
	shapes := loadShapes(t)
	tests := []struct {
		name       string
		body, wire int64
		status     int
		enc        string
	}{
		{"stream-chunked", 960, 960 + 80, 200, "identity"},
		{"stream-304-prelude-by-function", 0, 105, 304, "identity"},
		{"stream-204", 0, 39, 204, "identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, resp := shapes[tt.name].record(t)
			if resp.BodyBytes != tt.body || resp.WireBytes != tt.wire || resp.StatusCode != tt.status || resp.encoding() != tt.enc {
				t.Errorf("body %d wire %d status %d enc %q, want %d %d %d %q", resp.BodyBytes, resp.WireBytes, resp.StatusCode, resp.encoding(), tt.body, tt.wire, tt.status, tt.enc)
			}
		})
	}
}
