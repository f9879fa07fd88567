package localrun

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// Jaeger is a running Jaeger v2, in memory, on loopback ports of its own.
type Jaeger struct {
	OTLPHTTP, OTLPGRPC, Query string // host:port each
	cmd                       *exec.Cmd
	config                    string
	Log                       *Log
}

// StartJaeger runs Jaeger on loopback and waits for its query API. With standard true it
// uses Jaeger's usual ports (OTLP 4317/4318, query 16686), otherwise free ones.
func StartJaeger(bin string, standard bool) (*Jaeger, error) {
	ports := [4]int{4317, 4318, 16686, 16685}
	for i := range ports {
		if standard {
			break
		}
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	j := &Jaeger{
		OTLPGRPC: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		OTLPHTTP: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		Query:    fmt.Sprintf("127.0.0.1:%d", ports[2]),
		Log:      &Log{},
	}
	// A minimal configuration: OTLP in, memory store, query API, all on loopback. The
	// built-in one also opens zipkin, jaeger, sampling, health and metrics ports at fixed
	// numbers, so two Jaegers on one machine (tests and a demo) would clash.
	cfgFile, err := os.CreateTemp("", "bodytrace-jaeger-*.yaml")
	if err != nil {
		return nil, err
	}
	j.config = cfgFile.Name()
	err = jaegerConfig.Execute(cfgFile, jaegerEndpoints{
		Query: j.Query, QueryGRPC: fmt.Sprintf("127.0.0.1:%d", ports[3]),
		OTLPGRPC: j.OTLPGRPC, OTLPHTTP: j.OTLPHTTP,
	})
	if err = errors.Join(err, cfgFile.Close()); err != nil {
		return nil, err
	}
	j.cmd = exec.Command(bin, "--config", j.config)
	j.cmd.Stdout, j.cmd.Stderr = j.Log, j.Log
	j.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := j.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start jaeger: %w", err)
	}
	for range 240 {
		if resp, err := http.Get("http://" + j.Query + "/api/services"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return j, nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	j.Stop()
	return nil, fmt.Errorf("jaeger's query API did not answer within 60 s:\n%s", j.Log)
}

// Pid is Jaeger's process id.
func (j *Jaeger) Pid() int { return j.cmd.Process.Pid }

// Stop ends Jaeger.
func (j *Jaeger) Stop() {
	stopGroup(j.cmd, 5*time.Second)
	os.Remove(j.config)
}

// Trace fetches a trace by id, waiting (bounded) until it holds at least minSpans spans.
func (j *Jaeger) Trace(ctx context.Context, traceID string, minSpans int) (Trace, error) {
	return j.WaitTrace(ctx, traceID, fmt.Sprintf("at least %d spans", minSpans), func(t Trace) bool { return len(t.Spans) >= minSpans })
}

// WaitTrace fetches a trace by id, waiting (bounded by ctx) until done holds for it: spans
// of one trace may reach Jaeger at different times (a late platform.report, say).
func (j *Jaeger) WaitTrace(ctx context.Context, traceID, what string, done func(Trace) bool) (Trace, error) {
	last := ctx.Err() // the answer when the bound ran out before the first query
	var seen Trace
	for ctx.Err() == nil {
		var out struct {
			Data []Trace `json:"data"`
		}
		last = getJSON(ctx, "http://"+j.Query+"/api/traces/"+traceID, &out)
		if last == nil && len(out.Data) == 1 {
			seen = out.Data[0]
			if done(seen) {
				return seen, nil
			}
		}
		if last == nil {
			last = fmt.Errorf("%d traces, %d spans, not yet %s", len(out.Data), len(seen.Spans), what)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return seen, fmt.Errorf("trace %s in Jaeger: %w", traceID, last)
}

// Search finds traces of a service carrying the given tags.
func (j *Jaeger) Search(ctx context.Context, service string, tags map[string]string) ([]Trace, error) {
	tj, _ := json.Marshal(tags)
	u := fmt.Sprintf("http://%s/api/traces?service=%s&limit=1000&lookback=1h&tags=%s", j.Query, service, urlEscape(string(tj)))
	var out struct {
		Data []Trace `json:"data"`
	}
	err := getJSON(ctx, u, &out)
	return out.Data, err
}

func urlEscape(s string) string {
	r := strings.NewReplacer("{", "%7B", "}", "%7D", "\"", "%22", ":", "%3A", ",", "%2C", " ", "%20")
	return r.Replace(s)
}

func getJSON(ctx context.Context, url string, out any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// jaegerYAML is Jaeger v2's configuration for local runs, a template filled with
// jaegerEndpoints.
//
//go:embed files/jaeger.yaml
var jaegerYAML string

// jaegerConfig is jaegerYAML parsed once (a parsed template is safe for concurrent use).
var jaegerConfig = template.Must(template.New("jaeger.yaml").Parse(jaegerYAML))

// jaegerEndpoints are the loopback host:port addresses jaegerConfig is filled with.
type jaegerEndpoints struct {
	Query, QueryGRPC   string // the query API's http (j.Query) and grpc endpoints
	OTLPGRPC, OTLPHTTP string // the OTLP receivers
}
