// Package steps lets bodytrace observe a Go Lambda function: it points aws-lambda-go at
// the bodytrace Runtime API proxy, and reports how many body bytes each layer of the
// function's response path held.
//
// # Why Go functions need an import
//
// Lambda runs AWS_LAMBDA_EXEC_WRAPPER only for managed runtimes (Node.js, Python, Java,
// .NET, Ruby). A Go function runs on an OS-only runtime (provided.al2023, provided.al2)
// where the function binary is the bootstrap and talks to the Runtime API directly, so the
// layer's wrapper never runs. Importing this package does, inside the function's process,
// what the wrapper does for the other runtimes. One line is enough:
//
//	import _ "github.com/bodytrace/bodytrace/steps"
//
// # The redirect
//
// The package's init function runs before main, so before lambda.Start reads
// AWS_LAMBDA_RUNTIME_API (aws-lambda-go reads it when Start, StartWithOptions,
// StartHandlerFunc or lambdaurl.Start is called, not at its own init). When
// AWS_LAMBDA_RUNTIME_API is set (the process runs on Lambda) and the bodytrace proxy
// configured at BODYTRACE_PROXY_ADDR, default 127.0.0.1:${BODYTRACE_PROXY_PORT:-9140}, is
// proven by the extension's ready file (TMPDIR/bodytrace/proxy-<port>: a live bodytrace
// process, and a proxy that echoes the file's nonce within 50 ms, at the address the file
// names, which is another port when the configured one was taken), init
//   - saves the original address in BODYTRACE_UPSTREAM_RUNTIME_API,
//   - points AWS_LAMBDA_RUNTIME_API at the proxy,
//   - sets BODYTRACE_STEPS_ADDR, where step lines go, to the proxy's host and
//     ${BODYTRACE_STEPS_PORT:-9141}, unless it is set.
//
// Otherwise it changes nothing (fail open: the function talks to the Runtime API directly
// and works as before) and, when the layer is attached (/opt/extensions/bodytrace exists)
// but its proxy is not proven, writes one log line to stderr saying so. Without the layer
// it does not even probe unless a proxy address or port is configured, and it never logs.
// [Redirected] and [Reason] tell what happened, for diagnostics.
//
// # Another library that redirects the same variable
//
// AWS_LAMBDA_RUNTIME_API holds one address, and the last value written before lambda.Start
// reads it wins; the other library's proxy is then bypassed (each extension forwards to the
// real Runtime API, not to the other's proxy, so the two do not chain). Go runs the init
// functions of imported packages before main, in dependency order and otherwise sorted by
// import path. So:
//   - a library that redirects from main, as Datadog's datadog-lambda-go does in
//     ddlambda.WrapFunction when DD_SERVERLESS_APPSEC_ENABLED is on, runs after this
//     package's init and wins: bodytrace then does not see the Runtime API, and Reason says
//     the variable was changed after the redirect;
//   - a library that redirects from its own init wins if its package initialises after this
//     one: it imports this package, or its import path sorts after
//     github.com/bodytrace/bodytrace/steps. If it initialises first, bodytrace wins and
//     saves the other proxy's address as BODYTRACE_UPSTREAM_RUNTIME_API.
//
// Check [Redirected] at the start of main to see which way it went.
//
// # Step lines
//
// [Wrap] (for aws-lambda-go handler functions) and [WrapHTTP] (for http.Handler served by
// lambdaurl.Start) report, once per layer per invocation, the bytes that layer returned or
// wrote, as step lines in the format of bodytrace's line protocol, version 1 (see the
// repository's README): the Lambda request id from lambdacontext, the stage ("handler",
// "middleware:<name>", "stream"), the bytes, the kind ("http", "json", "undefined",
// "stream") and the status. The innermost layer to return is the handler; layers around it
// are middleware, in the order they return. Pass the context a layer receives to the layer it
// calls, so the layers of one invocation share its numbering.
//
// A line goes, as one UDP datagram, to BODYTRACE_STEPS_ADDR over one long-lived socket; the
// datagram costs no log volume and arrives before the response does. Without an address, a
// line is printed to stdout only when BODYTRACE_STEPS_STDOUT=1: on Lambda the extension
// reads the function's stdout through the Telemetry API, so this works when the layer is
// attached but its step listener is not reachable; printing by default would put lines into
// the logs of functions that have no bodytrace at all. With neither, Wrap and WrapHTTP return
// the handler itself: the package then costs one environment lookup at startup. Sending never
// blocks the handler for long (5 ms at most, a full socket) and its errors are ignored.
package steps
