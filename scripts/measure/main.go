// Command measure runs the Node.js example under the emulator with the built layer and
// reports what the foundation promises to keep small: the extension's time from process
// start to /register done (its own log), its resident memory after N invocations, and the
// client latency of those invocations with and without the extension. A first, small
// version of `make bench`; the side-by-side suite builds on it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/localrun"
)

func main() {
	n := flag.Int("n", 100, "invocations per run")
	otlp := flag.Bool("otlp", true, "export traces to a local Jaeger (false: summary lines only)")
	helper := flag.Bool("helper", true, "load the layer's Node.js helper (false: the proxy and telemetry only)")
	flag.Parse()
	if err := run(*n, *otlp, *helper); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(1)
	}
}

var initMs = regexp.MustCompile(`"msg":"registered".*"init_ms":"([0-9.]+)"`)

func run(n int, otlp, helper bool) error {
	tools, err := localrun.FindTools()
	if err != nil {
		return err
	}
	art, err := localrun.LayerArtifacts()
	if err != nil {
		return err
	}
	if !helper {
		art.NodeHelper = ""
	}
	jaeger, err := localrun.StartJaeger(tools.Jaeger, false)
	if err != nil {
		return err
	}
	defer jaeger.Stop()
	event := []byte(`{"bytes":1024}`)
	for _, with := range []bool{false, true} {
		fn := localrun.Function{Runtime: "node", Handler: "index.handler", NoExtension: !with}
		env := []string{"BODYTRACE_SUMMARY=on"}
		if otlp {
			env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+jaeger.OTLPHTTP)
		}
		l, err := localrun.Launch(tools, art, fn, env...)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		lat := make([]time.Duration, 0, n)
		for range n {
			t := time.Now()
			if _, err := l.Invoke(ctx, event); err != nil {
				cancel()
				l.Stop()
				return fmt.Errorf("%w\n%s", err, l.Log)
			}
			lat = append(lat, time.Since(t))
		}
		cancel()
		slices.Sort(lat)
		label := "without bodytrace"
		if with {
			label = "with bodytrace"
		}
		fmt.Printf("%-18s %d invocations of a 1 KB buffered response: client latency p50 %.2f ms, p99 %.2f ms\n",
			label, n, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]))
		if with {
			if m := initMs.FindStringSubmatch(l.Log.String()); m != nil {
				fmt.Printf("%-18s extension process start to /register done: %s ms\n", "", m[1])
			}
			fmt.Printf("%-18s extension resident memory after %d invocations: %s\n", "", n, rss())
		}
		l.Stop()
	}
	return nil
}

// rss reads VmRSS of the running extension process.
func rss() string {
	out, err := exec.Command("pgrep", "-f", "^/opt/extensions/bodytrace").Output()
	if err != nil {
		return "unknown (extension process not found)"
	}
	pid, _ := strconv.Atoi(strings.Fields(string(out))[0])
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown: " + err.Error()
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
		}
	}
	return "unknown"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
