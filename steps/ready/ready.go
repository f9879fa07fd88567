// Package ready is the file the extension leaves once its Runtime API proxy listens, and
// the proof the exec wrapper (layer/bodytrace-wrapper) and the Go steps package require
// before they point a runtime at a proxy: the file names a live bodytrace process and the
// address it bound, and the proxy at that address echoes the file's nonce. Anything less
// (another program on the port, a stale file, no extension) leaves the runtime untouched.
//
// The file is TMPDIR/bodytrace/proxy-<configured port>, three lines: pid, address, nonce.
package ready

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// NoncePath is the one path the proxy answers itself (GET, with the nonce); the Runtime
// API has no such route, so no runtime request is ever taken for it.
const NoncePath = "/bodytrace/proxy-nonce"

// ProcessName is the extension's process name (/proc/<pid>/comm): Lambda runs it as
// /opt/extensions/bodytrace.
const ProcessName = "bodytrace"

// File is the ready file's content.
type File struct {
	Pid   int
	Addr  string // host:port the proxy listens on, which may differ from the configured one
	Nonce string
}

// Path is where the extension configured for proxyAddr (host:port) leaves its ready file.
func Path(tmpdir, proxyAddr string) (string, error) {
	_, port, err := net.SplitHostPort(proxyAddr)
	if err != nil {
		return "", fmt.Errorf("ready file for proxy address %q: %w", proxyAddr, err)
	}
	if tmpdir == "" {
		tmpdir = "/tmp"
	}
	return filepath.Join(tmpdir, "bodytrace", "proxy-"+port), nil
}

// NewNonce returns a fresh random nonce.
func NewNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Write leaves f at path, whole or not at all (a reader never sees half a file).
func Write(path string, f File) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	// Shared like TMPDIR itself (sticky, writable by all): an extension running as another
	// user than a previous one (Lambda Managed Instances) must still leave its file.
	_ = os.Chmod(dir, 0o777|os.ModeSticky)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".proxy-*")
	if err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	_, err = fmt.Fprintf(tmp, "%d\n%s\n%s\n", f.Pid, f.Addr, f.Nonce)
	err = errors.Join(err, tmp.Chmod(0o644), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write ready file: %w", err)
	}
	return nil
}

// Read reads the ready file at path.
func Read(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("no ready file: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		return File{}, fmt.Errorf("ready file %s is not pid, address and nonce", path)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return File{}, fmt.Errorf("ready file %s names no pid", path)
	}
	return File{Pid: pid, Addr: strings.TrimSpace(lines[1]), Nonce: strings.TrimSpace(lines[2])}, nil
}

// Checker proves a ready file. The zero value checks the real process table.
type Checker struct {
	// Comm returns a process's name; nil reads /proc/<pid>/comm.
	Comm func(pid int) (string, error)
	// Timeout bounds the nonce exchange; zero means 50 ms.
	Timeout time.Duration
}

// Verify proves that f names a live bodytrace process whose proxy answers with f's nonce.
func (c Checker) Verify(f File) error {
	comm := c.Comm
	if comm == nil {
		comm = func(pid int) (string, error) {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
			return strings.TrimSpace(string(b)), err
		}
	}
	name, err := comm(f.Pid)
	if err != nil {
		return fmt.Errorf("the process %d named by the ready file is gone", f.Pid)
	}
	if name != ProcessName {
		return fmt.Errorf("the process %d named by the ready file is %q, not %s", f.Pid, name, ProcessName)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 50 * time.Millisecond
	}
	got, err := Ask(f.Addr, timeout)
	if err != nil {
		return fmt.Errorf("the proxy at %s does not prove itself: %w", f.Addr, err)
	}
	if got != f.Nonce {
		return fmt.Errorf("something else answers at %s (wrong nonce)", f.Addr)
	}
	return nil
}

// Ask fetches the nonce the proxy at addr answers with.
func Ask(addr string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, "GET "+NoncePath+" HTTP/1.0\r\nHost: bodytrace\r\n\r\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(conn), 4<<10))
	if err != nil {
		return "", err
	}
	head, body, ok := strings.Cut(string(b), "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.") || !strings.Contains(strings.SplitN(head, "\r\n", 2)[0], " 200") {
		return "", errors.New("not a bodytrace proxy answer")
	}
	return body, nil
}
