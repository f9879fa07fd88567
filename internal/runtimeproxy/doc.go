// Package runtimeproxy is a byte-exact proxy for the AWS Lambda Runtime API.
//
// The function's runtime is pointed at the proxy through AWS_LAMBDA_RUNTIME_API.
// Every request is forwarded to the real Runtime API and every answer back,
// unchanged: bodies, headers, chunks and trailers pass through, streams are
// forwarded while they arrive, and nothing the other side waits for is
// buffered. What passed is reported to an [Observer] through a size-capped tee.
//
// Fail open is the first rule: an observer that panics or a capture that fills
// up never changes what is forwarded. The proxy is built on
// [net/http/httputil.ReverseProxy], which already handles hop-by-hop headers,
// immediate flushing and response trailers; this package adds request
// trailers on streamed bodies, header exactness on answers (no Date or
// Content-Type the Runtime API did not send) and the observation.
package runtimeproxy
