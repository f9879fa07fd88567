package ready

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Where the extension listens on loopback, unless configured otherwise. The extension
// (internal/config) and the function's side (package steps, the exec wrapper) read the
// same settings through [Port], so they agree on the addresses.
const (
	ProxyPortEnv     = "BODYTRACE_PROXY_PORT" // the Runtime API proxy's port
	StepsPortEnv     = "BODYTRACE_STEPS_PORT" // the step-line datagram port
	DefaultProxyPort = 9140
	DefaultStepsPort = 9141
	Host             = "127.0.0.1"
)

// Port reads the port setting name through getenv: def when it is unset, and def with an
// error that names the setting and the fix when it is not a port.
func Port(getenv func(string) string, name string, def int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return def, fmt.Errorf("%s=%q is not a port: use a number from 1 to 65535; using %d", name, v, def)
	}
	return n, nil
}

// ProxyAddr is the proxy's configured address: Host and BODYTRACE_PROXY_PORT.
func ProxyAddr(getenv func(string) string) string {
	p, _ := Port(getenv, ProxyPortEnv, DefaultProxyPort)
	return net.JoinHostPort(Host, strconv.Itoa(p))
}

// StepsPort is the step-line port: BODYTRACE_STEPS_PORT.
func StepsPort(getenv func(string) string) int {
	p, _ := Port(getenv, StepsPortEnv, DefaultStepsPort)
	return p
}
