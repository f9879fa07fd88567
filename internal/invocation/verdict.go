package invocation

import (
	"fmt"
	"net/http"
	"strings"
)

// Verdict values. Lost verdicts start with LostPrefix and name the stage.
const (
	VerdictDelivered     = "delivered"
	VerdictEmptyByDesign = "empty-by-design"
	VerdictUnknown       = "unknown"
	LostPrefix           = "lost:"
)

// Verdict is bodytrace's answer for one invocation: where the body went.
type Verdict struct {
	Verdict string // delivered, empty-by-design, lost:<stage>, unknown
	// LostAt is the stage where the bytes disappeared, empty unless lost.
	LostAt string
	// Reason is one line a person can act on.
	Reason string
}

// Lost reports whether the verdict says a body was lost.
func (v Verdict) Lost() bool { return v.LostAt != "" }

func lost(stage, format string, args ...any) Verdict {
	return Verdict{Verdict: LostPrefix + stage, LostAt: stage, Reason: fmt.Sprintf(format, args...)}
}

// NotObserved begins the reason of every verdict of a function whose runtime bypassed the
// proxy (no exec wrapper, no steps import).
const NotObserved = "the Runtime API was not observed"

// Judge derives the verdict from what was observed. It says unknown, with what was
// missing, rather than guess.
func (r *Record) Judge() Verdict {
	v := r.judge()
	if c := r.Contradiction(); c != "" {
		v.Reason += "; note: " + c
	}
	return v
}

func (r *Record) judge() Verdict {
	if v, ok := r.platformFailure(); ok {
		return v
	}
	resp := r.Response
	if resp == nil {
		if v, ok := r.lostAlongPath(); ok {
			return v
		}
		if v, ok := r.shortAlongPath(); ok {
			return v
		}
		if !r.Observed.RuntimeAPI {
			return Verdict{Verdict: VerdictUnknown, Reason: NotObserved + ": on a managed runtime set AWS_LAMBDA_EXEC_WRAPPER=/opt/bodytrace-wrapper; in a Go function import github.com/bodytrace/bodytrace/steps"}
		}
		return Verdict{Verdict: VerdictUnknown, Reason: "the runtime sent no response for this request before the record was closed"}
	}
	if resp.Upstream >= 400 && resp.Upstream != http.StatusRequestEntityTooLarge {
		// Not a delivery: Lambda did not take this result (an unknown request id, a
		// result posted twice), so it says nothing about what the caller got.
		return Verdict{Verdict: VerdictUnknown, Reason: fmt.Sprintf("the Runtime API refused the runtime's result with status %d (%s), so it was not delivered; no accepted result was observed", resp.Upstream, orNone(firstLine(resp.UpstreamErr)))}
	}
	switch resp.Mode {
	case ModeInitError:
		return lost("platform", "the function's init failed (%s), so no invocation could run", orNone(resp.ErrorType))
	case ModeError:
		if s, ok := r.blamedError(); ok {
			return lost(middlewarePre+s.Who, "the function failed (%s) and its steps blame %s: %s", orNone(resp.ErrorType), s.Who, s.Note)
		}
		if v, ok := r.stackBlame(); ok {
			return v
		}
		return lost("platform", "the function returned an error (%s) instead of a response", orNone(resp.ErrorType))
	}
	if resp.Upstream == http.StatusRequestEntityTooLarge {
		return lost("platform", "Lambda refused the %d-byte response: buffered responses are limited to 6 MB (use response streaming)", resp.WireBytes)
	}
	if resp.ErrorType != "" {
		return lost("streaming", "the stream ended with an error (%s) after %d bytes on the wire", resp.ErrorType, resp.WireBytes)
	}
	if resp.RuntimeGone {
		return lost("platform", "the runtime process ended right after its %d-byte stream (it hung up instead of asking for its next event): the invocation failed, so the caller most likely got an error", resp.BodyBytes)
	}
	if resp.Cut != "" {
		return lost("streaming", "the runtime's stream was cut after %d bytes: %s", resp.WireBytes, resp.Cut)
	}
	if resp.BodyBytes < 0 {
		return Verdict{Verdict: VerdictUnknown, Reason: "the result was larger than the capture limit, so its body length is not known"}
	}
	if resp.BadBase64 {
		return lost("handler", "the result says isBase64Encoded but its %d-character body is not base64: the gateway cannot decode it (set isBase64Encoded only for base64 bodies)", resp.BodyBytes)
	}
	if v, ok := r.streamShort(); ok {
		return v
	}
	if resp.BodyBytes > 0 {
		if v, ok := r.lateShort(); ok {
			return v
		}
		short, isShort := r.shortAlongPath()
		if isShort && short.Lost() {
			return short
		}
		intact, broken := r.intactBody()
		switch {
		case broken && intact.Lost():
			return intact
		case isShort:
			return short
		case broken:
			return intact
		}
		return Verdict{Verdict: VerdictDelivered, Reason: fmt.Sprintf("the function handed Lambda a %d-byte body; any loss is downstream (gateway, CDN)", resp.BodyBytes)}
	}
	if v, ok := r.emptyByDesign(); ok {
		return v
	}
	if v, ok := r.lostAlongPath(); ok {
		return v
	}
	if resp.Mode == ModeStreaming {
		return lost("streaming", "the stream was opened but carried no body bytes")
	}
	if !resp.HTTP {
		return Verdict{Verdict: VerdictDelivered, Reason: "the function returned an empty result to a direct invoke"}
	}
	if redirectStatus(resp.StatusCode) {
		return lost("handler", "the function returned a %d redirect with no Location header and an empty body", resp.StatusCode)
	}
	return lost("handler", "the function returned status %d with an empty body", resp.StatusCode)
}

// lostAlongPath finds, from the function's step lines, the first stage at which a body
// that existed became empty: a write after a buffered adapter took its snapshot, a
// middleware that dropped what it was given, or a handler that returned nothing.
func (r *Record) lostAlongPath() (Verdict, bool) {
	stages := r.Stages()
	for _, s := range stages {
		if s.Name == StageLateWrite && s.Bytes > 0 {
			at := StageLateWrite
			if s.Who != "" {
				at += ":" + s.Who
			}
			return lost(at, "%d bytes were written %.0f ms after the handler settled, after a buffered adapter had taken its snapshot%s", s.Bytes, s.After, by(s.Who)), true
		}
	}
	var last *Stage
	for i := range stages {
		s := &stages[i]
		if s.Name == StageLateWrite || s.Name == StageResponse || s.Name == "stream" || s.Name == StagePlatform {
			continue
		}
		if s.Kind == "stream" && s.Name != StageHandler {
			continue // a stream's bytes are judged on the stream
		}
		if s.Bytes == 0 && s.Name != StageHandler && r.emptyStatus(s.Status) {
			last = nil // a middleware that answers 204, 304 or HEAD empties the body by design
			continue
		}
		if s.Bytes > 0 {
			last = s
			continue
		}
		if last != nil {
			name := strings.TrimPrefix(s.Name, middlewarePre)
			return lost(middlewarePre+name, "%s received a %d-byte body from %s and passed on an empty one", s.Name, last.Bytes, last.Name), true
		}
		if s.Name == StageHandler {
			if s.Kind == "stream" {
				return Verdict{}, false // a stream's bytes are judged on the stream
			}
			if s.Status == http.StatusNoContent || s.Status == http.StatusNotModified || redirectStatus(s.Status) {
				return Verdict{}, false // empty by design is judged on the response
			}
			if s.Kind == "undefined" {
				return lost("handler", "the handler returned undefined, so the runtime sent null"), true
			}
			return lost("handler", "the handler returned an empty body%s", status(s.Status)), true
		}
	}
	if last != nil && r.Response != nil && r.Response.BodyBytes == 0 {
		return Verdict{Verdict: VerdictUnknown, Reason: fmt.Sprintf("%s held %d bytes but the runtime sent an empty body: something after it that reports no steps (a wrapper, the runtime client) dropped it; report each wrapper with wrap()", last.Name, last.Bytes)}, true
	}
	return Verdict{}, false
}

func by(who string) string {
	if who == "" {
		return ""
	}
	return " (written by " + who + ")"
}

func status(code int) string {
	if code == 0 {
		return ""
	}
	return fmt.Sprintf(" with status %d", code)
}

func (r *Record) platformFailure() (Verdict, bool) {
	status, errType := "", ""
	if rd := r.Platform.RuntimeDone; rd != nil {
		status, errType = rd.Status, rd.ErrorType
	} else if rp := r.Platform.Report; rp != nil {
		status, errType = rp.Status, rp.ErrorType
	}
	if status == "timeout" && r.acceptedByRuntimeAPI() {
		// The Runtime API took a complete result, so the invocation did not time out
		// before it: telemetry (which any process in the sandbox can post to) saying so
		// is judged on the response and noted in the reason. A failure after an accepted
		// result is real (the process died after it) and keeps its verdict.
		return Verdict{}, false
	}
	switch status {
	case "timeout":
		return lost("platform", "the invocation timed out"), true
	case "failure", "error":
		if r.Response == nil || r.Response.Mode == ModeBuffered || r.Response.Mode == ModeStreaming && r.Response.ErrorType == "" {
			return lost("platform", "the runtime reported %s (%s)", status, orNone(errType)), true
		}
	}
	return Verdict{}, false
}

func (r *Record) emptyByDesign() (Verdict, bool) {
	code := r.Response.StatusCode
	switch {
	case code == http.StatusNoContent:
		return Verdict{Verdict: VerdictEmptyByDesign, Reason: "204 No Content has no body"}, true
	case code == http.StatusNotModified:
		if r.Request != nil && !r.Request.IfNoneMatch && !r.Request.IfModifiedSince {
			return lost("handler", "304 Not Modified answered a request that had no If-None-Match or If-Modified-Since"), true
		}
		return Verdict{Verdict: VerdictEmptyByDesign, Reason: "304 Not Modified answers a conditional request"}, true
	case r.Request != nil && r.Request.Method == http.MethodHead:
		return Verdict{Verdict: VerdictEmptyByDesign, Reason: "HEAD responses have no body"}, true
	case code >= 100 && code < 200:
		return Verdict{Verdict: VerdictEmptyByDesign, Reason: "1xx responses have no body"}, true
	case redirectStatus(code) && r.Response.Location != "":
		// The query and fragment are left out: redirects carry tokens there (OAuth state, codes).
		to, _, _ := strings.Cut(r.Response.Location, "?")
		to, _, _ = strings.Cut(to, "#")
		return Verdict{Verdict: VerdictEmptyByDesign, Reason: fmt.Sprintf("%d redirect to %s: the Location header is the answer", code, oneLine(to, 200))}, true
	}
	return Verdict{}, false
}

// acceptedByRuntimeAPI reports whether the proxy saw the Runtime API accept a complete,
// error-free result for this invocation, delivered to it through the proxy.
func (r *Record) acceptedByRuntimeAPI() bool {
	p := r.Response
	if r.Request == nil || p == nil || p.Upstream < 200 || p.Upstream >= 300 || p.Cut != "" || p.ErrorType != "" {
		return false
	}
	return p.Mode == ModeBuffered || p.Mode == ModeStreaming
}

// Contradiction describes telemetry that disagrees with the Runtime API's own evidence (a
// platform.runtimeDone or report saying timeout for a result the Runtime API accepted), or "".
func (r *Record) Contradiction() string {
	status := ""
	if rd := r.Platform.RuntimeDone; rd != nil {
		status = rd.Status
	} else if rp := r.Platform.Report; rp != nil {
		status = rp.Status
	}
	if status != "timeout" || !r.acceptedByRuntimeAPI() {
		return ""
	}
	return fmt.Sprintf("telemetry says %s, but the Runtime API accepted the complete result (status %d): the Runtime API's evidence is trusted", status, r.Response.Upstream)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// oneLine is s cut to n bytes with no line breaks, for a reason.
func oneLine(s string, n int) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "no error type"
	}
	return s
}
