package steps

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
)

// fakeEnv is an environment held in a map, with the real probe and a log buffer.
type fakeEnv struct {
	vars   map[string]string
	layer  bool
	probed []string
	logs   bytes.Buffer
}

func (f *fakeEnv) env() env {
	return env{
		getenv: func(k string) string { return f.vars[k] },
		setenv: func(k, v string) error { f.vars[k] = v; return nil },
		layer:  func() bool { return f.layer },
		probe: func(addr string) error {
			f.probed = append(f.probed, addr)
			return probe(addr)
		},
		log: slog.New(slog.NewJSONHandler(&f.logs, nil)),
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRedirect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	proxy := ln.Addr().String()
	down := closedAddr(t)
	const api = "127.0.0.1:9001"

	tests := []struct {
		name       string
		vars       map[string]string
		layer      bool
		redirected bool
		want       map[string]string // variables after the redirect ("" = unset)
		logLines   int
		probes     int
	}{
		{
			name:  "proxy answers",
			vars:  map[string]string{runtimeAPIEnv: api, proxyAddrEnv: proxy},
			layer: true, redirected: true, probes: 1,
			want: map[string]string{runtimeAPIEnv: proxy, upstreamEnv: api, stepsAddrEnv: "127.0.0.1:9141"},
		},
		{
			name:  "proxy answers, steps port and address configured",
			vars:  map[string]string{runtimeAPIEnv: api, proxyAddrEnv: proxy, "BODYTRACE_STEPS_PORT": "7000"},
			layer: true, redirected: true, probes: 1,
			want: map[string]string{runtimeAPIEnv: proxy, upstreamEnv: api, stepsAddrEnv: "127.0.0.1:7000"},
		},
		{
			name:  "steps address already set is kept",
			vars:  map[string]string{runtimeAPIEnv: api, proxyAddrEnv: proxy, stepsAddrEnv: "127.0.0.1:1234"},
			layer: true, redirected: true, probes: 1,
			want: map[string]string{runtimeAPIEnv: proxy, upstreamEnv: api, stepsAddrEnv: "127.0.0.1:1234"},
		},
		{
			name:  "layer attached, nothing listening: untouched, one log line",
			vars:  map[string]string{runtimeAPIEnv: api, proxyAddrEnv: down},
			layer: true, logLines: 1, probes: 1,
			want: map[string]string{runtimeAPIEnv: api, upstreamEnv: "", stepsAddrEnv: ""},
		},
		{
			name: "no layer, port configured, nothing listening: untouched, silent",
			vars: map[string]string{runtimeAPIEnv: api, "BODYTRACE_PROXY_PORT": strings.Split(down, ":")[1]},
			want: map[string]string{runtimeAPIEnv: api, upstreamEnv: "", stepsAddrEnv: ""}, probes: 1,
		},
		{
			name: "no layer, nothing configured: not even probed",
			vars: map[string]string{runtimeAPIEnv: api},
			want: map[string]string{runtimeAPIEnv: api, upstreamEnv: "", stepsAddrEnv: ""},
		},
		{
			name:  "not on Lambda: untouched",
			vars:  map[string]string{proxyAddrEnv: proxy},
			layer: true,
			want:  map[string]string{runtimeAPIEnv: "", upstreamEnv: "", stepsAddrEnv: ""},
		},
		{
			name:  "already pointed at the proxy by a wrapper",
			vars:  map[string]string{runtimeAPIEnv: proxy, proxyAddrEnv: proxy, upstreamEnv: api},
			layer: true, redirected: true,
			want: map[string]string{runtimeAPIEnv: proxy, upstreamEnv: api, stepsAddrEnv: "127.0.0.1:9141"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEnv{vars: tt.vars, layer: tt.layer}
			o := redirect(f.env())
			if o.redirected != tt.redirected {
				t.Errorf("redirected = %v, want %v (%s)", o.redirected, tt.redirected, o.reason)
			}
			if o.reason == "" {
				t.Error("no reason given")
			}
			for k, v := range tt.want {
				if f.vars[k] != v {
					t.Errorf("%s = %q, want %q", k, f.vars[k], v)
				}
			}
			if n := strings.Count(f.logs.String(), "\n"); n != tt.logLines {
				t.Errorf("%d log lines, want %d:\n%s", n, tt.logLines, f.logs.String())
			}
			if tt.logLines > 0 && !strings.Contains(f.logs.String(), "does not answer") {
				t.Errorf("log line does not say why: %s", f.logs.String())
			}
			if len(f.probed) != tt.probes {
				t.Errorf("probed %v, want %d probes", f.probed, tt.probes)
			}
		})
	}
}

func TestRedirectSetenvFails(t *testing.T) {
	f := &fakeEnv{vars: map[string]string{runtimeAPIEnv: "127.0.0.1:9001"}, layer: true}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f.vars[proxyAddrEnv] = ln.Addr().String()
	e := f.env()
	e.setenv = func(string, string) error { return errors.New("read-only") }
	if o := redirect(e); o.redirected || f.vars[runtimeAPIEnv] != "127.0.0.1:9001" {
		t.Errorf("redirect with a failing setenv: %+v, %s=%q", o, runtimeAPIEnv, f.vars[runtimeAPIEnv])
	}
}

// TestRedirectedAndReason checks the diagnostics against the process environment,
// including a library that points the variable elsewhere after the redirect.
func TestRedirectedAndReason(t *testing.T) {
	saved := initial
	t.Cleanup(func() { initial = saved })

	initial = outcome{redirected: true, proxy: "127.0.0.1:9140", reason: "pointed at the proxy"}
	t.Setenv(runtimeAPIEnv, "127.0.0.1:9140")
	if !Redirected() || Reason() != "pointed at the proxy" {
		t.Errorf("Redirected() = %v, Reason() = %q", Redirected(), Reason())
	}
	os.Setenv(runtimeAPIEnv, "127.0.0.1:9000") // another vendor's proxy, set from main
	if Redirected() || !strings.Contains(Reason(), "127.0.0.1:9000") {
		t.Errorf("after another redirect: Redirected() = %v, Reason() = %q", Redirected(), Reason())
	}

	initial = outcome{reason: "not on Lambda"}
	if Redirected() || Reason() != "not on Lambda" {
		t.Errorf("Redirected() = %v, Reason() = %q", Redirected(), Reason())
	}
}

// BenchmarkRedirectAbsent is the import's startup cost without the layer (nothing
// configured: no probe).
func BenchmarkRedirectAbsent(b *testing.B) {
	for b.Loop() {
		f := &fakeEnv{vars: map[string]string{runtimeAPIEnv: "127.0.0.1:9001"}}
		e := f.env()
		e.layer = osEnv().layer // the real stat
		redirect(e)
	}
}

// BenchmarkRedirectDown is the startup cost with the layer attached and its proxy down.
func BenchmarkRedirectDown(b *testing.B) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	for b.Loop() {
		f := &fakeEnv{vars: map[string]string{runtimeAPIEnv: "127.0.0.1:9001", proxyAddrEnv: addr}}
		e := f.env()
		e.log = slog.New(slog.DiscardHandler)
		redirect(e)
	}
}

// BenchmarkRedirectPresent is the startup cost with the proxy answering. Run it with a
// fixed count (-benchtime 2000x): tens of thousands of connects in a row fill the
// listener's backlog and the probe then times out, as it should.
func BenchmarkRedirectPresent(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for b.Loop() {
		f := &fakeEnv{vars: map[string]string{runtimeAPIEnv: "127.0.0.1:9001", proxyAddrEnv: ln.Addr().String()}, layer: true}
		if o := redirect(f.env()); !o.redirected {
			b.Fatal(o.reason)
		}
	}
}
