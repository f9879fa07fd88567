package steps

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// FIFO receives step lines written to a named pipe, one line each. It is the Node.js
// helper's transport: fs.writeSync uses a module every Node.js process has loaded and puts
// the line in the pipe before it returns, where a UDP socket would load dgram (and, on its
// first bind, cluster and child_process: 3-5 ms of CPU on each cold start) and send from
// the event loop. A write of up to PIPE_BUF (4096) bytes is atomic, so the lines of
// concurrent writers never mix; the helper sends longer lines by datagram.
type FIFO struct {
	path string
	f    *os.File // read-write: no EOF while writers come and go, and Sync writes through it
	in   *quietReader
	*Counter
	barriers barriers
	wg       sync.WaitGroup
	lines    atomic.Uint64 // lines read, barriers aside
}

// fifoBuffer bounds one line: a longer one is counted as rejected and skipped.
const fifoBuffer = 64 << 10

// FIFOPath is where the extension makes its step pipe: beside its ready file
// (TMPDIR/bodytrace/proxy-<configured proxy port>), named steps-<the same port>. The exec
// wrapper finds it there and advertises it as BODYTRACE_STEPS_FIFO.
func FIFOPath(readyFile string) string {
	return filepath.Join(filepath.Dir(readyFile), strings.Replace(filepath.Base(readyFile), "proxy-", "steps-", 1))
}

// MakeFIFO makes the named pipe at path (replacing a stale one), writable by every user as
// the ready file's folder is, and holds it open, so that writers can open it and write at
// once; what they write waits in the pipe until Serve.
func MakeFIFO(path string) (*FIFO, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("step pipe %s: %w", path, err)
	}
	_ = os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("step pipe %s: %w", path, err)
	}
	// Writable by the function's user, whoever it is (Lambda Managed Instances).
	if err := os.Chmod(path, 0o622); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("step pipe %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("step pipe %s: %w", path, err)
	}
	in, err := newQuietReader(f)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("step pipe %s: %w", path, err)
	}
	return &FIFO{path: path, f: f, in: in}, nil
}

// Serve reads the pipe until Close, feeding each line to c and h.
func (l *FIFO) Serve(h Handler, c *Counter) {
	l.Counter = c
	l.wg.Add(1)
	go l.serve(h)
}

// ListenFIFO is MakeFIFO then Serve.
func ListenFIFO(path string, h Handler, c *Counter) (*FIFO, error) {
	l, err := MakeFIFO(path)
	if err != nil {
		return nil, err
	}
	l.Serve(h, c)
	return l, nil
}

func (l *FIFO) serve(h Handler) {
	defer l.wg.Done()
	r := bufio.NewReaderSize(l.in, fifoBuffer)
	for {
		text, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			l.lines.Add(1)
			l.Feed(text, h) // over MaxLine: counted as rejected
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				return
			}
			continue
		case err != nil:
			return // closed
		}
		text = text[:len(text)-1]
		// A writer that wrote part of a line (not the helper: its lines are atomic writes)
		// leaves it in front of the next one; a barrier is still a barrier there.
		if i := bytes.Index(text, []byte(syncMarker)); i >= 0 {
			if i > 0 {
				l.lines.Add(1)
				l.Feed(text[:i], h)
			}
			l.barriers.reached(text[i:])
			continue
		}
		l.lines.Add(1)
		l.Feed(text, h)
	}
}

// Sync returns once every line written before the call has been handled, or ctx ends: at
// once when the pipe is empty and the reader waits for more, else when a barrier line
// written now is read back (a pipe keeps its order).
func (l *FIFO) Sync(ctx context.Context) error {
	if l.in.quiet() {
		return nil
	}
	return l.barriers.wait(ctx, func(marker []byte) error {
		if d, ok := ctx.Deadline(); ok {
			_ = l.f.SetWriteDeadline(d) // a full pipe must not hold the loop
		} else {
			_ = l.f.SetWriteDeadline(time.Time{})
		}
		_, err := l.f.Write(append(marker, '\n'))
		return err
	})
}

// Lines counts the lines read from the pipe, barriers aside, for the extension's stopped
// line: which way the steps came.
func (l *FIFO) Lines() uint64 { return l.lines.Load() }

// Path is the pipe's path.
func (l *FIFO) Path() string { return l.path }

// Close stops reading, removes the pipe and waits for the reader.
func (l *FIFO) Close() error {
	err := l.f.Close()
	l.wg.Wait()
	os.Remove(l.path)
	return err
}
