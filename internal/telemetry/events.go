package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event types, the "type" field of an [Event].
const (
	TypeInitStart             = "platform.initStart"
	TypeInitRuntimeDone       = "platform.initRuntimeDone"
	TypeInitReport            = "platform.initReport"
	TypeStart                 = "platform.start"
	TypeRuntimeDone           = "platform.runtimeDone"
	TypeReport                = "platform.report"
	TypeRestoreStart          = "platform.restoreStart"
	TypeRestoreRuntimeDone    = "platform.restoreRuntimeDone"
	TypeRestoreReport         = "platform.restoreReport"
	TypePlatformExtension     = "platform.extension"
	TypeTelemetrySubscription = "platform.telemetrySubscription"
	TypeLogsDropped           = "platform.logsDropped"
	TypeFunction              = "function"
	TypeExtension             = "extension"
)

// Values of the status field of RuntimeDone, Report and the init and restore
// records.
const (
	StatusSuccess = "success"
	StatusFailure = "failure"
	StatusError   = "error"
	StatusTimeout = "timeout"
)

// Span names Lambda reports in RuntimeDone (and, on Lambda Managed Instances,
// in Report).
const (
	SpanResponseLatency  = "responseLatency"
	SpanResponseDuration = "responseDuration"
	SpanRuntimeOverhead  = "runtimeOverhead"
)

// ErrUnknownType is returned by [Event.Decode] for an event type this package
// has no record type for; callers should skip such events.
var ErrUnknownType = errors.New("unknown telemetry event type")

// Event is one element of a batch Lambda POSTs to the listener.
type Event struct {
	Time   time.Time       // "time"
	Type   string          // "type": "platform.start", "function", ...
	Record json.RawMessage // "record", undecoded; see Decode and LogLine
}

// wireEvent is the JSON shape of an Event.
type wireEvent struct {
	Time   time.Time       `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// ParseBatch decodes a batch, the JSON array Lambda POSTs to the listener.
// It is tolerant: an element that is not an object with a "type" and an
// RFC 3339 "time" is skipped, not fatal. It returns an error only when data
// is not a JSON array.
func ParseBatch(data []byte) ([]Event, error) {
	events, _, err := parseBatch(data)
	return events, err
}

// parseBatch is ParseBatch that also says how many elements it skipped.
func parseBatch(data []byte) (events []Event, skipped int, err error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, 0, fmt.Errorf("parse telemetry batch: %w", err)
	}
	events = make([]Event, 0, len(raw))
	for _, r := range raw {
		var w wireEvent
		if err := json.Unmarshal(r, &w); err != nil || w.Type == "" {
			skipped++
			continue
		}
		events = append(events, Event(w))
	}
	return events, skipped, nil
}

// RequestID returns the record's "requestId", the join key between
// platform events, log lines in JSON format and the Runtime API. It is ""
// when the record has none (init and restore events, log lines in Text format).
func (e Event) RequestID() string {
	if !isObject(e.Record) {
		return ""
	}
	var r struct {
		RequestID string `json:"requestId"`
	}
	if json.Unmarshal(e.Record, &r) != nil {
		return ""
	}
	return r.RequestID
}

// Decode decodes the record into the type matching e.Type and returns it by
// value: [InitStart], [InitRuntimeDone], [InitReport], [Start],
// [RuntimeDone], [Report], [RestoreStart], [RestoreRuntimeDone],
// [RestoreReport], [Extension], [SubscriptionEvent], [LogsDropped], or
// [LogLine] for "function" and "extension". It wraps [ErrUnknownType] for
// other types.
func (e Event) Decode() (any, error) {
	switch e.Type {
	case TypeInitStart:
		return decode[InitStart](e)
	case TypeInitRuntimeDone:
		return decode[InitRuntimeDone](e)
	case TypeInitReport:
		return decode[InitReport](e)
	case TypeStart:
		return decode[Start](e)
	case TypeRuntimeDone:
		return decode[RuntimeDone](e)
	case TypeReport:
		return decode[Report](e)
	case TypeRestoreStart:
		return decode[RestoreStart](e)
	case TypeRestoreRuntimeDone:
		return decode[RestoreRuntimeDone](e)
	case TypeRestoreReport:
		return decode[RestoreReport](e)
	case TypePlatformExtension:
		return decode[Extension](e)
	case TypeTelemetrySubscription:
		return decode[SubscriptionEvent](e)
	case TypeLogsDropped:
		return decode[LogsDropped](e)
	case TypeFunction, TypeExtension:
		l, ok := e.LogLine()
		if !ok {
			return nil, fmt.Errorf("decode %s record: neither a string nor a log object", e.Type)
		}
		return l, nil
	}
	return nil, fmt.Errorf("decode record: %w %q", ErrUnknownType, e.Type)
}

func decode[T any](e Event) (T, error) {
	var v T
	if err := json.Unmarshal(e.Record, &v); err != nil {
		return v, fmt.Errorf("decode %s record: %w", e.Type, err)
	}
	return v, nil
}

// LogLine is a "function" or "extension" record. With the Text log format the
// record is a plain string: Message holds it unchanged and the other fields
// are empty. With the JSON log format it is an object and every field is set
// from it.
type LogLine struct {
	Message   string    // the line (Text) or the "message" field (JSON)
	Level     string    // "INFO", "ERROR", ...; "" for Text
	RequestID string    // "" for Text
	Time      time.Time // the "timestamp" field; zero for Text
}

// LogLine returns the log line of a "function" or "extension" event. ok is
// false for other event types and for records of neither shape.
func (e Event) LogLine() (LogLine, bool) {
	if e.Type != TypeFunction && e.Type != TypeExtension {
		return LogLine{}, false
	}
	var text string
	if json.Unmarshal(e.Record, &text) == nil {
		return LogLine{Message: text}, true
	}
	if !isObject(e.Record) {
		return LogLine{}, false
	}
	var r struct {
		Timestamp string          `json:"timestamp"`
		Level     string          `json:"level"`
		RequestID string          `json:"requestId"`
		Message   json.RawMessage `json:"message"`
	}
	if json.Unmarshal(e.Record, &r) != nil {
		return LogLine{}, false
	}
	l := LogLine{Level: r.Level, RequestID: r.RequestID}
	l.Time, _ = time.Parse(time.RFC3339Nano, r.Timestamp)
	// A structured logger may put an object in "message": keep its JSON text.
	if json.Unmarshal(r.Message, &l.Message) != nil {
		l.Message = string(r.Message)
	}
	return l, true
}

func isObject(b json.RawMessage) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// Tracing is a record's trace context (the schema's TraceContext).
type Tracing struct {
	SpanID string `json:"spanId,omitempty"`
	Type   string `json:"type"`  // "X-Amzn-Trace-Id"
	Value  string `json:"value"` // "Root=1-...;Parent=...;Sampled=1"
}

// Span is a timed phase Lambda measured, such as responseLatency.
type Span struct {
	Name       string    `json:"name"`
	Start      time.Time `json:"start"` // zero when Lambda's value could not be parsed
	DurationMs float64   `json:"durationMs"`
}

// UnmarshalJSON decodes a span leniently: a malformed "start" leaves Start
// zero rather than failing the whole record (and with it producedBytes).
func (s *Span) UnmarshalJSON(b []byte) error {
	var w struct {
		Name       string  `json:"name"`
		Start      string  `json:"start"`
		DurationMs float64 `json:"durationMs"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = Span{Name: w.Name, DurationMs: w.DurationMs, Start: parseSpanStart(w.Start)}
	return nil
}

// parseSpanStart parses RFC 3339, and also the "12:01:23:521Z" form (colon
// before the milliseconds) that the AWS schema reference's samples show.
func parseSpanStart(s string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	if len(s) > 20 && s[19] == ':' {
		if t, err := time.Parse(time.RFC3339Nano, s[:19]+"."+s[20:]); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Metrics holds the metrics of every record that has them. DurationMs is
// always present; a nil pointer means Lambda did not send that metric
// (producedBytes is optional in runtimeDone; Lambda Managed Instances report
// only durationMs).
type Metrics struct {
	DurationMs        float64  `json:"durationMs"`
	ProducedBytes     *int64   `json:"producedBytes,omitempty"`     // runtimeDone
	BilledDurationMs  *int64   `json:"billedDurationMs,omitempty"`  // report
	MemorySizeMB      *int64   `json:"memorySizeMB,omitempty"`      // report
	MaxMemoryUsedMB   *int64   `json:"maxMemoryUsedMB,omitempty"`   // report
	InitDurationMs    *float64 `json:"initDurationMs,omitempty"`    // report, after a cold start
	RestoreDurationMs *float64 `json:"restoreDurationMs,omitempty"` // report, after a SnapStart restore
}

// InitStart is the record of platform.initStart.
type InitStart struct {
	InitializationType string      `json:"initializationType"` // "on-demand", "provisioned-concurrency", "snap-start", "lambda-managed-instances"
	Phase              string      `json:"phase"`              // "init", "invoke" (suppressed init)
	RuntimeVersion     string      `json:"runtimeVersion,omitempty"`
	RuntimeVersionArn  string      `json:"runtimeVersionArn,omitempty"`
	FunctionName       string      `json:"functionName,omitempty"`
	FunctionVersion    string      `json:"functionVersion,omitempty"`
	InstanceID         string      `json:"instanceId,omitempty"`
	InstanceMaxMemory  json.Number `json:"instanceMaxMemory,omitempty"` // documented both as integer and string
	Tracing            *Tracing    `json:"tracing,omitempty"`
}

// InitRuntimeDone is the record of platform.initRuntimeDone.
type InitRuntimeDone struct {
	InitializationType string   `json:"initializationType"`
	Phase              string   `json:"phase"`
	Status             string   `json:"status"`
	ErrorType          string   `json:"errorType,omitempty"`
	Spans              []Span   `json:"spans,omitempty"`
	Tracing            *Tracing `json:"tracing,omitempty"`
}

// InitReport is the record of platform.initReport.
type InitReport struct {
	InitializationType string   `json:"initializationType"`
	Phase              string   `json:"phase"`
	Status             string   `json:"status"`
	ErrorType          string   `json:"errorType,omitempty"`
	Metrics            Metrics  `json:"metrics"`
	Spans              []Span   `json:"spans,omitempty"`
	Tracing            *Tracing `json:"tracing,omitempty"`
}

// Start is the record of platform.start: an invocation began.
type Start struct {
	RequestID   string   `json:"requestId"`
	Version     string   `json:"version,omitempty"`
	FunctionARN string   `json:"functionArn,omitempty"`
	Tracing     *Tracing `json:"tracing,omitempty"`
}

// RuntimeDone is the record of platform.runtimeDone: the runtime finished
// the invocation. Lambda Managed Instances never send it.
type RuntimeDone struct {
	RequestID string   `json:"requestId"`
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType,omitempty"`
	Metrics   Metrics  `json:"metrics"` // DurationMs and ProducedBytes
	Spans     []Span   `json:"spans,omitempty"`
	Tracing   *Tracing `json:"tracing,omitempty"`
}

// Report is the record of platform.report: the invocation's final report.
type Report struct {
	RequestID string   `json:"requestId"`
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType,omitempty"`
	Metrics   Metrics  `json:"metrics"`
	Spans     []Span   `json:"spans,omitempty"`
	Tracing   *Tracing `json:"tracing,omitempty"`
}

// RestoreStart is the record of platform.restoreStart (SnapStart).
type RestoreStart struct {
	RuntimeVersion    string      `json:"runtimeVersion,omitempty"`
	RuntimeVersionArn string      `json:"runtimeVersionArn,omitempty"`
	FunctionName      string      `json:"functionName,omitempty"`
	FunctionVersion   string      `json:"functionVersion,omitempty"`
	InstanceID        string      `json:"instanceId,omitempty"`
	InstanceMaxMemory json.Number `json:"instanceMaxMemory,omitempty"`
}

// RestoreRuntimeDone is the record of platform.restoreRuntimeDone.
type RestoreRuntimeDone struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType,omitempty"`
	Spans     []Span   `json:"spans,omitempty"`
	Tracing   *Tracing `json:"tracing,omitempty"`
}

// RestoreReport is the record of platform.restoreReport.
type RestoreReport struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType,omitempty"`
	Metrics   Metrics  `json:"metrics"`
	Spans     []Span   `json:"spans,omitempty"`
	Tracing   *Tracing `json:"tracing,omitempty"`
}

// Extension is the record of platform.extension: an extension registered.
type Extension struct {
	Name      string   `json:"name"`
	State     string   `json:"state"`
	Events    []string `json:"events"`
	ErrorType string   `json:"errorType,omitempty"`
}

// SubscriptionEvent is the record of platform.telemetrySubscription.
type SubscriptionEvent struct {
	Name  string   `json:"name"`
	State string   `json:"state"`
	Types []string `json:"types"`
}

// LogsDropped is the record of platform.logsDropped: Lambda dropped telemetry
// because the subscriber fell behind.
type LogsDropped struct {
	DroppedBytes   int64  `json:"droppedBytes"`
	DroppedRecords int64  `json:"droppedRecords"`
	Reason         string `json:"reason"`
}
