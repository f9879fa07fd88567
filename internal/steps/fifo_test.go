package steps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/steps/line"
)

// pipeWriter writes as the Node.js helper does (fs.openSync O_WRONLY|O_NONBLOCK, then
// fs.writeSync): one write(2) per line, EAGAIN when the pipe is full.
type pipeWriter int

func writer(t *testing.T, path string) pipeWriter {
	t.Helper()
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return pipeWriter(fd)
}

func (w pipeWriter) Write(b []byte) (int, error) { return syscall.Write(int(w), b) }

// TestFIFOSync: lines written by several writers before Sync are all handled when it
// returns; garbage and oversized lines are counted, never handled; Close removes the pipe.
func TestFIFOSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bodytrace", "steps-9140")
	var mu sync.Mutex
	var got []line.Step
	c := NewCounter(nil)
	l, err := ListenFIFO(path, func(s line.Step) { mu.Lock(); got = append(got, s); mu.Unlock() }, c)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode()&os.ModeNamedPipe == 0 || fi.Mode().Perm() != 0o622 {
		t.Fatalf("pipe %v, %v; want a named pipe writable by all", fi, err)
	}
	const writers, each = 4, 50
	var wg sync.WaitGroup
	for w := range writers {
		f := writer(t, path)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				b := append(line.Format(line.Step{RequestID: "r", Seq: w*each + i, Stage: "handler", Bytes: int64(i)}), '\n')
				if _, err := f.Write(b); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	bad := writer(t, path)
	_, _ = bad.Write([]byte("not a step\n@bodytrace/step {\"v\":1,\n"))
	// A line longer than the reader's buffer, written blocking (it is larger than the pipe).
	big, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := big.Write([]byte(line.Marker + strings.Repeat("x", fifoBuffer+10) + "\n")); err != nil {
		t.Fatal(err)
	}
	big.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if n != writers*each {
		t.Errorf("%d steps handled when Sync returned, want %d", n, writers*each)
	}
	if n := l.Lines(); n != writers*each+3 {
		t.Errorf("Lines = %d, want %d (the barrier not counted)", n, writers*each+3)
	}
	if st := c.Stats(); st.Accepted != writers*each || st.Rejected != 3 {
		t.Errorf("Stats = %+v, want %d accepted and 3 rejected", st, writers*each)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pipe left behind: %v", err)
	}
}

// TestFIFOSyncBounded: with the reader unable to keep up (a full pipe nobody drains), Sync
// returns at its bound.
func TestFIFOSyncBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steps-1")
	block := make(chan struct{})
	l, err := ListenFIFO(path, func(line.Step) { <-block }, NewCounter(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { close(block); l.Close() }()
	f := writer(t, path)
	one := append(line.Format(line.Step{RequestID: "r", Stage: "handler"}), '\n')
	for { // fill the pipe: the reader is stuck on the first line
		if _, err := f.Write(one); err != nil {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.Sync(ctx); err == nil {
		t.Error("Sync returned nil with the reader stuck")
	}
}
