package cli

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// assets are the view's templates and stylesheet, built into the binary.
//
//go:embed assets
var assets embed.FS

// View is the local web page: a list of recent invocations and, for one, its bytes per
// stage, the verdict in words and what to do about it.
type View struct {
	Source Source
	// Limit bounds the rows of the list (default 200).
	Limit int
	pages map[string]*template.Template
}

// NewView prepares the view's pages.
func NewView(src Source, limit int) (*View, error) {
	v := &View{Source: src, Limit: limit, pages: map[string]*template.Template{}}
	if v.Limit <= 0 {
		v.Limit = 200
	}
	funcs := template.FuncMap{
		"bytes": func(n *int64) string {
			if n == nil {
				return "not observed"
			}
			return HumanBytes(*n)
		},
		"exact":   func(n int64) string { return fmt.Sprintf("%d bytes", n) },
		"deref":   func(n *int64) int64 { return *n },
		"when":    func(t time.Time) string { return formatTime(t) },
		"status":  formatStatus,
		"tone":    tone,
		"explain": Explain,
		"chart":   Chart,
		"pct":     func(f float64) string { return fmt.Sprintf("%.2f%%", f) },
		"join":    strings.Join,
		"json": func(inv Invocation) string {
			b, _ := json.MarshalIndent(inv.Summary, "", "  ")
			return string(b)
		},
	}
	for _, page := range []string{"list", "detail", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/layout.html", "assets/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("parse the view's %s page: %w", page, err)
		}
		v.pages[page] = t
	}
	return v, nil
}

// tone is a verdict's colour class: ok, neutral, lost.
func tone(verdict string) string {
	switch {
	case strings.HasPrefix(verdict, "lost:"):
		return "lost"
	case verdict == "delivered":
		return "ok"
	}
	return "neutral"
}

// Handler serves the pages: / (the list, ?verdict= filters by prefix), /invocations/{id},
// /api/invocations (the rows as JSON) and /static/style.css.
func (v *View) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/style.css", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "assets/style.css")
	})
	mux.HandleFunc("GET /{$}", v.list)
	mux.HandleFunc("GET /invocations/{id}", v.detail)
	mux.HandleFunc("GET /api/invocations", v.api)
	return mux
}

// filterChip is one verdict filter on the list page, with its count.
type filterChip struct {
	Label, Value string
	Count        int
	Active       bool
}

func (v *View) list(w http.ResponseWriter, r *http.Request) {
	all, err := v.Source.List(r.Context())
	if err != nil {
		v.fail(w, http.StatusBadGateway, err)
		return
	}
	verdict := r.URL.Query().Get("verdict")
	f := Filter{Verdicts: ParseVerdicts(verdict)}
	chips := []filterChip{{Label: "all", Value: ""}, {Label: "lost", Value: "lost"},
		{Label: "delivered", Value: "delivered"}, {Label: "empty-by-design", Value: "empty-by-design"}, {Label: "unknown", Value: "unknown"}}
	for i := range chips {
		cf := Filter{Verdicts: ParseVerdicts(chips[i].Value)}
		for _, inv := range all {
			if cf.Match(inv) {
				chips[i].Count++
			}
		}
		chips[i].Active = chips[i].Value == verdict
	}
	var rows []Invocation
	functions := false // the function column shows only when a source names functions
	for _, inv := range all {
		if f.Match(inv) && len(rows) < v.Limit {
			rows = append(rows, inv)
			functions = functions || inv.Function != ""
		}
	}
	v.render(w, "list", map[string]any{
		"Source": v.Source.Describe(), "Rows": rows, "Total": len(all), "Verdict": verdict, "Chips": chips, "Functions": functions,
	})
}

func (v *View) detail(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	all, err := v.Source.List(r.Context())
	if err != nil {
		v.fail(w, http.StatusBadGateway, err)
		return
	}
	for _, inv := range all {
		if inv.RequestID == id || inv.TraceID == id {
			v.render(w, "detail", map[string]any{"Source": v.Source.Describe(), "Inv": inv})
			return
		}
	}
	v.fail(w, http.StatusNotFound, fmt.Errorf("no invocation %q in %s", id, v.Source.Describe()))
}

func (v *View) api(w http.ResponseWriter, r *http.Request) {
	all, err := v.Source.List(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	f := Filter{Verdicts: ParseVerdicts(r.URL.Query().Get("verdict"))}
	rows := []Invocation{}
	for _, inv := range all {
		if f.Match(inv) {
			rows = append(rows, inv)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rows)
}

func (v *View) fail(w http.ResponseWriter, code int, err error) {
	w.WriteHeader(code)
	v.render(w, "error", map[string]any{"Source": v.Source.Describe(), "Code": code, "Error": err.Error()})
}

func (v *View) render(w http.ResponseWriter, page string, data any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if err := v.pages[page].Execute(w, data); err != nil {
		slog.Error("render the view", "page", page, "err", err)
	}
}

// Serve runs the view on addr until ctx ends; ready, when not nil, receives the URL once
// the server listens.
func (v *View) Serve(ctx context.Context, addr string, ready func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for the view: %w", err)
	}
	srv := &http.Server{Handler: v.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready("http://" + ln.Addr().String() + "/")
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
