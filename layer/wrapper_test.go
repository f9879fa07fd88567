package layer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bodytrace/bodytrace/steps/ready"
)

const upstream = "127.0.0.1:9001" // what Lambda would set as AWS_LAMBDA_RUNTIME_API

// wrapperRun is what one run of bodytrace-wrapper left behind.
type wrapperRun struct {
	env    map[string]string // environment seen by the final command
	stdout string            // everything the chain printed, env lines included
	stderr string
}

// runWrapper runs bodytrace-wrapper with exactly env and args, the final command being `env`
// (or a stand-in for it); it fails the test if the wrapper does not exit 0.
func runWrapper(t *testing.T, env []string, args ...string) wrapperRun {
	t.Helper()
	wrapper, err := filepath.Abs("bodytrace-wrapper")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(wrapper, args...)
	// PATH is kept so the wrapper finds timeout and env; a PATH in env replaces it.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bodytrace-wrapper %v: %v\nstderr: %s", args, err, stderr.String())
	}
	run := wrapperRun{env: map[string]string{}, stdout: stdout.String(), stderr: stderr.String()}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			run.env[k] = v
		}
	}
	return run
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// writeScript writes an executable script into dir and returns its path.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeExtension is a live process named bodytrace (a copy of sleep), as the extension's
// ready file must name one; it returns the pid.
func fakeExtension(t *testing.T) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bodytrace")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// nonceServer answers GET /bodytrace/proxy-nonce with nonce, as the proxy does.
func nonceServer(t *testing.T, nonce string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ready.NoncePath {
			_, _ = io.WriteString(w, nonce)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// provenProxy stands in for a running extension: a live bodytrace process, a proxy
// echoing its nonce and the ready file naming both. It returns the proxy's address and the
// environment that makes the wrapper find them.
func provenProxy(t *testing.T) (string, []string) {
	t.Helper()
	pid := fakeExtension(t)
	proxy := nonceServer(t, "n")
	tmp := t.TempDir()
	configured := "127.0.0.1:9"
	path, err := ready.Path(tmp, configured)
	if err != nil {
		t.Fatal(err)
	}
	if err := ready.Write(path, ready.File{Pid: pid, Addr: proxy, Nonce: "n"}); err != nil {
		t.Fatal(err)
	}
	return proxy, []string{"BODYTRACE_PROXY_ADDR=" + configured, "TMPDIR=" + tmp}
}

// silentListener accepts connections and never answers.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln.Addr().String()
}

// TestWrapperRuntimeAPI: the wrapper points the runtime at a proxy only when the ready
// file proves it is this extension's (a live bodytrace process, a proxy echoing the
// nonce), at the address the file names (another port when the configured one was
// taken); anything else leaves the runtime untouched with one line saying why.
func TestWrapperRuntimeAPI(t *testing.T) {
	pid := strconv.Itoa(fakeExtension(t))
	proxy := nonceServer(t, "n-good")
	other := nonceServer(t, "someone-else")
	silent := silentListener(t)
	down := closedPort(t)
	_, configured, _ := net.SplitHostPort(closedPort(t)) // taken, say: the proxy is elsewhere
	tests := []struct {
		name         string
		ready        string // the ready file's content; "" means no file
		env          []string
		wantAPI      string
		wantUpstream string // "" means BODYTRACE_UPSTREAM_RUNTIME_API must be unset
		wantStderr   string // a substring of the single stderr line; "" means no stderr
		noPipe       bool   // the extension made no step pipe
	}{
		{name: "proven, on another port than configured", ready: pid + "\n" + proxy + "\nn-good\n",
			wantAPI: proxy, wantUpstream: upstream},
		{name: "proven, no step pipe", ready: pid + "\n" + proxy + "\nn-good\n", noPipe: true,
			wantAPI: proxy, wantUpstream: upstream},
		{name: "no ready file", wantAPI: upstream, wantStderr: "no ready file"},
		{name: "malformed ready file", ready: "garbage\n", wantAPI: upstream, wantStderr: "malformed"},
		{name: "pid is not bodytrace", ready: strconv.Itoa(os.Getpid()) + "\n" + proxy + "\nn-good\n",
			wantAPI: upstream, wantStderr: "not a running bodytrace extension"},
		{name: "pid is dead", ready: "999999999\n" + proxy + "\nn-good\n",
			wantAPI: upstream, wantStderr: "not a running bodytrace extension"},
		{name: "another HTTP server on the port", ready: pid + "\n" + other + "\nn-good\n",
			wantAPI: upstream, wantStderr: "did not echo"},
		{name: "a listener that never answers", ready: pid + "\n" + silent + "\nn-good\n",
			wantAPI: upstream, wantStderr: "did not echo"},
		{name: "nothing listens", ready: pid + "\n" + down + "\nn-good\n",
			wantAPI: upstream, wantStderr: "nothing accepts connections at " + down},
		{name: "already pointed at the proxy on its other port", ready: pid + "\n" + proxy + "\nn-good\n",
			env:     []string{"AWS_LAMBDA_RUNTIME_API=" + proxy, "BODYTRACE_UPSTREAM_RUNTIME_API=" + upstream},
			wantAPI: proxy, wantUpstream: upstream},
		{name: "no runtime API", ready: pid + "\n" + proxy + "\nn-good\n", env: []string{"AWS_LAMBDA_RUNTIME_API="},
			wantStderr: "AWS_LAMBDA_RUNTIME_API is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			if tt.ready != "" {
				if err := os.MkdirAll(filepath.Join(tmp, "bodytrace"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(tmp, "bodytrace", "proxy-"+configured), []byte(tt.ready), 0o644); err != nil {
					t.Fatal(err)
				}
				if !tt.noPipe {
					if err := syscall.Mkfifo(filepath.Join(tmp, "bodytrace", "steps-"+configured), 0o622); err != nil {
						t.Fatal(err)
					}
				}
			}
			env := append([]string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_PORT=" + configured, "TMPDIR=" + tmp}, tt.env...)
			run := runWrapper(t, env, "env")
			if got := run.env["AWS_LAMBDA_RUNTIME_API"]; got != tt.wantAPI {
				t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want %q (stderr %q)", got, tt.wantAPI, run.stderr)
			}
			if got := run.env["BODYTRACE_UPSTREAM_RUNTIME_API"]; got != tt.wantUpstream {
				t.Errorf("BODYTRACE_UPSTREAM_RUNTIME_API = %q, want %q", got, tt.wantUpstream)
			}
			// Step lines go to the extension by datagram only when the proxy is proven.
			redirected := tt.wantUpstream != ""
			if got, ok := run.env["BODYTRACE_STEPS_ADDR"]; redirected != ok || ok && !strings.HasSuffix(got, ":9141") {
				t.Errorf("BODYTRACE_STEPS_ADDR = %q (set %v), want it on port 9141 exactly when redirected (%v)", got, ok, redirected)
			}
			// The Node.js helper writes into the step pipe when the extension made one.
			wantPipe := ""
			if redirected && !tt.noPipe {
				wantPipe = filepath.Join(tmp, "bodytrace", "steps-"+configured)
			}
			if got := run.env["BODYTRACE_STEPS_FIFO"]; got != wantPipe {
				t.Errorf("BODYTRACE_STEPS_FIFO = %q, want %q", got, wantPipe)
			}
			if tt.wantStderr == "" {
				if run.stderr != "" {
					t.Errorf("stderr = %q, want none", run.stderr)
				}
			} else if lines := strings.Split(strings.TrimSuffix(run.stderr, "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], tt.wantStderr) {
				t.Errorf("stderr = %q, want one line containing %q", run.stderr, tt.wantStderr)
			}
		})
	}
}

func TestWrapperNodeOptions(t *testing.T) {
	dir := t.TempDir()
	helper := filepath.Join(dir, "bodytrace.cjs")
	// The wrapper knows the helper by its second line, as layer/node/bodytrace.cjs starts.
	if err := os.WriteFile(helper, []byte("'use strict';\n// bodytrace Node.js helper. A stand-in.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Files that are not the helper: preloading them could stop the runtime at start.
	notHelper := filepath.Join(dir, "other.cjs")
	empty := filepath.Join(dir, "empty.cjs")
	if err := errors.Join(os.WriteFile(notHelper, []byte("throw new Error('not the helper');\n"), 0o644), os.WriteFile(empty, nil, 0o644)); err != nil {
		t.Fatal(err)
	}
	// A stand-in for the Node.js binary: the wrapper recognises it by its name.
	node := writeScript(t, dir, "node", "exec env\n")
	python := writeScript(t, dir, "python3", "exec env\n")
	other := writeScript(t, dir, "runtime", "exec env\n") // ignores its arguments
	require := "--require " + helper
	proxy, proxyEnv := provenProxy(t)
	base := append([]string{"AWS_LAMBDA_RUNTIME_API=" + upstream}, proxyEnv...)

	tests := []struct {
		name       string
		env        []string
		args       []string
		want       string // NODE_OPTIONS seen by the runtime; "" means unset
		wantStderr string // one line containing this; "" means no output
	}{
		{"node", []string{"BODYTRACE_NODE_HELPER=" + helper}, []string{node, "/var/runtime/index.mjs"}, require, ""},
		{"node, existing options kept", []string{"BODYTRACE_NODE_HELPER=" + helper, "NODE_OPTIONS=--max-old-space-size=256 --enable-source-maps"}, []string{node}, "--max-old-space-size=256 --enable-source-maps " + require, ""},
		{"node, helper already required", []string{"BODYTRACE_NODE_HELPER=" + helper, "NODE_OPTIONS=" + require}, []string{node}, require, ""},
		{"runtime client named in args", []string{"BODYTRACE_NODE_HELPER=" + helper}, []string{other, "/cache/node_modules/aws-lambda-ric/bin/index.mjs"}, require, ""},
		{"node, no helper file", []string{"BODYTRACE_NODE_HELPER=" + filepath.Join(dir, "missing.cjs")}, []string{node}, "", "is not bodytrace's Node.js helper; ignored"},
		{"node, no helper file, existing options kept", []string{"BODYTRACE_NODE_HELPER=" + filepath.Join(dir, "missing.cjs"), "NODE_OPTIONS=--enable-source-maps"}, []string{node}, "--enable-source-maps", "is not bodytrace's Node.js helper; ignored"},
		{"node, helper path names another file", []string{"BODYTRACE_NODE_HELPER=" + notHelper}, []string{node}, "", "BODYTRACE_NODE_HELPER=" + notHelper + " is not bodytrace's Node.js helper; ignored"},
		{"node, helper path names an empty file", []string{"BODYTRACE_NODE_HELPER=" + empty}, []string{node}, "", "is not bodytrace's Node.js helper; ignored"},
		{"node, helper path names a folder", []string{"BODYTRACE_NODE_HELPER=" + dir}, []string{node}, "", "is not bodytrace's Node.js helper; ignored"},
		{"not node", []string{"BODYTRACE_NODE_HELPER=" + helper}, []string{python, "/var/runtime/bootstrap.py"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := runWrapper(t, append(base, tt.env...), tt.args...)
			if got := run.env["NODE_OPTIONS"]; got != tt.want {
				t.Errorf("NODE_OPTIONS = %q, want %q", got, tt.want)
			}
			if tt.wantStderr == "" && run.stderr != "" {
				t.Errorf("stderr = %q, want none", run.stderr)
			} else if lines := strings.Split(strings.TrimSuffix(run.stderr, "\n"), "\n"); tt.wantStderr != "" && (len(lines) != 1 || !strings.Contains(lines[0], tt.wantStderr)) {
				t.Errorf("stderr = %q, want one line containing %q", run.stderr, tt.wantStderr)
			}
			if run.env["AWS_LAMBDA_RUNTIME_API"] != proxy {
				t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want the proxy %q", run.env["AWS_LAMBDA_RUNTIME_API"], proxy)
			}
		})
	}
}

func TestWrapperChainsToNextWrapper(t *testing.T) {
	dir := t.TempDir()
	// Like Sentry's or Datadog's wrapper: adjusts the environment, then runs the runtime.
	next := writeScript(t, dir, "next-wrapper", `echo "NEXT_WRAPPER_ARGS=$*"; export NEXT_WRAPPER_RAN=1; exec "$@"`+"\n")
	proxy, proxyEnv := provenProxy(t)

	tests := []struct {
		name       string
		next       string
		wantRan    string
		wantStderr string
	}{
		{name: "next wrapper runs the runtime", next: next, wantRan: "1"},
		{name: "missing next wrapper is skipped", next: filepath.Join(dir, "missing"), wantStderr: "cannot run BODYTRACE_NEXT_WRAPPER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_NEXT_WRAPPER=" + tt.next}, proxyEnv...)
			run := runWrapper(t, env, "env", "FROM_ARGS=yes")
			if got := run.env["NEXT_WRAPPER_RAN"]; got != tt.wantRan {
				t.Errorf("NEXT_WRAPPER_RAN = %q, want %q", got, tt.wantRan)
			}
			if tt.wantRan != "" && run.env["NEXT_WRAPPER_ARGS"] != "env FROM_ARGS=yes" {
				t.Errorf("next wrapper got args %q, want the runtime command %q", run.env["NEXT_WRAPPER_ARGS"], "env FROM_ARGS=yes")
			}
			// The runtime command ran with its own arguments, after the proxy was set up.
			if run.env["FROM_ARGS"] != "yes" || run.env["AWS_LAMBDA_RUNTIME_API"] != proxy {
				t.Errorf("runtime env = %v, want FROM_ARGS=yes and AWS_LAMBDA_RUNTIME_API=%s", run.env, proxy)
			}
			if !strings.Contains(run.stderr, tt.wantStderr) || (tt.wantStderr == "" && run.stderr != "") {
				t.Errorf("stderr = %q, want %q", run.stderr, tt.wantStderr)
			}
		})
	}
}

// TestWrapperInvalidPortLikeExtension: the extension reads an invalid BODYTRACE_PROXY_PORT
// as 9140, so the wrapper must look for the ready file of 9140 too, never the raw value.
func TestWrapperInvalidPortLikeExtension(t *testing.T) {
	for _, bad := range []string{"abc", "0", "70000", "-1"} {
		run := runWrapper(t, []string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_PORT=" + bad, "TMPDIR=" + t.TempDir()}, "env")
		if !strings.Contains(run.stderr, "proxy-9140") || strings.Contains(run.stderr, "proxy-"+bad) {
			t.Errorf("BODYTRACE_PROXY_PORT=%s: wrapper said %q; want it to look for the ready file of 9140", bad, run.stderr)
		}
	}
}
