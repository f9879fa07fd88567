package localrun

import (
	"bytes"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Log is a goroutine-safe buffer for a process's output.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p: a Log is the Stdout and Stderr of a command.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// stopGroup ends a command started in its own process group (Setpgid), children
// included: SIGTERM, then SIGKILL if it has not exited after grace.
func stopGroup(cmd *exec.Cmd, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}
