package steps

import (
	"net/http"

	"github.com/bodytrace/bodytrace/steps/line"
)

// WrapHTTP reports what h writes, for handlers served with lambdaurl.Start (function URL
// response streaming). Each layer reports the body bytes its handler wrote and the status,
// as Wrap does (the innermost "handler", then "middleware:<name>"); the outermost layer also
// reports stage "stream" phase "end" with the bytes, the writes (chunks) and the status of
// what went to Lambda's stream. Each non-empty Write is a chunk: lambdaurl's writer is
// unbuffered, so each one goes to the stream as it is. The writer passed to h keeps
// http.Flusher when the one it wraps has it, and Unwrap for http.ResponseController.
//
// When bodytrace is absent WrapHTTP returns h itself.
func WrapHTTP(name string, h http.Handler) http.Handler {
	em := activeEmitter()
	if em == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, inv, outer := enter(r.Context())
		if inv == nil {
			h.ServeHTTP(w, r)
			return
		}
		if outer {
			r = r.WithContext(ctx)
		}
		cw := &countingWriter{ResponseWriter: w}
		var next http.ResponseWriter = cw
		if _, ok := w.(http.Flusher); ok {
			next = flushingWriter{cw}
		}
		h.ServeHTTP(next, r)
		status := cw.status
		if status == 0 && cw.bytes > 0 {
			status = http.StatusOK
		}
		em.emit(inv.step(name, line.Step{Phase: "out", Kind: "http", Bytes: cw.bytes, Status: status, Enc: contentEncoding(nil, cw.Header())}))
		if outer {
			em.emit(line.Step{RequestID: inv.rid, Seq: int(inv.next.Add(1) - 1), Stage: "stream", Phase: "end",
				Kind: "stream", Bytes: cw.bytes, Chunks: cw.chunks, Status: status, After: inv.after()})
		}
	})
}

// countingWriter counts what a handler writes through it.
type countingWriter struct {
	http.ResponseWriter
	bytes  int64
	chunks int
	status int
}

func (c *countingWriter) WriteHeader(code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	if n > 0 {
		if c.status == 0 {
			c.status = http.StatusOK
		}
		c.bytes += int64(n)
		c.chunks++
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// flushingWriter is a countingWriter over a writer that can flush.
type flushingWriter struct{ *countingWriter }

func (f flushingWriter) Flush() { f.ResponseWriter.(http.Flusher).Flush() }
