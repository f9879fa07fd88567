package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Schema versions of the Telemetry API this package speaks.
const (
	Schema20221213 = "2022-12-13"
	Schema20250129 = "2025-01-29" // the only one Lambda Managed Instances accept
)

// schemas is the order Subscribe tries; a refusal of one moves to the next.
var schemas = []string{Schema20221213, Schema20250129}

// Buffering defaults: the minimums schema 2025-01-29 accepts, which also give
// the lowest delivery latency.
const (
	DefaultMaxItems  = 1000
	DefaultMaxBytes  = 262144
	DefaultTimeoutMs = 25
)

// Buffering is the subscription's buffering configuration: Lambda delivers a
// batch when any limit is reached. A zero field takes its default.
type Buffering struct {
	MaxItems  int `json:"maxItems"`
	MaxBytes  int `json:"maxBytes"`
	TimeoutMs int `json:"timeoutMs"`
}

func (b Buffering) withDefaults() Buffering {
	if b.MaxItems <= 0 {
		b.MaxItems = DefaultMaxItems
	}
	if b.MaxBytes <= 0 {
		b.MaxBytes = DefaultMaxBytes
	}
	if b.TimeoutMs <= 0 {
		b.TimeoutMs = DefaultTimeoutMs
	}
	return b
}

// Subscription is the outcome of Subscribe.
type Subscription struct {
	Schema    string // the schema version Lambda accepted; "" when not Supported
	Supported bool   // false when Lambda answered that telemetry is not supported
}

// APIError is an error answer of the Telemetry API.
type APIError struct {
	StatusCode int
	Type       string // Lambda's errorType, e.g. "ValidationError"
	Message    string // Lambda's errorMessage, or the raw body when not JSON
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d: %s: %s", e.StatusCode, e.Type, e.Message)
}

type subscribeRequest struct {
	SchemaVersion string      `json:"schemaVersion"`
	Destination   destination `json:"destination"`
	Types         []string    `json:"types"`
	Buffering     Buffering   `json:"buffering"`
}

type destination struct {
	Protocol string `json:"protocol"`
	URI      string `json:"URI"`
}

// Subscribe subscribes the extension to the given telemetry types
// ("platform", "function", "extension"; platform and function when empty),
// delivered over HTTP to destinationURI (see [Listener.URI]).
//
// It tries schema 2022-12-13, then 2025-01-29 when Lambda refuses the first
// with a validation error (Lambda Managed Instances accept only the latter).
// A 202 answer, which the emulator in classic mode gives with errorType
// Telemetry.NotSupported, returns Supported false and a nil error: no
// telemetry will arrive. client nil means [http.DefaultClient]; ctx bounds
// the whole exchange.
func Subscribe(ctx context.Context, client *http.Client, runtimeAPI, extensionID, destinationURI string, types []string, buf Buffering) (Subscription, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if runtimeAPI == "" {
		return Subscription{}, fmt.Errorf("subscribe to telemetry: runtime API address is empty")
	}
	if len(types) == 0 {
		types = []string{"platform", "function"}
	}
	req := subscribeRequest{
		Destination: destination{Protocol: "HTTP", URI: destinationURI},
		Types:       types,
		Buffering:   buf.withDefaults(),
	}
	url := "http://" + runtimeAPI + "/2022-07-01/telemetry"

	var refused error
	for i, schema := range schemas {
		req.SchemaVersion = schema
		status, body, err := put(ctx, client, url, extensionID, req)
		if err != nil {
			return Subscription{}, fmt.Errorf("subscribe to telemetry with schema %s: %w", schema, err)
		}
		switch {
		case status == http.StatusOK:
			return Subscription{Schema: schema, Supported: true}, nil
		case status == http.StatusAccepted:
			// 202 is never a subscription; with Telemetry.NotSupported it is the
			// emulator's "no telemetry here", and any other body means the same.
			return Subscription{}, nil
		}
		apiErr := parseAPIError(status, body)
		if i < len(schemas)-1 && schemaRefused(apiErr) {
			refused = apiErr
			continue
		}
		if refused != nil {
			return Subscription{}, fmt.Errorf("subscribe to telemetry with schema %s (schema %s was refused: %v): %w", schema, schemas[i-1], refused, apiErr)
		}
		return Subscription{}, fmt.Errorf("subscribe to telemetry with schema %s: %w", schema, apiErr)
	}
	return Subscription{}, fmt.Errorf("subscribe to telemetry: %w", refused) // not reached: the last schema returns
}

func put(ctx context.Context, client *http.Client, url, extensionID string, body subscribeRequest) (status int, respBody []byte, err error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Extension-Identifier", extensionID)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, fmt.Errorf("read answer (HTTP %d): %w", resp.StatusCode, err)
	}
	return resp.StatusCode, respBody, nil
}

func parseAPIError(status int, body []byte) *APIError {
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &e) == nil && (e.ErrorType != "" || e.ErrorMessage != "") {
		return &APIError{StatusCode: status, Type: e.ErrorType, Message: e.ErrorMessage}
	}
	return &APIError{StatusCode: status, Message: strings.TrimSpace(string(body))}
}

// schemaRefused tells whether Lambda refused the request for its schema
// version, so that the next version is worth trying.
func schemaRefused(e *APIError) bool {
	if e.StatusCode < 400 || e.StatusCode > 499 {
		return false
	}
	text := strings.ToLower(e.Type + " " + e.Message)
	return strings.Contains(text, "schema") || strings.Contains(text, "validation")
}
