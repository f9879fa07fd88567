package localrun

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

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

// mountScript lays out /opt and /var/task in a private mount namespace, as Lambda does,
// without touching the machine's own folders, then runs the emulator. It reads its inputs
// from E2E_* variables, which launch sets.
//
//go:embed files/emulator.sh
var mountScript string

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

// nodeBootstrap starts the Node.js runtime client the way Lambda's managed Node.js runtime
// does, through $AWS_LAMBDA_EXEC_WRAPPER when it is set (the emulator never runs the
// wrapper itself): /var/lang/bin/node /var/runtime/index.mjs for nodejs22.x and 24.x,
// else the machine's Node with aws-lambda-ric 3.x at /opt/ric. The emulator's classic mode
// passes the handler as the last argument and sets _HANDLER; Managed Instances mode runs
// this with no arguments and _HANDLER only.
//
//go:embed files/node-bootstrap.sh
var nodeBootstrap string
