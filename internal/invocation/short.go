package invocation

import (
	"fmt"
	"net/http"

	"github.com/bodytrace/bodytrace/steps/line"
)

// A stage that passes on fewer body bytes than it received loses the difference there: a
// short body is a lost body. Bytes are compared decoded (base64 is decoded by whoever
// counts; content-encoding through Stage.decodedSize), and only between stages that hold
// the same response: a stage that changes the status code or the kind of result wrote a
// new response, and one that changes the content-encoding re-encoded the body. Only
// successes (and results that are not HTTP-shaped) are judged: error pages are rewritten
// with the same status as a matter of course. Where the counts cannot be compared the
// answer is unknown, never lost.

// bodyComparison is the outcome of comparing what a stage passed on with what it received.
type bodyComparison int

const (
	bodyKept      bodyComparison = iota // no fewer bytes, or nothing to compare
	bodyShort                           // fewer decoded bytes: lost there
	bodyUncertain                       // fewer bytes, in encodings that cannot be compared
)

// compareBodies compares the body out passed on with the one in gave it. got and want
// are the sizes compared; why explains an uncertain answer.
func compareBodies(in, out Stage) (c bodyComparison, got, want int64, why string) {
	di, okIn := in.decodedSize()
	do, okOut := out.decodedSize()
	switch {
	case okIn && okOut:
		if do < di {
			return bodyShort, do, di, ""
		}
		return bodyKept, do, di, ""
	case out.Bytes >= in.Bytes:
		return bodyKept, out.Bytes, in.Bytes, ""
	case in.Enc != "" && out.Enc != "" && in.Enc != out.Enc:
		// The stage re-encoded the body (compressed it, most often): sizes in two
		// encodings say nothing about each other.
		return bodyKept, out.Bytes, in.Bytes, ""
	case in.Enc == "" || out.Enc == "":
		unstated := in.Name
		if out.Enc == "" {
			unstated = out.Name
		}
		return bodyUncertain, out.Bytes, in.Bytes, fmt.Sprintf("%s did not say its content-encoding, so fewer bytes may be compression", unstated)
	}
	return bodyUncertain, out.Bytes, in.Bytes, fmt.Sprintf("both hold %s-encoded bytes and the decoded sizes are not known, so fewer bytes may be a recompression", in.Enc)
}

// sameResponse reports whether out can hold the body in gave it, cut or whole: the same
// status code and the same kind of result, where both say.
func sameResponse(in, out Stage) bool {
	if in.Status != 0 && out.Status != 0 && in.Status != out.Status {
		return false
	}
	return in.Kind == "" || out.Kind == "" || in.Kind == out.Kind
}

// successStatus reports whether a body under this status is judged for shortness: a
// success, or a result that is not HTTP-shaped. Error and redirect pages are rewritten
// by middlewares all the time (a generic message for a stack trace) with the same status.
func successStatus(code int) bool {
	return code == 0 || code >= 200 && code < 300
}

// chainStage reports whether a stage holds a buffered result along the response path
// (the handler, an adapter, a middleware, the runtime's buffered response): not writes,
// streams, or the platform's count of the whole result.
func chainStage(s Stage) bool {
	switch s.Name {
	case StageLateWrite, StagePlatform, "stream":
		return false
	}
	return s.Kind != "stream" && s.Kind != "undefined"
}

// shortAlongPath finds the first stage that passed on fewer body bytes than the stage
// before it gave it. A short step stage is a loss there; a short runtime response, or
// counts that cannot be compared, are unknown with the reason (a definite loss further
// out is still reported first).
func (r *Record) shortAlongPath() (Verdict, bool) {
	var prev *Stage
	var doubt *Verdict
	stages := r.Stages()
	for i := range stages {
		s := &stages[i]
		if !chainStage(*s) {
			continue
		}
		if s.Bytes == 0 {
			prev = nil // an empty stage is judged by lostAlongPath
			continue
		}
		if prev == nil || !sameResponse(*prev, *s) || !successStatus(s.Status) {
			prev = s
			continue
		}
		c, got, want, why := compareBodies(*prev, *s)
		switch {
		case c == bodyShort && s.Name == StageResponse:
			return Verdict{Verdict: VerdictUnknown, Reason: fmt.Sprintf("short: %d of %d bytes: the runtime sent %d of the %d body bytes %s returned; something after it that reports no steps (a wrapper, the runtime client) lost the rest", got, want, got, want, prev.Name)}, true
		case c == bodyShort:
			return lost(s.Name, "short: %d of %d bytes: %s passed on %d of the %d body bytes %s gave it", got, want, s.Name, got, want, prev.Name), true
		case c == bodyUncertain && doubt == nil:
			doubt = &Verdict{Verdict: VerdictUnknown, Reason: fmt.Sprintf("short? %s passed on %d of the %d bytes %s gave it, but %s", s.Name, got, want, prev.Name, why)}
		}
		prev = s
	}
	if doubt != nil {
		return *doubt, true
	}
	return Verdict{}, false
}

// streamShort compares the function's own count of its response stream with the body
// bytes that reached Lambda. A helper that counted a function-URL prelude the function
// wrote itself (OpenNext writes it with responseStream.write) reports the stream's wire
// bytes, prelude included: that is a whole stream, not a short one.
func (r *Record) streamShort() (Verdict, bool) {
	resp := r.Response
	st, ok := r.streamStep()
	if !ok || resp == nil || resp.Mode != ModeStreaming || resp.BodyBytes < 0 || st.Bytes <= resp.BodyBytes {
		return Verdict{}, false
	}
	prelude := resp.WireBytes - resp.BodyBytes
	switch {
	case prelude > 0 && st.Bytes == resp.WireBytes:
		return Verdict{}, false // the prelude was counted as body: every byte arrived
	case prelude > 0 && st.Bytes < resp.WireBytes:
		return Verdict{Verdict: VerdictUnknown, Reason: fmt.Sprintf("short? the function wrote %d bytes to its stream and Lambda got a %d-byte body after a %d-byte prelude: whether the function's count includes the prelude is not known", st.Bytes, resp.BodyBytes, prelude)}, true
	}
	return lost("streaming", "short: %d of %d bytes: the function wrote %d bytes to its stream but only %d reached Lambda", resp.BodyBytes, st.Bytes, st.Bytes, resp.BodyBytes), true
}

// emptyStatus reports whether a stage's status code makes an empty body right for this
// request: 204, 304 answering a conditional request, 1xx, a redirect (unless the runtime's
// response shows it without a Location), or any answer to HEAD.
func (r *Record) emptyStatus(code int) bool {
	switch {
	case code == http.StatusNoContent, code >= 100 && code < 200:
		return true
	case code == http.StatusNotModified:
		return r.Request == nil || r.Request.IfNoneMatch || r.Request.IfModifiedSince
	case redirectStatus(code):
		// A redirect's answer is its Location, which step lines do not carry: only the
		// runtime's response can show one missing.
		return r.Response == nil || r.Response.Location != "" || !r.Response.HTTP
	}
	return r.Request != nil && r.Request.Method == http.MethodHead
}

// lateShort finds bytes written to a response object after the handler settled, when a
// buffered response carried a body: the runtime had already sent the result, so the
// late bytes are missing from it. Only late-write lines count (they carry the late bytes
// alone); a write line's running total may hold bytes the snapshot has.
func (r *Record) lateShort() (Verdict, bool) {
	resp := r.Response
	if resp == nil || resp.Mode != ModeBuffered || resp.BodyBytes <= 0 {
		return Verdict{}, false
	}
	var late *line.Step
	for i := range r.Steps {
		if s := &r.Steps[i]; s.Stage == StageLateWrite && s.Bytes > 0 && (late == nil || s.Bytes > late.Bytes) {
			late = s // the lines carry a running total
		}
	}
	if s := late; s != nil {
		at := StageLateWrite
		if s.Who != "" {
			at += ":" + s.Who
		}
		if resp.encoding() == EncodingIdentity {
			return lost(at, "short: %d of %d bytes: %d more bytes were written %.0f ms after the handler settled, after a buffered adapter had taken its snapshot%s", resp.BodyBytes, resp.BodyBytes+s.Bytes, s.Bytes, s.After, by(s.Who)), true
		}
		return lost(at, "%d bytes were written %.0f ms after the handler settled, after a buffered adapter had taken its snapshot%s: the %d-byte body sent lacks them", s.Bytes, s.After, by(s.Who), resp.BodyBytes), true
	}
	return Verdict{}, false
}
