package invocation

import (
	"time"

	"github.com/bodytrace/bodytrace/internal/capture"
	"github.com/bodytrace/bodytrace/steps/line"
)

// Record is everything observed about one invocation. Each source fills its own part; a
// nil part means that source said nothing (yet) about this request id.
type Record struct {
	RequestID string
	// Started is the earliest moment any source saw the invocation.
	Started time.Time
	// ColdStart is true for the first invocation of an execution environment.
	ColdStart bool
	Init      *Init

	Invoke   *Invoke   // Extensions API INVOKE event (standard Lambda only)
	Request  *Request  // Runtime API proxy: the event the runtime received
	Response *Response // Runtime API proxy: what the runtime sent back
	Platform Platform  // Telemetry API

	// Steps are the stages the function reported through step lines, in arrival order.
	Steps []line.Step

	// Refused counts later results for this id that the Runtime API refused after it had
	// accepted one (a double /response, or one posted by another process): noted, never
	// taken for what the caller got.
	Refused int

	// Observed says which sources were able to see this invocation at all, so the
	// verdict can tell "not seen" apart from "seen empty".
	Observed Observed
}

// Anchored reports whether a trusted source opened the record: the Runtime API delivered
// its event through the proxy (/next) or the Extensions API sent its INVOKE. Anything else
// (step lines, telemetry, a /response) can come from any process in the sandbox, for any
// request id, so a record with only those is a stray until proven otherwise.
func (r *Record) Anchored() bool { return r.Request != nil || r.Invoke != nil }

// Observed names the sources that were in place for an invocation.
type Observed struct {
	RuntimeAPI bool // a runtime talked to the Runtime API through the proxy
	Telemetry  bool // the Telemetry API subscription is delivering
}

// Invoke is the Extensions API INVOKE event.
type Invoke struct {
	At                 time.Time
	Deadline           time.Time
	InvokedFunctionARN string
	XRayTraceID        string // tracing.value when tracing.type is X-Amzn-Trace-Id
}

// Init is the execution environment's initialisation, reported on its first invocation.
type Init struct {
	Start, End time.Time
	Type       string // on-demand, provisioned-concurrency, snap-start, lambda-managed-instances
	Status     string // from platform.initRuntimeDone / initReport, when telemetry delivers it
	ErrorType  string
	Source     string // "telemetry" or "extension" (process start to the runtime's first /next)
}

// Platform is what the Telemetry API said about the invocation.
type Platform struct {
	Start       *time.Time
	RuntimeDone *RuntimeDone
	Report      *Report
}

// RuntimeDone is platform.runtimeDone: the runtime finished the invocation.
type RuntimeDone struct {
	At                 time.Time
	Status             string // success, failure, error, timeout
	ErrorType          string
	DurationMs         float64
	ProducedBytes      *int64
	ResponseLatencyMs  *float64
	ResponseDurationMs *float64
}

// Report is platform.report: the invoke phase ended.
type Report struct {
	At               time.Time
	Status           string
	ErrorType        string
	DurationMs       float64
	BilledDurationMs float64
	MemorySizeMB     int64
	MaxMemoryUsedMB  int64
	InitDurationMs   *float64
}

// Request is the event as the runtime received it from /invocation/next.
type Request struct {
	At         time.Time // the runtime received it
	EventBytes int64
	Trigger    Trigger
	Method     string
	Path       string
	// Route is the matched route template (http.route) when the trigger gives one: API
	// Gateway's resource (REST) or routeKey (HTTP API, without the method); "" otherwise.
	Route string
	// IfNoneMatch and IfModifiedSince record conditional request headers (a 304 answer to one is empty by design).
	IfNoneMatch     bool
	IfModifiedSince bool
	// EdgeRequestID is CloudFront's request id (x-amz-cf-id) when the request came through
	// CloudFront: the key that joins CDN access logs (x-edge-request-id) to invocations.
	EdgeRequestID string
	Via           string // the via header: which proxies and CDNs the request crossed
	CacheControl  string // the request's Cache-Control header
	TraceParent   string // W3C traceparent from the event's HTTP headers
	XRayTraceID   string // Lambda-Runtime-Trace-Id
	FunctionARN   string
	Deadline      time.Time
	// Sample is the redacted, capped payload sample (BODYTRACE_CAPTURE); nil when nothing was captured.
	Sample *capture.Sample
}

// Trigger is the shape of the event that started the invocation.
type Trigger string

// Triggers bodytrace recognises; anything else is Direct.
const (
	TriggerAPIGatewayV1 Trigger = "api-gateway-v1"
	TriggerAPIGatewayV2 Trigger = "api-gateway-v2"
	TriggerFunctionURL  Trigger = "function-url"
	TriggerALB          Trigger = "alb"
	TriggerDirect       Trigger = "direct"
)

// HTTP reports whether the trigger carries HTTP requests and expects HTTP-shaped results.
func (t Trigger) HTTP() bool { return t != TriggerDirect && t != "" }

// Mode is how the runtime sent its result.
type Mode string

// Result modes seen on the Runtime API.
const (
	ModeBuffered  Mode = "buffered"
	ModeStreaming Mode = "streaming"
	ModeError     Mode = "error"      // POST /invocation/{id}/error
	ModeInitError Mode = "init-error" // POST /init/error
)

// Response is what the runtime sent to /invocation/{id}/response or /error.
type Response struct {
	Mode      Mode
	Start     time.Time
	FirstByte time.Time // zero when no body byte arrived
	End       time.Time
	// WireBytes is every byte the runtime sent, prelude included.
	WireBytes int64
	Chunks    int
	// Upstream is the Runtime API's answer status (202 accepted, 413 too large, ...).
	Upstream    int
	UpstreamErr string
	Cut         string // the runtime's body ended with an error (connection reset, ...)
	// RuntimeGone is set when the runtime hung up after its result instead of asking for
	// its next event: its process ended (a panic after a streamed response).
	RuntimeGone bool

	// HTTP-shaped results (API Gateway, function URL, ALB; a function-URL stream's prelude).
	HTTP            bool
	StatusCode      int
	ContentLength   string
	ContentEncoding string
	ContentType     string
	IsBase64Encoded bool
	// HeadersUnread is set when the result's headers were too large to read, so its
	// content-encoding is not known.
	HeadersUnread bool
	// BadBase64 is set when isBase64Encoded is true but the body does not decode: the
	// gateway cannot turn it into bytes.
	BadBase64 bool
	// Evidence is what else the proxy kept of the result's headers and body (integrity.go).
	Evidence
	// BodyBytes is the decoded body length for HTTP-shaped results, or the payload size otherwise;
	// -1 when it could not be determined (result larger than the capture).
	BodyBytes int64

	// ErrorType comes from the /error route's header or a stream's error trailer.
	ErrorType string
	ErrorBody string
	// Sample is the result document, redacted and capped (BODYTRACE_CAPTURE=body only).
	Sample string
}
