package steps

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/bodytrace/bodytrace/steps/ready"
)

// Environment variables the redirect reads and sets (doc.go lists them). The exec wrapper
// (layer/bodytrace-wrapper) uses the same names for managed runtimes.
const (
	// runtimeAPIEnv is where aws-lambda-go finds the Runtime API, read by lambda.Start.
	runtimeAPIEnv = "AWS_LAMBDA_RUNTIME_API"
	// upstreamEnv keeps the Runtime API address the function was given, once redirected.
	upstreamEnv = "BODYTRACE_UPSTREAM_RUNTIME_API"
	// proxyAddrEnv overrides the proxy's address (default 127.0.0.1:${BODYTRACE_PROXY_PORT:-9140}).
	proxyAddrEnv = "BODYTRACE_PROXY_ADDR"
	// stepsAddrEnv is the extension's UDP address for step lines.
	stepsAddrEnv = "BODYTRACE_STEPS_ADDR"
	// stepsStdoutEnv set to 1 prints step lines to stdout when no stepsAddrEnv is known.
	stepsStdoutEnv = "BODYTRACE_STEPS_STDOUT"
)

// extensionPath is where the layer puts the extension; its absence means the layer is not
// attached, and then a proxy that does not answer is no news worth a log line.
const extensionPath = "/opt/extensions/bodytrace"

// proveTimeout bounds the nonce exchange with the proxy. On loopback a bodytrace proxy
// answers in well under a millisecond; the bound only matters if something else holds the
// port, and then the function must not wait for bodytrace.
const proveTimeout = 50 * time.Millisecond

// outcome is what the redirect did, kept for Redirected and Reason.
type outcome struct {
	redirected bool
	proxy      string // the proxy's address, when redirected
	reason     string
}

// initial is the outcome of the redirect run by init, before main.
var initial outcome

func init() {
	initial = redirect(osEnv())
}

// Redirected reports whether aws-lambda-go will reach the Runtime API through the bodytrace
// proxy: the redirect at init succeeded and AWS_LAMBDA_RUNTIME_API still points at the proxy
// (another library may have pointed it elsewhere since; the last writer before lambda.Start
// wins).
func Redirected() bool {
	return initial.redirected && os.Getenv(runtimeAPIEnv) == initial.proxy
}

// Reason says, in one line for a person, what the redirect did and why.
func Reason() string {
	if initial.redirected {
		if now := os.Getenv(runtimeAPIEnv); now != initial.proxy {
			return fmt.Sprintf("%s; but %s was changed to %q afterwards (another library redirected it later and wins), so the Runtime API is not observed", initial.reason, runtimeAPIEnv, now)
		}
	}
	return initial.reason
}

// env is what the redirect reads and changes: the process in production, fakes in tests.
type env struct {
	getenv func(string) string
	setenv func(key, value string) error
	// layer reports whether the bodytrace layer is attached.
	layer func() bool
	// prove returns where the proxy configured at addr listens, proven by the extension's
	// ready file (a live bodytrace process, a proxy echoing its nonce), or why not.
	prove func(addr string) (string, error)
	log   *slog.Logger
}

func osEnv() env {
	return env{
		getenv: os.Getenv,
		setenv: os.Setenv,
		layer: func() bool {
			_, err := os.Stat(extensionPath)
			return err == nil
		},
		prove: prove,
		log:   slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	}
}

func prove(configured string) (string, error) {
	path, err := ready.Path(os.TempDir(), configured)
	if err != nil {
		return "", err
	}
	f, err := ready.Read(path)
	if err != nil {
		return "", err
	}
	if err := (ready.Checker{Timeout: proveTimeout}).Verify(f); err != nil {
		return "", err
	}
	return f.Addr, nil
}

// proxyAddr is where the proxy listens: BODYTRACE_PROXY_ADDR, else 127.0.0.1 and
// BODYTRACE_PROXY_PORT as the extension reads it (internal/config), so both agree.
func proxyAddr(e env) string {
	if a := e.getenv(proxyAddrEnv); a != "" {
		return a
	}
	return ready.ProxyAddr(e.getenv)
}

// stepsAddr is the extension's step-line address on the proxy's host.
func stepsAddr(e env, proxy string) string {
	host, _, err := net.SplitHostPort(proxy)
	if err != nil {
		host = ready.Host
	}
	return net.JoinHostPort(host, strconv.Itoa(ready.StepsPort(e.getenv)))
}

// redirect points AWS_LAMBDA_RUNTIME_API at the bodytrace proxy when the proxy answers, and
// otherwise leaves every variable as it was (fail open). It logs one line only when the
// layer is attached but the proxy does not answer.
func redirect(e env) outcome {
	upstream := e.getenv(runtimeAPIEnv)
	if upstream == "" {
		return outcome{reason: runtimeAPIEnv + " is not set (not running on Lambda); nothing redirected"}
	}
	configured := proxyAddr(e)
	if prior := e.getenv(upstreamEnv); upstream == configured || prior != "" && prior != upstream {
		// A bootstrap script ran the exec wrapper first (the proxy may be on another port
		// than configured): keep its upstream.
		setDefault(e, stepsAddrEnv, stepsAddr(e, configured))
		return outcome{redirected: true, proxy: upstream,
			reason: runtimeAPIEnv + " already points at the bodytrace proxy at " + upstream}
	}
	layer := e.layer()
	if !layer && e.getenv(proxyAddrEnv) == "" && e.getenv(ready.ProxyPortEnv) == "" {
		// Nothing says a proxy could be there: do not even probe.
		return outcome{reason: "the bodytrace layer is not attached (no " + extensionPath + "); the function uses the Runtime API directly"}
	}
	proxy, err := e.prove(configured)
	if err != nil {
		o := outcome{reason: fmt.Sprintf("the bodytrace proxy configured at %s is not proven (%v); the function uses the Runtime API at %s directly, so the Runtime API is not observed", configured, err, upstream)}
		if layer {
			e.log.Warn("bodytrace: "+o.reason, "proxy", configured, "upstream", upstream)
		}
		return o
	}
	// Set the upstream first: a half-done redirect must still leave the runtime working.
	if err := e.setenv(upstreamEnv, upstream); err != nil {
		return outcome{reason: "cannot set " + upstreamEnv + ": " + err.Error()}
	}
	if err := e.setenv(runtimeAPIEnv, proxy); err != nil {
		return outcome{reason: "cannot set " + runtimeAPIEnv + ": " + err.Error()}
	}
	setDefault(e, stepsAddrEnv, stepsAddr(e, proxy))
	return outcome{redirected: true, proxy: proxy,
		reason: fmt.Sprintf("%s pointed at the bodytrace proxy at %s (upstream %s)", runtimeAPIEnv, proxy, upstream)}
}

func setDefault(e env, key, value string) {
	if e.getenv(key) == "" {
		_ = e.setenv(key, value)
	}
}

// stdoutWanted reports whether step lines go to stdout when no address is known.
func stdoutWanted() bool {
	on, _ := strconv.ParseBool(os.Getenv(stepsStdoutEnv))
	return on
}
