package runtimeproxy

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// capture tees an answer body read from the Runtime API, keeping its first
// limit bytes. It is read only by the goroutine serving the runtime.
type capture struct {
	body      io.ReadCloser
	limit     int
	buf       []byte
	size      int64
	truncated bool
	err       error // read error other than io.EOF
}

func newCapture(body io.ReadCloser, limit int, sizeHint int64) *capture {
	c := &capture{body: body, limit: limit}
	if sizeHint > 0 && limit > 0 {
		c.buf = make([]byte, 0, min(sizeHint, int64(limit)))
	}
	return c
}

func (c *capture) Read(p []byte) (int, error) {
	n, err := c.body.Read(p)
	if n > 0 {
		c.size += int64(n)
		if room := c.limit - len(c.buf); room > 0 {
			c.buf = append(c.buf, p[:min(n, room)]...)
		}
		if c.size > int64(len(c.buf)) {
			c.truncated = true
		}
	}
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
	return n, err
}

func (c *capture) Close() error { return c.body.Close() }

// requestTee tees the body the runtime posts. The upstream Transport reads it
// from its own goroutine, so what it records is guarded by mu.
type requestTee struct {
	body io.ReadCloser
	src  *http.Request // the server's request: its Trailer is filled when the body ends
	out  http.Header   // trailers the Transport writes upstream after the body; nil unless chunked

	mu        sync.Mutex
	limit     int
	head      []byte
	scan      io.Writer // sees every byte; nil when not wanted or after it panicked
	scanBroke bool
	size      int64
	chunks    int
	first     time.Time
	end       time.Time
	err       error
	trailer   http.Header
}

func newRequestTee(r *http.Request, limit int) *requestTee {
	t := &requestTee{body: r.Body, src: r, limit: limit}
	if isChunked(r.TransferEncoding) {
		// Declared keys now, so the Transport announces them in a Trailer
		// header; values are copied in at EOF, before it writes the trailer.
		t.out = make(http.Header, len(r.Trailer))
		for k := range r.Trailer {
			t.out[k] = nil
		}
	}
	return t
}

func (t *requestTee) Read(p []byte) (int, error) {
	n, err := t.body.Read(p)
	if n == 0 && err == nil {
		return 0, nil
	}
	now := time.Now()
	t.mu.Lock()
	if n > 0 {
		if t.size == 0 {
			t.first = now
		}
		t.size += int64(n)
		t.chunks++
		if room := t.limit - len(t.head); room > 0 {
			t.head = append(t.head, p[:min(n, room)]...)
		}
		if t.scan != nil {
			t.feed(p[:n])
		}
	}
	if err != nil && t.end.IsZero() {
		t.end = now
		if errors.Is(err, io.EOF) {
			// Go's server has read the trailers into src.Trailer before
			// returning io.EOF; this Read runs before the Transport writes
			// t.out, so the values reach the Runtime API as trailers.
			for k, v := range t.src.Trailer {
				if len(v) == 0 {
					continue
				}
				if t.out != nil {
					t.out[k] = v
				}
				if t.trailer == nil {
					t.trailer = make(http.Header, len(t.src.Trailer))
				}
				t.trailer[k] = append([]string(nil), v...)
			}
		} else {
			t.err = err
		}
	}
	t.mu.Unlock()
	return n, err
}

func (t *requestTee) Close() error { return t.body.Close() }

// feed passes bytes to the scan writer; a panic there ends the scan, not the copy.
func (t *requestTee) feed(p []byte) {
	defer func() {
		if recover() != nil {
			t.scan, t.scanBroke = nil, true
		}
	}()
	_, _ = t.scan.Write(p)
}

// teeSnapshot is what requestTee recorded, copied out under its lock.
type teeSnapshot struct {
	head       []byte
	size       int64
	chunks     int
	first, end time.Time
	err        error
	trailer    http.Header
	scan       io.Writer // nil when there was none or it broke
}

func (t *requestTee) snapshot() teeSnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := teeSnapshot{
		head: t.head, size: t.size, chunks: t.chunks,
		first: t.first, end: t.end, err: t.err, trailer: t.trailer,
	}
	if !t.end.IsZero() && !t.scanBroke {
		// The scan saw the whole body only when it ended.
		s.scan = t.scan
	}
	// The Transport may still be reading (the Runtime API answered before
	// the body ended): hand the observer its own copy of the head.
	if t.end.IsZero() {
		s.head = append([]byte(nil), t.head...)
	}
	return s
}

func isChunked(te []string) bool {
	return len(te) > 0 && te[0] == "chunked"
}
