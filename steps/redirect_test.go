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

// fakeEnv is an environment held in a map, a stand-in for the ready-file proof (proven
// maps a configured proxy address to where the proven proxy listens) and a log buffer.
type fakeEnv struct {
	vars   map[string]string
	layer  bool
	proven map[string]string
	probed []string
	logs   bytes.Buffer
}

func (f *fakeEnv) env() env {
	return env{
		getenv: func(k string) string { return f.vars[k] },
		setenv: func(k, v string) error { f.vars[k] = v; return nil },
		layer:  func() bool { return f.layer },
		prove: func(addr string) (string, error) {
			f.probed = append(f.probed, addr)
			if got, ok := f.proven[addr]; ok {
				return got, nil
			}
			return "", errors.New("no ready file")
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
	proxy := "127.0.0.1:9140"
	fallback := "127.0.0.1:40001" // where the proxy listens when 9140 was taken
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
			name:  "port taken: the proven proxy listens on another",
			vars:  map[string]string{runtimeAPIEnv: api, "BODYTRACE_PROXY_PORT": "9150"},
			layer: true, redirected: true, probes: 1,
			want: map[string]string{runtimeAPIEnv: fallback, upstreamEnv: api, stepsAddrEnv: "127.0.0.1:9141"},
		},
		{
			name:  "already pointed at the proxy on its other port by a wrapper",
			vars:  map[string]string{runtimeAPIEnv: fallback, "BODYTRACE_PROXY_PORT": "9150", upstreamEnv: api},
			layer: true, redirected: true,
			want: map[string]string{runtimeAPIEnv: fallback, upstreamEnv: api, stepsAddrEnv: "127.0.0.1:9141"},
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
			f := &fakeEnv{vars: tt.vars, layer: tt.layer, proven: map[string]string{proxy: proxy, "127.0.0.1:9150": fallback}}
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
			if tt.logLines > 0 && !strings.Contains(f.logs.String(), "not proven") {
				t.Errorf("log line does not say why: %s", f.logs.String())
			}
			if len(f.probed) != tt.probes {
				t.Errorf("probed %v, want %d probes", f.probed, tt.probes)
			}
		})
	}
}

func TestRedirectSetenvFails(t *testing.T) {
	f := &fakeEnv{vars: map[string]string{runtimeAPIEnv: "127.0.0.1:9001"}, layer: true, proven: map[string]string{"127.0.0.1:9140": "127.0.0.1:9140"}}
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

// BenchmarkRedirectPresent is the startup cost with the proxy proven (the proof stubbed;
// ready.BenchmarkVerify measures the real one).
func BenchmarkRedirectPresent(b *testing.B) {
	for b.Loop() {
		f := &fakeEnv{vars: map[string]string{runtimeAPIEnv: "127.0.0.1:9001"}, layer: true, proven: map[string]string{"127.0.0.1:9140": "127.0.0.1:9140"}}
		if o := redirect(f.env()); !o.redirected {
			b.Fatal(o.reason)
		}
	}
}
