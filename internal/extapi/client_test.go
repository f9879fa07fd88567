package extapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorded is one request the fake Extensions API received.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// fakeAPI serves the Extensions API with answer and records every request.
func fakeAPI(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body string)) (*Client, func() []recorded) {
	t.Helper()
	var mu sync.Mutex
	var reqs []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), string(b)})
		mu.Unlock()
		answer(w, r, string(b))
	}))
	t.Cleanup(srv.Close)
	return New(strings.TrimPrefix(srv.URL, "http://")), func() []recorded {
		mu.Lock()
		defer mu.Unlock()
		return append([]recorded(nil), reqs...)
	}
}

func eventsOf(t *testing.T, body string) []string {
	t.Helper()
	var b struct {
		Events []string `json:"events"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("register body %q: %v", body, err)
	}
	return b.Events
}

func TestRegister(t *testing.T) {
	c, reqs := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		w.Header().Set("Lambda-Extension-Identifier", "ext-id-1")
		_, _ = io.WriteString(w, `{"functionName":"fn","functionVersion":"$LATEST","handler":"index.handler","accountId":"123456789012"}`)
	})
	reg, err := c.Register(context.Background(), "bodytrace", Invoke, Shutdown)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "ext-id-1" {
		t.Errorf("ID() = %q, want ext-id-1", c.ID())
	}
	if reg.FunctionName != "fn" || reg.FunctionVersion != "$LATEST" || reg.Handler != "index.handler" || reg.AccountID != "123456789012" {
		t.Errorf("Registration = %+v", reg)
	}
	if strings.Join(reg.Events, ",") != "INVOKE,SHUTDOWN" {
		t.Errorf("Events = %v", reg.Events)
	}
	got := reqs()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != http.MethodPost || r.Path != "/2020-01-01/extension/register" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	if r.Header.Get("Lambda-Extension-Name") != "bodytrace" {
		t.Errorf("Lambda-Extension-Name = %q", r.Header.Get("Lambda-Extension-Name"))
	}
	if r.Header.Get("Lambda-Extension-Accept-Feature") != "accountId" {
		t.Errorf("Lambda-Extension-Accept-Feature = %q", r.Header.Get("Lambda-Extension-Accept-Feature"))
	}
	if ev := eventsOf(t, r.Body); strings.Join(ev, ",") != "INVOKE,SHUTDOWN" {
		t.Errorf("registered events = %v", ev)
	}
}

func TestRegisterFallsBackToShutdown(t *testing.T) {
	c, reqs := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, body string) {
		if strings.Contains(body, Invoke) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errorType":"Extension.InvalidEventType","errorMessage":"INVOKE is not supported"}`)
			return
		}
		w.Header().Set("Lambda-Extension-Identifier", "ext-id-mi")
		_, _ = io.WriteString(w, `{"functionName":"fn"}`)
	})
	reg, err := c.Register(context.Background(), "bodytrace", Invoke, Shutdown)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(reg.Events, ",") != "SHUTDOWN" || c.ID() != "ext-id-mi" {
		t.Errorf("Registration events %v, ID %q; want [SHUTDOWN], ext-id-mi", reg.Events, c.ID())
	}
	got := reqs()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	for i, want := range []string{"INVOKE,SHUTDOWN", "SHUTDOWN"} {
		if ev := eventsOf(t, got[i].Body); strings.Join(ev, ",") != want {
			t.Errorf("request %d registered %v, want %s", i, ev, want)
		}
		if got[i].Header.Get("Lambda-Extension-Name") != "bodytrace" {
			t.Errorf("request %d lacks the extension name", i)
		}
	}
}

func TestRegisterErrors(t *testing.T) {
	tests := []struct {
		name     string
		events   []string
		status   int
		body     string
		requests int
		errType  string
	}{
		{name: "other error type is not retried", events: []string{Invoke, Shutdown}, status: 403, body: `{"errorType":"Extension.Forbidden","errorMessage":"no"}`, requests: 1, errType: "Extension.Forbidden"},
		{name: "single event is not retried", events: []string{Shutdown}, status: 403, body: `{"errorType":"Extension.InvalidEventType"}`, requests: 1, errType: "Extension.InvalidEventType"},
		{name: "retry refused too", events: []string{Invoke, Shutdown}, status: 403, body: `{"errorType":"Extension.InvalidEventType"}`, requests: 2, errType: "Extension.InvalidEventType"},
		{name: "non-JSON error body", events: []string{Invoke}, status: 500, body: `oops`, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ string) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := c.Register(context.Background(), "bodytrace", tt.events...)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.Status != tt.status || apiErr.ErrorType != tt.errType {
				t.Errorf("APIError = %+v, want status %d type %q", apiErr, tt.status, tt.errType)
			}
			if !strings.Contains(err.Error(), "register") {
				t.Errorf("error %q does not say what was being done", err)
			}
			if n := len(reqs()); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   Event
	}{
		{
			name: "INVOKE",
			answer: `{"eventType":"INVOKE","deadlineMs":1795608003000,"requestId":"3da1f2dc-3222-475e-9205-e2e6c6318895",
				"invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:fn",
				"tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}}`,
			want: Event{EventType: Invoke, DeadlineMs: 1795608003000, RequestID: "3da1f2dc-3222-475e-9205-e2e6c6318895",
				InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:fn",
				Tracing:            Tracing{Type: "X-Amzn-Trace-Id", Value: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}},
		},
		{
			name:   "SHUTDOWN",
			answer: `{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1795608002000}`,
			want:   Event{EventType: Shutdown, ShutdownReason: "spindown", DeadlineMs: 1795608002000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ string) {
				if r.URL.Path == "/2020-01-01/extension/register" {
					w.Header().Set("Lambda-Extension-Identifier", "ext-42")
					_, _ = io.WriteString(w, `{}`)
					return
				}
				_, _ = io.WriteString(w, tt.answer)
			})
			if _, err := c.Register(context.Background(), "bodytrace", Invoke, Shutdown); err != nil {
				t.Fatal(err)
			}
			ev, err := c.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ev != tt.want {
				t.Errorf("Next = %+v\nwant %+v", ev, tt.want)
			}
			if !ev.Deadline().Equal(time.UnixMilli(tt.want.DeadlineMs)) {
				t.Errorf("Deadline = %v", ev.Deadline())
			}
			got := reqs()
			last := got[len(got)-1]
			if last.Method != http.MethodGet || last.Path != "/2020-01-01/extension/event/next" {
				t.Errorf("request = %s %s", last.Method, last.Path)
			}
			if id := last.Header.Get("Lambda-Extension-Identifier"); id != "ext-42" {
				t.Errorf("Lambda-Extension-Identifier = %q, want ext-42", id)
			}
		})
	}
}

func TestNextErrors(t *testing.T) {
	t.Run("API error", func(t *testing.T) {
		c, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ string) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errorType":"Extension.InvalidExtensionId","errorMessage":"unknown id"}`)
		})
		_, err := c.Next(context.Background())
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 403 || apiErr.ErrorType != "Extension.InvalidExtensionId" || apiErr.Message != "unknown id" {
			t.Fatalf("err = %#v", err)
		}
		for _, s := range []string{"403", "Extension.InvalidExtensionId", "unknown id", "next event"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q lacks %q", err, s)
			}
		}
	})
	t.Run("undecodable answer", func(t *testing.T) {
		c, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ string) { _, _ = io.WriteString(w, `{"eventType":`) })
		if _, err := c.Next(context.Background()); err == nil {
			t.Fatal("Next on a truncated answer succeeded")
		}
	})
	t.Run("context ends during long poll", func(t *testing.T) {
		release := make(chan struct{})
		c, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ string) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := c.Next(ctx); errc <- err }()
		cancel()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Next did not return after ctx ended")
		}
	})
}

func TestReportErrors(t *testing.T) {
	tests := []struct {
		name string
		call func(*Client) error
		path string
	}{
		{"init error", func(c *Client) error {
			return c.InitError(context.Background(), "Extension.ConfigInvalid", errors.New("bad config"))
		}, "/2020-01-01/extension/init/error"},
		{"exit error", func(c *Client) error {
			return c.ExitError(context.Background(), "Extension.ConfigInvalid", errors.New("bad config"))
		}, "/2020-01-01/extension/exit/error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ string) {
				if r.URL.Path == "/2020-01-01/extension/register" {
					w.Header().Set("Lambda-Extension-Identifier", "ext-7")
				} else {
					w.WriteHeader(http.StatusAccepted)
					_, _ = io.WriteString(w, `{"status":"OK"}`)
					return
				}
				_, _ = io.WriteString(w, `{}`)
			})
			if _, err := c.Register(context.Background(), "bodytrace", Invoke, Shutdown); err != nil {
				t.Fatal(err)
			}
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			got := reqs()
			r := got[len(got)-1]
			if r.Method != http.MethodPost || r.Path != tt.path {
				t.Errorf("request = %s %s, want POST %s", r.Method, r.Path, tt.path)
			}
			if v := r.Header.Get("Lambda-Extension-Function-Error-Type"); v != "Extension.ConfigInvalid" {
				t.Errorf("Lambda-Extension-Function-Error-Type = %q", v)
			}
			if v := r.Header.Get("Lambda-Extension-Identifier"); v != "ext-7" {
				t.Errorf("Lambda-Extension-Identifier = %q", v)
			}
			var body map[string]string
			if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["errorMessage"] != "bad config" || body["errorType"] != "Extension.ConfigInvalid" {
				t.Errorf("body = %q (%v)", r.Body, err)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		c, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ string) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"errorType":"Extension.UnknownReason"}`)
		})
		err := c.ExitError(context.Background(), "E", errors.New("x"))
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 500 || apiErr.ErrorType != "Extension.UnknownReason" {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), "exit/error") {
			t.Errorf("error %q does not name the call", err)
		}
	})
}
