package ready

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteReadVerify(t *testing.T) {
	nonce := NewNonce()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == NoncePath {
			_, _ = io.WriteString(w, nonce)
		}
	}))
	defer proxy.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") }))
	defer other.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	path, err := Path(t.TempDir(), "127.0.0.1:9140")
	if err != nil || filepath.Base(path) != "proxy-9140" {
		t.Fatalf("Path = %q, %v", path, err)
	}
	addr := proxy.Listener.Addr().String()
	if err := Write(path, File{Pid: 42, Addr: addr, Nonce: nonce}); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil || f != (File{Pid: 42, Addr: addr, Nonce: nonce}) {
		t.Fatalf("Read = %+v, %v", f, err)
	}
	isBodytrace := func(int) (string, error) { return ProcessName, nil }
	tests := []struct {
		name string
		f    File
		comm func(int) (string, error)
		want string // "" means proven
	}{
		{"proven", f, isBodytrace, ""},
		{"another process", f, func(int) (string, error) { return "node", nil }, `is "node", not bodytrace`},
		{"dead process", f, func(int) (string, error) { return "", errors.New("gone") }, "is gone"},
		{"another HTTP server", File{Pid: 42, Addr: other.Listener.Addr().String(), Nonce: nonce}, isBodytrace, "wrong nonce"},
		{"a listener that never answers", File{Pid: 42, Addr: silent.Addr().String(), Nonce: nonce}, isBodytrace, "does not prove itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Checker{Comm: tt.comm, Timeout: 200 * time.Millisecond}.Verify(tt.f)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Verify = %v, want %q", err, tt.want)
			}
		})
	}
}
