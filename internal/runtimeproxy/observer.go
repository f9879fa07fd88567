package runtimeproxy

import (
	"io"
	"net/http"
	"time"
)

// Kinds of runtime-to-Runtime-API exchanges reported in [Response.Kind].
const (
	KindResponse  = "response"   // POST /runtime/invocation/{id}/response
	KindError     = "error"      // POST /runtime/invocation/{id}/error
	KindInitError = "init-error" // POST /runtime/init/error
)

// Observer is told what passed through the proxy.
//
// Calls are synchronous, made from the goroutine serving the runtime's
// connection after the answer was forwarded and flushed, so they must be
// fast: the server reads the runtime's next request on that connection only
// after they return, and the last chunk of a chunked answer (the Runtime API
// sends lengths, so in practice none) is written only after them too.
// A panic in an Observer is recovered and logged; forwarding is unaffected.
// The values handed over (Header, Body, Head, ...) belong to the Observer.
type Observer interface {
	// Next is called after the /next answer was fully forwarded to the runtime.
	Next(Next)
	// Response is called after a /response, /error or /init/error exchange
	// completed or failed.
	Response(Response)
}

// Next describes one GET /runtime/invocation/next exchange: an event handed
// to the runtime.
type Next struct {
	RequestID string      // Lambda-Runtime-Aws-Request-Id of the answer; empty if none
	Header    http.Header // the Runtime API answer's headers, hop-by-hop headers removed
	Body      []byte      // the event, captured up to Config.CaptureLimit bytes
	Size      int64       // event bytes forwarded in total
	Truncated bool        // Size exceeds len(Body)
	Status    int         // the Runtime API's answer status; 0 if none
	Start     time.Time   // when the runtime asked
	End       time.Time   // when the answer was complete (forwarded and flushed) or failed
	Err       error       // upstream or forwarding failure, if any
}

// Response describes one exchange in which the runtime posts a result: a
// response (buffered or streamed), an invocation error or an init error.
type Response struct {
	RequestID string // from the path; empty for init/error
	Kind      string // KindResponse, KindError or KindInitError
	// Streaming is true for a body sent with Lambda-Runtime-Function-Response-Mode:
	// streaming. aws-lambda-go sends no such header (it posts every result chunked);
	// its lambdaurl streams are told by their Content-Type.
	Streaming bool
	Header    http.Header // the runtime's request headers as sent (Transfer-Encoding excepted: Go's server removes it)
	Head      []byte      // the first Config.HeadLimit bytes of the body
	Size      int64       // body bytes the runtime sent and the proxy forwarded
	// Chunks counts non-empty reads from the runtime's body. It approximates
	// the runtime's writes (chunks for a stream): chunks already buffered
	// together may be read at once, and a large chunk may take several reads.
	Chunks       int
	Start        time.Time   // request headers received
	FirstByte    time.Time   // first body byte received from the runtime; zero if none
	End          time.Time   // body finished (EOF or error); the exchange's end if the Runtime API answered before the body ended
	Trailer      http.Header // trailers the runtime sent (streamed errors); nil if none
	Status       int         // the Runtime API's answer status (202, 413, 400...); 0 if none
	UpstreamBody []byte      // the Runtime API's answer body when Status >= 400, capped at 4 KiB
	Err          error       // read error from the runtime (cut stream) or forwarding error
	// Scan is the writer Config.Scan gave for this body, after it saw all of it; nil
	// when there was none, the body did not end, or the scan panicked.
	Scan io.Writer
}
