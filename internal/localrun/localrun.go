// Package localrun runs bodytrace locally with real parts: the AWS Lambda Runtime Interface
// Emulator (classic and Managed Instances modes, in a private mount namespace so /opt and
// /var stay untouched), the Node.js runtime client or an aws-lambda-go binary, and Jaeger
// v2 as the trace backend. The end-to-end tests and the demo share it.
package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Log is a goroutine-safe buffer for a process's output.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

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

// Function describes what runs under the emulator.
type Function struct {
	// Runtime is "node" (aws-lambda-ric through the exec wrapper, as a managed runtime)
	// or "go" (the function binary is the bootstrap, as on provided.al2023).
	Runtime string
	Handler string // index.handler, index.stream (node); buffered, stream (go)
	// ManagedInstances runs the emulator in Lambda Managed Instances mode.
	ManagedInstances bool
	Env              []string
	// NoExtension runs the function without bodytrace (a baseline).
	NoExtension bool
	// Dir is the Node.js function's folder, copied to /var/task (default examples/node).
	Dir string
	// NodeModules, when set, is a node_modules folder mounted at /var/task/node_modules.
	NodeModules string
	// Whole copies Dir to /var/task as it is, node_modules folders and symbolic links
	// included: a build's output (OpenNext's server function) that ships its own packages.
	Whole bool
	// Node is the Node.js major version to run ("22" or "24", with aws-lambda-ric 4.x, as
	// Lambda's nodejs22.x and nodejs24.x do); empty runs the machine's Node with
	// aws-lambda-ric 3.x.
	Node string
	// NoFile, when set, is the descriptor limit (ulimit -n) of the emulator and everything
	// it starts, as Lambda's 1,024.
	NoFile int
}

// Lambda is a running emulator with bodytrace and a function.
type Lambda struct {
	InvokeURL string
	ProxyPort int
	Log       *Log
	cmd       *exec.Cmd
	task      string
	tmp       string // the environment's own TMPDIR
}

// Artifacts are the built binaries the emulator runs.
type Artifacts struct {
	Extension, GoExample, Wrapper, NodeExample string
	// NodeHelper is the folder holding the layer's Node.js helper (bodytrace.cjs), copied
	// to /opt/bodytrace/node as the layer lays it out; empty when there is none.
	NodeHelper string
}

// BuildArtifacts builds the extension and the Go example into dir.
func BuildArtifacts(dir string) (Artifacts, error) {
	ext, err := Build(dir, "./extension", "bodytrace")
	if err != nil {
		return Artifacts{}, err
	}
	goex, err := Build(dir, "./examples/go", "go-example")
	if err != nil {
		return Artifacts{}, err
	}
	root := Root()
	return Artifacts{Extension: ext, GoExample: goex,
		Wrapper: filepath.Join(root, "layer", "bodytrace-wrapper"), NodeExample: filepath.Join(root, "examples", "node"),
		NodeHelper: existing(filepath.Join(root, "layer", "node"))}, nil
}

// existing returns dir when it exists, else "".
func existing(dir string) string {
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// mountScript lays out /opt and /var/task in a private mount namespace, as Lambda does,
// without touching the machine's own folders, then runs the emulator.
const mountScript = `set -eu
mount -t tmpfs -o mode=0755 tmpfs /opt
mkdir -p /opt/extensions /opt/ric
# Under its own file name: Lambda registers an extension by its file name.
if [ -n "$E2E_EXT" ]; then cp "$E2E_EXT" "/opt/extensions/$(basename "$E2E_EXT")"; fi
if [ -n "$E2E_EXT" ] && [ -n "$E2E_WRAPPER" ]; then cp "$E2E_WRAPPER" /opt/bodytrace-wrapper; fi
if [ -n "$E2E_EXT" ] && [ -n "$E2E_NODE_HELPER" ]; then mkdir -p /opt/bodytrace; cp -r "$E2E_NODE_HELPER" /opt/bodytrace/node; fi
mount --bind "$E2E_RIC" /opt/ric
mount -t tmpfs -o mode=0755 tmpfs /var
mkdir -p /var/task
mount --bind "$E2E_TASK" /var/task
# Lambda's managed Node.js runtimes keep Node in /var/lang and the runtime client in /var/runtime.
if [ -n "$E2E_NODE_DIR" ]; then mkdir -p /var/lang /var/runtime; mount --bind "$E2E_NODE_DIR" /var/lang; mount --bind "$E2E_NODE_RIC" /var/runtime; fi
if [ -n "$E2E_NODE_MODULES" ]; then mount --bind "$E2E_NODE_MODULES" /var/task/node_modules; fi
cd /var/task
if [ -n "$E2E_NOFILE" ]; then ulimit -n "$E2E_NOFILE"; fi
exec "$E2E_RIE" --runtime-interface-emulator-address "127.0.0.1:$E2E_INVOKE_PORT" --runtime-api-address "127.0.0.1:$E2E_API_PORT" "$@"
`

// Launch runs the emulator with bodytrace and the function, and waits until it listens.
// The caller stops it with Stop.
func Launch(tools Tools, art Artifacts, fn Function, env ...string) (*Lambda, error) {
	task, err := os.MkdirTemp("", "bodytrace-task-")
	if err != nil {
		return nil, err
	}
	l, err := launch(task, tools, art, fn, env)
	if err != nil {
		os.RemoveAll(task)
		return nil, err
	}
	return l, nil
}

func launch(task string, tools Tools, art Artifacts, fn Function, env []string) (*Lambda, error) {
	if err := os.Chmod(task, 0o755); err != nil { // the runtime may run as another user
		return nil, err
	}
	var err error
	switch fn.Runtime {
	case "node":
		dir := fn.Dir
		if dir == "" {
			dir = art.NodeExample
		}
		copyErr := copyDir(dir, task)
		if fn.Whole {
			copyErr = copyWhole(dir, task)
		}
		err = errors.Join(copyErr, os.WriteFile(filepath.Join(task, "bootstrap"), []byte(nodeBootstrap), 0o755))
		if fn.NodeModules != "" {
			err = errors.Join(err, os.MkdirAll(filepath.Join(task, "node_modules"), 0o755))
		}
	case "go":
		err = copyFile(art.GoExample, filepath.Join(task, "bootstrap"))
	default:
		err = fmt.Errorf("unknown runtime %q", fn.Runtime)
	}
	if err != nil {
		return nil, err
	}
	var node NodeRuntime
	if fn.Node != "" {
		var ok bool
		if node, ok = tools.Nodes[fn.Node]; !ok {
			return nil, fmt.Errorf("no Node.js %s runtime installed (have %v): run `make tools`", fn.Node, NodeVersions)
		}
	}
	tmp, err := os.MkdirTemp("", "bodytrace-tmp-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o1777); err != nil { // the runtime may run as another user
		os.RemoveAll(tmp)
		return nil, err
	}
	invokePort, err1 := FreePort()
	apiPort, err2 := FreePort()
	proxyPort, err3 := FreePort()
	stepsPort, err4 := freeUDPPort()
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	args := []string{"-m", "--propagation", "private", "sh", "-c", mountScript, "rie"}
	if !fn.ManagedInstances {
		// Classic mode runs the command line given; Managed Instances looks for /var/task/bootstrap.
		args = append(args, "/var/task/bootstrap", fn.Handler)
	}
	cmd := exec.Command("unshare", args...)
	extPath := art.Extension
	if fn.NoExtension {
		extPath = ""
	}
	cmd.Env = append(os.Environ(),
		"E2E_EXT="+extPath, "E2E_WRAPPER="+art.Wrapper, "E2E_RIC="+tools.RIC, "E2E_TASK="+task, "E2E_RIE="+tools.RIE,
		"E2E_NODE_HELPER="+art.NodeHelper, "E2E_NODE_MODULES="+fn.NodeModules, "E2E_NOFILE="+nofile(fn.NoFile),
		"E2E_NODE_DIR="+node.Dir, "E2E_NODE_RIC="+node.RIC,
		"E2E_INVOKE_PORT="+strconv.Itoa(invokePort), "E2E_API_PORT="+strconv.Itoa(apiPort),
		"_HANDLER="+fn.Handler,
		// Each Lambda environment has its own /tmp: emulators running side by side must not
		// share the extension's ready file (TMPDIR/bodytrace/proxy-<port>), or a runtime could
		// be pointed at another environment's proxy when their ports collide.
		"TMPDIR="+tmp,
		"BODYTRACE_PROXY_PORT="+strconv.Itoa(proxyPort),
		"BODYTRACE_STEPS_PORT="+strconv.Itoa(stepsPort),
		"AWS_LAMBDA_FUNCTION_NAME=e2e-"+fn.Runtime,
		// Lambda sets these for every runtime; aws-lambda-ric 4.x refuses to start without the first.
		"LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime",
		"AWS_REGION=us-east-1",
	)
	if fn.Runtime == "node" && !fn.NoExtension && art.Wrapper != "" {
		// Lambda runs the exec wrapper for managed runtimes only; never for Go (provided.al2023).
		cmd.Env = append(cmd.Env, "AWS_LAMBDA_EXEC_WRAPPER=/opt/bodytrace-wrapper")
	}
	if fn.ManagedInstances {
		cmd.Env = append(cmd.Env, "AWS_LAMBDA_MAX_CONCURRENCY=1")
	}
	cmd.Env = append(cmd.Env, fn.Env...)
	cmd.Env = append(cmd.Env, env...)
	l := &Lambda{InvokeURL: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", invokePort), ProxyPort: proxyPort, Log: &Log{}, cmd: cmd, task: task, tmp: tmp}
	cmd.Stdout, cmd.Stderr = l.Log, l.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	// The emulator listens at once and initialises on the first invoke.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", invokePort))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			l.Stop()
			return nil, fmt.Errorf("emulator did not listen within 15 s:\n%s", l.Log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l, nil
}

func nofile(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// Stop sends SIGTERM (the emulator sends SHUTDOWN to extensions), waits, and removes the
// function's folder.
func (l *Lambda) Stop() {
	stopGroup(l.cmd, 5*time.Second)
	os.RemoveAll(l.task)
	if l.tmp != "" {
		os.RemoveAll(l.tmp)
	}
}

// Invoke sends an event and returns the body the caller received. In Managed Instances
// mode the emulator refuses an invoke while its one runtime is between /response and its
// next /next (Lambda would route it elsewhere); Invoke retries that, bounded.
func (l *Lambda) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	return l.InvokeWith(ctx, event, nil)
}

// InvokeWith is Invoke with extra HTTP headers on the invoke request (X-Amzn-Trace-Id, ...).
func (l *Lambda) InvokeWith(ctx context.Context, event []byte, header http.Header) ([]byte, error) {
	for range 100 {
		body, err := l.invoke(ctx, event, header)
		if err == nil || !bytes.Contains(body, []byte("Runtime.Unavailable")) {
			return body, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l.invoke(ctx, event, header)
}

func (l *Lambda) invoke(ctx context.Context, event []byte, header http.Header) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.InvokeURL, bytes.NewReader(event))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read invoke answer: %w", err)
	}
	if resp.StatusCode != 200 {
		return body, fmt.Errorf("invoke: %s: %s", resp.Status, body)
	}
	return body, nil
}

var summaryLine = regexp.MustCompile(`(?m)^\{"type":"bodytrace.invocation".*$`)

// Summaries returns the extension's summary lines so far, decoded.
func (l *Lambda) Summaries() []map[string]any {
	var out []map[string]any
	for _, line := range summaryLine.FindAllString(l.Log.String(), -1) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// WaitSummaries waits (bounded by ctx) until the extension has written n summary lines.
func (l *Lambda) WaitSummaries(ctx context.Context, n int) ([]map[string]any, error) {
	for {
		s := l.Summaries()
		if len(s) >= n {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("%d of %d summary lines after waiting: %w", len(s), n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitLog waits (bounded by ctx) until the emulator's log, which relays the runtime's and
// the extensions' output on its own schedule, contains every one of want.
func (l *Lambda) WaitLog(ctx context.Context, want ...string) (string, error) {
	for {
		log := l.Log.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(log, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return log, nil
		}
		select {
		case <-ctx.Done():
			return log, fmt.Errorf("emulator log has no %q after waiting: %w", missing, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// copyDir copies the regular files of a folder tree (node_modules excluded) into to.
func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			if d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, filepath.Join(to, rel))
	})
}

// copyWhole copies a folder tree as it is, symbolic links included (cp -a keeps the links
// a bundler's output relies on, which os.CopyFS refuses).
func copyWhole(from, to string) error {
	if b, err := exec.Command("cp", "-a", from+"/.", to).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s to %s: %w: %s", from, to, err, b)
	}
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// LayerArtifacts returns the artifacts as `make layer` built them for this machine's
// architecture (layer/build/<arch>), the way the layer lays them out under /opt.
func LayerArtifacts() (Artifacts, error) {
	root := Root()
	arch := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH]
	layer := filepath.Join(root, "layer", "build", arch)
	art := Artifacts{
		Extension:   filepath.Join(layer, "extensions", "bodytrace"),
		Wrapper:     filepath.Join(layer, "bodytrace-wrapper"),
		NodeExample: filepath.Join(root, "examples", "node"),
		NodeHelper:  existing(filepath.Join(layer, "bodytrace", "node")),
	}
	if _, err := os.Stat(art.Extension); err != nil {
		return art, fmt.Errorf("%s is missing: run `make layer`", art.Extension)
	}
	return art, nil
}

// nodeBootstrap starts the Node.js runtime client the way Lambda's managed Node.js runtime
// does, through $AWS_LAMBDA_EXEC_WRAPPER when it is set (the emulator never runs the
// wrapper itself): /var/lang/bin/node /var/runtime/index.mjs for nodejs22.x and 24.x,
// else the machine's Node with aws-lambda-ric 3.x at /opt/ric. The emulator's classic mode
// passes the handler as the last argument and sets _HANDLER; Managed Instances mode runs
// this with no arguments and _HANDLER only.
const nodeBootstrap = `#!/bin/bash
set -euo pipefail
if [[ -x /var/lang/bin/node ]]; then
  node=/var/lang/bin/node entry=/var/runtime/index.mjs
else
  node="$(command -v node)" entry=/opt/ric/bin/index.mjs
fi
handler="${_HANDLER:-}"
if [[ -z "$handler" && $# -gt 0 ]]; then handler="${!#}"; fi
if [[ -n "${AWS_LAMBDA_EXEC_WRAPPER:-}" ]]; then
  exec "$AWS_LAMBDA_EXEC_WRAPPER" "$node" "$entry" "$handler"
fi
exec "$node" "$entry" "$handler"
`
