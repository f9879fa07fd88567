package layer

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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

// listeningProxy returns the address of a loopback listener that stands in for the proxy.
func listeningProxy(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // accept and drop the wrapper's probe
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
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

func TestWrapperRuntimeAPI(t *testing.T) {
	up, down := listeningProxy(t), closedPort(t)
	_, upPort, _ := net.SplitHostPort(up)
	// A PATH without the timeout command: the wrapper must probe the proxy without it.
	noTimeout := t.TempDir()
	envPath, err := exec.LookPath("env")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(envPath, filepath.Join(noTimeout, "env")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		env          []string
		wantAPI      string
		wantUpstream string // "" means BODYTRACE_UPSTREAM_RUNTIME_API must be unset
		wantStderr   string // a substring of the single stderr line; "" means no stderr
	}{
		{
			name:         "proxy up",
			env:          []string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_ADDR=" + up},
			wantAPI:      up,
			wantUpstream: upstream,
		},
		{
			name:         "proxy up, port only",
			env:          []string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_PORT=" + upPort},
			wantAPI:      up,
			wantUpstream: upstream,
		},
		{
			name:       "proxy down",
			env:        []string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_ADDR=" + down},
			wantAPI:    upstream,
			wantStderr: "proxy not listening on " + down,
		},
		{
			name:         "proxy up, no timeout command",
			env:          []string{"PATH=" + noTimeout, "AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_ADDR=" + up},
			wantAPI:      up,
			wantUpstream: upstream,
		},
		{
			name:       "proxy down, no timeout command",
			env:        []string{"PATH=" + noTimeout, "AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_ADDR=" + down},
			wantAPI:    upstream,
			wantStderr: "proxy not listening on " + down,
		},
		{
			name:       "proxy address malformed",
			env:        []string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_ADDR=not-an-address"},
			wantAPI:    upstream,
			wantStderr: "proxy not listening on not-an-address",
		},
		{
			name:         "already pointed at the proxy",
			env:          []string{"AWS_LAMBDA_RUNTIME_API=" + up, "BODYTRACE_UPSTREAM_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_ADDR=" + up},
			wantAPI:      up,
			wantUpstream: upstream,
		},
		{
			name:       "no runtime API",
			env:        []string{"BODYTRACE_PROXY_ADDR=" + up},
			wantStderr: "AWS_LAMBDA_RUNTIME_API is not set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := runWrapper(t, tt.env, "env")
			if got := run.env["AWS_LAMBDA_RUNTIME_API"]; got != tt.wantAPI {
				t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want %q", got, tt.wantAPI)
			}
			if got := run.env["BODYTRACE_UPSTREAM_RUNTIME_API"]; got != tt.wantUpstream {
				t.Errorf("BODYTRACE_UPSTREAM_RUNTIME_API = %q, want %q", got, tt.wantUpstream)
			}
			// Step lines go to the extension by datagram only when the proxy answered.
			redirected := tt.wantUpstream != "" && run.env["AWS_LAMBDA_RUNTIME_API"] != tt.wantUpstream
			if got, ok := run.env["BODYTRACE_STEPS_ADDR"]; redirected != ok || ok && !strings.HasSuffix(got, ":9141") {
				t.Errorf("BODYTRACE_STEPS_ADDR = %q (set %v), want it on port 9141 exactly when redirected (%v)", got, ok, redirected)
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
	proxy := listeningProxy(t)
	base := []string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_ADDR=" + proxy}

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
	proxy := listeningProxy(t)

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
			env := []string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_ADDR=" + proxy, "BODYTRACE_NEXT_WRAPPER=" + tt.next}
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
// as 9140, so the wrapper must probe 9140 too, never the raw value.
func TestWrapperInvalidPortLikeExtension(t *testing.T) {
	for _, bad := range []string{"abc", "0", "70000", "-1"} {
		run := runWrapper(t, []string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_PORT=" + bad}, "env")
		if run.env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9140" {
			continue // something listens on 9140 here: redirected there, which is right too
		}
		if !strings.Contains(run.stderr, "127.0.0.1:9140") || strings.Contains(run.stderr, ":"+bad) {
			t.Errorf("BODYTRACE_PROXY_PORT=%s: wrapper said %q; want it to probe 127.0.0.1:9140", bad, run.stderr)
		}
	}
}

// TestWrapperReadyFile: a ready file holding a live pid means the proxy is up, with no
// probe; a stale one (dead pid) falls back to probing, which fails open.
func TestWrapperReadyFile(t *testing.T) {
	tmp := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tmp, "bodytrace"), 0o755); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(tmp, "bodytrace", "proxy-9")
	env := []string{"AWS_LAMBDA_RUNTIME_API=" + upstream, "BODYTRACE_PROXY_PORT=9", "TMPDIR=" + tmp}

	if err := os.WriteFile(ready, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if run := runWrapper(t, env, "env"); run.env["AWS_LAMBDA_RUNTIME_API"] != "127.0.0.1:9" {
		t.Errorf("live ready file: AWS_LAMBDA_RUNTIME_API = %q, want the proxy 127.0.0.1:9", run.env["AWS_LAMBDA_RUNTIME_API"])
	}
	if err := os.WriteFile(ready, []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if run := runWrapper(t, env, "env"); run.env["AWS_LAMBDA_RUNTIME_API"] != upstream || !strings.Contains(run.stderr, "not listening") {
		t.Errorf("stale ready file: AWS_LAMBDA_RUNTIME_API = %q (stderr %q), want it untouched", run.env["AWS_LAMBDA_RUNTIME_API"], run.stderr)
	}
}
