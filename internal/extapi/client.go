package extapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bodytrace/bodytrace/internal/direct"
)

const (
	apiVersion       = "2020-01-01"
	headerName       = "Lambda-Extension-Name"
	headerIdentifier = "Lambda-Extension-Identifier"
	headerFeatures   = "Lambda-Extension-Accept-Feature"
	headerErrorType  = "Lambda-Extension-Function-Error-Type"
)

// Event types an extension can register for.
const (
	Invoke   = "INVOKE"
	Shutdown = "SHUTDOWN"
)

// Client talks to the Extensions API of one execution environment.
type Client struct {
	base string
	http *http.Client
	id   string
}

// New returns a client for the Extensions API at runtimeAPI (host:port, from
// AWS_LAMBDA_RUNTIME_API as the extension received it).
func New(runtimeAPI string) *Client {
	// The event loop long-polls, so no client timeout; the environment's proxy
	// settings must never apply to the sandbox's own API. Each call is made on the
	// caller's goroutine (direct): the /next after every invocation is billed to it, and
	// http.Transport's reader and writer goroutines would add two thread wake-ups there.
	tr := direct.New(runtimeAPI, 2, nil)
	return &Client{base: "http://" + runtimeAPI + "/" + apiVersion + "/extension/", http: &http.Client{Transport: tr}}
}

// ID is the extension identifier returned by Register.
func (c *Client) ID() string { return c.id }

// Transport is the client's connection pool to the Runtime API, for the extension's other
// calls there (the telemetry subscription): they reuse /register's connection.
func (c *Client) Transport() http.RoundTripper { return c.http.Transport }

// Registration is the answer to /register.
type Registration struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	AccountID       string `json:"accountId"`
	// Events are the event types the registration holds.
	Events []string `json:"-"`
}

// APIError is an error answer from the Extensions API.
type APIError struct {
	Status    int
	ErrorType string `json:"errorType"`
	Message   string `json:"errorMessage"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.ErrorType, e.Message)
}

// Register registers the extension for events. When Lambda refuses INVOKE (Lambda
// Managed Instances accept only SHUTDOWN), it registers again for SHUTDOWN alone.
func (c *Client) Register(ctx context.Context, name string, events ...string) (Registration, error) {
	reg, err := c.register(ctx, name, events)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.ErrorType == "Extension.InvalidEventType" && len(events) > 1 {
		reg, err = c.register(ctx, name, []string{Shutdown})
	}
	return reg, err
}

func (c *Client) register(ctx context.Context, name string, events []string) (Registration, error) {
	body, _ := json.Marshal(map[string]any{"events": events})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"register", bytes.NewReader(body))
	if err != nil {
		return Registration{}, fmt.Errorf("register: %w", err)
	}
	req.Header.Set(headerName, name)
	req.Header.Set(headerFeatures, "accountId")
	var reg Registration
	resp, err := c.do(req, &reg)
	if err != nil {
		return Registration{}, fmt.Errorf("register for %v: %w", events, err)
	}
	c.id = resp.Header.Get(headerIdentifier)
	reg.Events = events
	return reg, nil
}

// Event is an event from /event/next.
type Event struct {
	EventType          string  `json:"eventType"`
	DeadlineMs         int64   `json:"deadlineMs"`
	RequestID          string  `json:"requestId"`
	InvokedFunctionArn string  `json:"invokedFunctionArn"`
	Tracing            Tracing `json:"tracing"`
	ShutdownReason     string  `json:"shutdownReason"`
}

// Tracing is an INVOKE event's trace header.
type Tracing struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Deadline is the event's deadline as a time.
func (e Event) Deadline() time.Time { return time.UnixMilli(e.DeadlineMs) }

// Next blocks until the next event. Calling it tells Lambda this extension is done with
// the previous one.
func (c *Client) Next(ctx context.Context) (Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"event/next", nil)
	if err != nil {
		return Event{}, fmt.Errorf("next event: %w", err)
	}
	req.Header.Set(headerIdentifier, c.id)
	var ev Event
	if _, err := c.do(req, &ev); err != nil {
		return Event{}, fmt.Errorf("next event: %w", err)
	}
	return ev, nil
}

// InitError reports a fatal failure during init; Lambda then fails the init. Only for
// states where the extension cannot run at all.
func (c *Client) InitError(ctx context.Context, errorType string, cause error) error {
	return c.report(ctx, "init/error", errorType, cause)
}

// ExitError reports a fatal failure before the extension exits.
func (c *Client) ExitError(ctx context.Context, errorType string, cause error) error {
	return c.report(ctx, "exit/error", errorType, cause)
}

func (c *Client) report(ctx context.Context, path, errorType string, cause error) error {
	body, _ := json.Marshal(map[string]any{"errorMessage": cause.Error(), "errorType": errorType})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	req.Header.Set(headerIdentifier, c.id)
	req.Header.Set(headerErrorType, errorType)
	if _, err := c.do(req, nil); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// do sends req and decodes a 2xx JSON answer into out (when not nil); other answers
// become *APIError.
func (c *Client) do(req *http.Request, out any) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		apiErr := &APIError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, apiErr)
		return nil, apiErr
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("decode answer: %w", err)
		}
	}
	return resp, nil
}
