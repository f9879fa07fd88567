package lifecycle

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/invocation"
	"github.com/bodytrace/bodytrace/internal/runtimeproxy"
	"github.com/bodytrace/bodytrace/internal/telemetry"
	"github.com/bodytrace/bodytrace/steps/line"
)

// Next implements runtimeproxy.Observer: the runtime received an event.
func (l *Loop) Next(n runtimeproxy.Next) {
	l.mu.Lock()
	if l.init.End.IsZero() {
		// Without telemetry, the runtime's first request for an event ends its init.
		l.init.End = n.Start
	}
	l.mu.Unlock()
	if n.RequestID == "" || n.Err != nil {
		return
	}
	req := invocation.ParseEvent(n.Body)
	req.EventBytes = n.Size
	req.At = n.End
	if s := l.cfg.Capture.Event(n.Body); !s.Empty() {
		req.Sample = &s
	}
	req.XRayTraceID = n.Header.Get("Lambda-Runtime-Trace-Id")
	req.FunctionARN = n.Header.Get("Lambda-Runtime-Invoked-Function-Arn")
	if ms, err := strconv.ParseInt(n.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64); err == nil {
		req.Deadline = time.UnixMilli(ms)
	}
	l.update(n.RequestID, n.End, func(r *invocation.Record) { r.Request = &req })
}

// Response implements runtimeproxy.Observer: the runtime sent a result.
func (l *Loop) Response(p runtimeproxy.Response) {
	resp := &invocation.Response{
		Start: p.Start, FirstByte: p.FirstByte, End: p.End,
		WireBytes: p.Size, Chunks: p.Chunks, Upstream: p.Status,
	}
	if p.Status >= 400 {
		resp.UpstreamErr = string(p.UpstreamBody)
	}
	if p.Err != nil {
		resp.Cut = p.Err.Error()
	}
	switch {
	case p.Kind == runtimeproxy.KindInitError:
		resp.Mode, resp.ErrorType = invocation.ModeInitError, p.Header.Get("Lambda-Runtime-Function-Error-Type")
		l.mu.Lock()
		l.init.Status, l.init.ErrorType = "error", resp.ErrorType
		l.mu.Unlock()
		l.initFailed(resp)
		return
	case p.Kind == runtimeproxy.KindError:
		resp.Mode, resp.ErrorType = invocation.ModeError, p.Header.Get("Lambda-Runtime-Function-Error-Type")
		resp.ParseError(p.Head)
	case p.Streaming || strings.HasPrefix(p.Header.Get("Content-Type"), invocation.HTTPIntegrationContentType):
		// aws-lambda-go's lambdaurl streams without the response-mode header; its prelude
		// content type tells the stream apart.
		resp.Mode = invocation.ModeStreaming
		resp.ParseStream(p.Head, p.Header.Get("Content-Type"))
		resp.ErrorType = p.Trailer.Get("Lambda-Runtime-Function-Error-Type")
		resp.ErrorBody = p.Trailer.Get("Lambda-Runtime-Function-Error-Body")
	default:
		resp.Mode = invocation.ModeBuffered
		resp.Sample = l.cfg.Capture.JSON(p.Head) // "" unless BODYTRACE_CAPTURE=body
	}
	if sync := l.syncSteps.Load(); sync != nil {
		// Steps the function sent just before its response may still sit in the socket
		// (the first ones too, so this cannot wait until steps have been seen).
		ctx, cancel := context.WithTimeout(context.Background(), stepSyncBound)
		_ = (*sync)(ctx)
		cancel()
	}
	l.update(p.RequestID, p.Start, func(r *invocation.Record) {
		if r.Response != nil && accepted(r.Response.Upstream) && !accepted(resp.Upstream) {
			// A second result the Runtime API refused (a double /response, or one posted
			// by another process for this id) changes nothing the caller got.
			r.Refused++
			return
		}
		if resp.Mode == invocation.ModeBuffered {
			trigger := invocation.TriggerDirect
			if r.Request != nil {
				trigger = r.Request.Trigger
			}
			// The proxy's scanner saw the whole result as it passed; the head alone serves
			// when there was none.
			if sc, ok := p.Scan.(*invocation.ResultScanner); ok {
				sc.Apply(resp, trigger)
			} else {
				resp.ParseBuffered(p.Head, int64(len(p.Head)) == p.Size, trigger)
			}
		}
		r.Response = resp
	})
}

// accepted reports whether the Runtime API took a result: a 2xx answer, or none yet known.
func accepted(status int) bool { return status == 0 || status >= 200 && status < 300 }

// initFailed gives a failed init its summary: the open invocations still waiting for a
// result failed with it; with none open, the init gets a record of its own.
func (l *Loop) initFailed(resp *invocation.Response) {
	ids := l.store.Open(func(r *invocation.Record) bool { return r.Anchored() && r.Response == nil })
	for _, id := range ids {
		l.update(id, resp.Start, func(r *invocation.Record) {
			cp := *resp
			r.Response = &cp
		})
	}
	if len(ids) > 0 {
		return
	}
	l.mu.Lock()
	in := l.init
	l.mu.Unlock()
	l.exp.Export(invocation.Record{Started: resp.Start, ColdStart: true, Init: &in, Response: resp,
		Observed: invocation.Observed{RuntimeAPI: true, Telemetry: l.telemetry.Load()}})
}

// stepSyncBound bounds the wait for step lines in flight when a response arrives.
const stepSyncBound = 5 * time.Millisecond

// Asked implements runtimeproxy.Liveness: the runtime asked for its next event, so the
// streams waiting for that proof of life are done.
func (l *Loop) Asked(at time.Time) {
	l.asked.Store(at.UnixNano())
	l.mu.Lock()
	var ids []string
	for id := range l.awaitingNext {
		ids = append(ids, id)
	}
	clear(l.awaitingNext)
	l.mu.Unlock()
	for _, id := range ids {
		l.finish(id, "")
	}
}

// hangUpGrace is how long after a hang-up the runtime may still ask for its next event on
// another connection (a client that closes each connection after its request) before its
// process is taken for gone.
const hangUpGrace = 200 * time.Millisecond

// HungUp implements runtimeproxy.Liveness: the runtime closed the connection that carried
// its result for id without asking for its next event. Unless it asks within hangUpGrace,
// its process ended.
func (l *Loop) HungUp(id string, at time.Time) {
	l.mu.Lock()
	waiting := l.awaitingNext[id]
	l.mu.Unlock()
	if !waiting {
		return
	}
	time.AfterFunc(hangUpGrace, func() {
		l.mu.Lock()
		waiting := l.awaitingNext[id]
		delete(l.awaitingNext, id)
		l.mu.Unlock()
		if !waiting {
			return // it asked: alive
		}
		l.update(id, at, func(r *invocation.Record) {
			if r.Response != nil {
				r.Response.RuntimeGone = true
			}
		})
	})
}

// Step handles a step line, from the datagram listener or the function's log.
func (l *Loop) Step(s line.Step) {
	l.stepsSeen.Store(true)
	if !l.update(s.RequestID, time.Now(), func(r *invocation.Record) { r.Steps = append(r.Steps, s) }) {
		l.late()
	}
}

// Telemetry handles a batch from the Telemetry API listener.
func (l *Loop) Telemetry(events []telemetry.Event) {
	for _, ev := range events {
		v, err := ev.Decode()
		if err != nil {
			continue
		}
		switch e := v.(type) {
		case telemetry.LogLine:
			if ev.Type == telemetry.TypeFunction && line.Find([]byte(e.Message)) >= 0 {
				l.stepLines.Feed([]byte(e.Message), l.Step)
			}
		case telemetry.InitStart:
			l.mu.Lock()
			l.init = invocation.Init{Start: ev.Time, End: l.init.End, Type: e.InitializationType, Source: "telemetry"}
			l.mu.Unlock()
		case telemetry.InitRuntimeDone:
			l.mu.Lock()
			l.init.End, l.init.Status, l.init.ErrorType = ev.Time, e.Status, e.ErrorType
			l.mu.Unlock()
		case telemetry.Start:
			at := ev.Time
			l.update(e.RequestID, at, func(r *invocation.Record) { r.Platform.Start = &at })
		case telemetry.RuntimeDone:
			rd := &invocation.RuntimeDone{At: ev.Time, Status: e.Status, ErrorType: e.ErrorType,
				DurationMs: e.Metrics.DurationMs, ProducedBytes: e.Metrics.ProducedBytes}
			for _, s := range e.Spans {
				d := s.DurationMs
				switch s.Name {
				case telemetry.SpanResponseLatency:
					rd.ResponseLatencyMs = &d
				case telemetry.SpanResponseDuration:
					rd.ResponseDurationMs = &d
				}
			}
			// Closed already (the response came first and the wait ran out, or telemetry is
			// slow under load): the runtimeDone joins its trace as a late span.
			if !l.update(e.RequestID, ev.Time, func(r *invocation.Record) { r.Platform.RuntimeDone = rd }) {
				if !l.exp.Late(e.RequestID, invocation.Platform{RuntimeDone: rd}) {
					l.late()
				}
			}
		case telemetry.Report:
			rp := invocation.Report{At: ev.Time, Status: e.Status, ErrorType: e.ErrorType,
				DurationMs: e.Metrics.DurationMs, InitDurationMs: e.Metrics.InitDurationMs}
			if m := e.Metrics.BilledDurationMs; m != nil {
				rp.BilledDurationMs = float64(*m)
			}
			if m := e.Metrics.MemorySizeMB; m != nil {
				rp.MemorySizeMB = *m
			}
			if m := e.Metrics.MaxMemoryUsedMB; m != nil {
				rp.MaxMemoryUsedMB = *m
			}
			// Standard Lambda reports after the extensions' /next, so the record is usually
			// closed already: the report joins its trace as a late span.
			if !l.update(e.RequestID, ev.Time, func(r *invocation.Record) { r.Platform.Report = &rp }) {
				if !l.exp.Late(e.RequestID, invocation.Platform{Report: &rp}) {
					l.late()
				}
			}
		}
	}
}

func (l *Loop) late() {
	l.mu.Lock()
	l.stats.LateEvents++
	l.mu.Unlock()
}
