package export

import (
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/capture"
	"github.com/bodytrace/bodytrace/internal/invocation"
)

// SummaryVersion is the version of the summary line's format.
const SummaryVersion = 1

// Summary is the compact JSON line written per invocation: the verdict and the bytes at
// each checkpoint. Its field names are a public format (read by the bodytrace command).
type Summary struct {
	Type      string    `json:"type"` // always "bodytrace.invocation"
	Version   int       `json:"v"`
	Time      time.Time `json:"time"`
	RequestID string    `json:"requestId"`
	TraceID   string    `json:"traceId,omitempty"`
	// SampledOut is true when the trace was not exported (a healthy invocation sampled
	// out by BODYTRACE_SAMPLE_HEALTHY or the caller's flag); it still counts.
	SampledOut bool   `json:"sampledOut,omitempty"`
	ColdStart  bool   `json:"coldStart,omitempty"`
	Trigger    string `json:"trigger,omitempty"`
	Method     string `json:"method,omitempty"`
	Path       string `json:"path,omitempty"`
	Status     int    `json:"status,omitempty"`
	Mode       string `json:"mode,omitempty"`
	Verdict    string `json:"verdict"`
	LostAt     string `json:"lostAt,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Bytes      Bytes  `json:"bytes"`
	// Edge is what the request carried from a CDN, when it came through one.
	Edge *Edge `json:"edge,omitempty"`
	// Stages are the checkpoints along the response path, innermost first: the handler,
	// each middleware, late writes, the runtime response, the stream, the platform.
	Stages []Stage `json:"stages,omitempty"`
	// DurationMs runs from the first to the last moment bodytrace observed.
	DurationMs float64 `json:"durationMs"`
	// Capture is the request's redacted sample (BODYTRACE_CAPTURE).
	Capture  *capture.Sample `json:"capture,omitempty"`
	Observed []string        `json:"observed"`
}

// Bytes are the byte counts at each checkpoint; nil means not observed.
type Bytes struct {
	Event    *int64 `json:"event,omitempty"`
	Response *int64 `json:"response,omitempty"` // on the wire to the Runtime API, prelude included
	Body     *int64 `json:"body,omitempty"`     // decoded HTTP body (or whole payload)
	Produced *int64 `json:"produced,omitempty"` // platform.runtimeDone producedBytes
}

// Edge is the request's CDN evidence: CloudFront's request id joins the CDN's access logs
// (x-edge-request-id) to this invocation.
type Edge struct {
	RequestID       string `json:"requestId,omitempty"` // x-amz-cf-id
	Via             string `json:"via,omitempty"`
	CacheControl    string `json:"cacheControl,omitempty"`
	IfNoneMatch     bool   `json:"ifNoneMatch,omitempty"`
	IfModifiedSince bool   `json:"ifModifiedSince,omitempty"`
}

// Stage is one checkpoint of the response path and the body bytes it held.
type Stage struct {
	Stage  string `json:"stage"` // handler, middleware:<name>, late-write, response, stream, platform
	Bytes  int64  `json:"bytes"`
	Status int    `json:"status,omitempty"`
	Who    string `json:"who,omitempty"`
	Lost   bool   `json:"lost,omitempty"` // the bytes vanished at this stage
}

// NewSummary builds the summary line of a record.
func NewSummary(r *invocation.Record, v invocation.Verdict, traceID string) Summary {
	start, end := bounds(r)
	s := Summary{
		Type: "bodytrace.invocation", Version: SummaryVersion, Time: start.UTC(),
		RequestID: r.RequestID, TraceID: traceID, ColdStart: r.ColdStart,
		Verdict: v.Verdict, LostAt: v.LostAt, Reason: v.Reason,
		DurationMs: since(start, end), Observed: []string{},
	}
	if r.Observed.RuntimeAPI {
		s.Observed = append(s.Observed, "runtime-api")
	}
	if r.Observed.Telemetry {
		s.Observed = append(s.Observed, "telemetry")
	}
	if q := r.Request; q != nil {
		s.Trigger, s.Method, s.Path = string(q.Trigger), q.Method, q.Path
		s.Bytes.Event = ptr(q.EventBytes)
		s.Capture = q.Sample
		if q.EdgeRequestID != "" || q.Via != "" || q.CacheControl != "" || q.IfNoneMatch || q.IfModifiedSince {
			s.Edge = &Edge{RequestID: q.EdgeRequestID, Via: q.Via, CacheControl: q.CacheControl,
				IfNoneMatch: q.IfNoneMatch, IfModifiedSince: q.IfModifiedSince}
		}
	}
	if p := r.Response; p != nil {
		s.Mode = string(p.Mode)
		s.Bytes.Response = ptr(p.WireBytes)
		if p.BodyBytes >= 0 {
			s.Bytes.Body = ptr(p.BodyBytes)
		}
		if p.HTTP {
			s.Status = p.StatusCode
		}
	}
	if d := r.Platform.RuntimeDone; d != nil && d.ProducedBytes != nil {
		s.Bytes.Produced = ptr(*d.ProducedBytes)
	}
	for _, st := range r.Stages() {
		s.Stages = append(s.Stages, Stage{Stage: st.Name, Bytes: st.Bytes, Status: st.Status, Who: st.Who, Lost: lostHere(st.Name, v)})
	}
	return s
}

func ptr(n int64) *int64 { return &n }

// lostHere reports whether the verdict places the loss at the stage named name.
func lostHere(name string, v invocation.Verdict) bool {
	switch {
	case !v.Lost():
		return false
	case name == v.LostAt:
		return true
	case name == invocation.StageLateWrite:
		return strings.HasPrefix(v.LostAt, invocation.StageLateWrite)
	case name == "stream":
		return v.LostAt == "streaming"
	}
	return false
}
