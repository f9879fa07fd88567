// Package line is bodytrace's step-line protocol: how a function tells the bodytrace
// extension how many bytes each stage of its response path held (the handler, each
// middleware or wrapper, writes to a response object, a response stream). The function's
// side (package steps, the Node.js helper) writes lines with [Format]; the extension reads
// them with [Parse]. Both sides use this one package, which needs only the standard
// library, so the writer and the reader cannot drift apart.
//
// # Format, version 1
//
// One line per step: the marker, one space, then a JSON object on the same line.
//
//	@bodytrace/step {"v":1,"rid":"<request id>","seq":2,"stage":"middleware:sentry","phase":"out","bytes":0,"status":200}
//
// Fields:
//   - v (number, required): the format version, 1.
//   - rid (string, required): the Lambda request id the step belongs to.
//   - seq (number): order of the step within the invocation, from 0; steps are applied in
//     this order, innermost stage first.
//   - stage (string, required): "handler" (what the exported handler returned),
//     "middleware:<name>" (what a wrapper layer returned, outward from the handler),
//     "adapter" (a framework adapter's snapshot of the response), "write" (writes to a
//     response object), "stream" (a response stream), "helper" (the Node.js helper itself:
//     phase "failures", chunks = how many times its own code failed, once per environment).
//   - phase (string): "out" (the stage's result), "write" (bytes written so far), "end"
//     (the stage ended), "error"; not checkpoints: "settled" (the stage settled but its
//     result was not measured, kind "unmeasured": measuring would have run the function's
//     code, a toJSON or a getter), "returned" (kind "thenable": a thenable that is not a
//     Promise, passed to the runtime unobserved), "failures" (stage "helper").
//   - bytes (number): body bytes at this stage (for "write", the running total).
//   - kind (string): what the stage held: "http" (an HTTP-shaped result: bytes is its
//     decoded body), "json" (any other value: bytes is its JSON size), "undefined" (nothing
//     was returned), "stream".
//   - status (number): the HTTP status code, when known.
//   - after (number): milliseconds since the handler settled (negative: before it), for
//     writes and stream ends; a write after a buffered adapter's snapshot is a late write.
//   - chunks (number): writes so far, for streams.
//   - who (string): the code responsible, when known: a known wrapper's short name
//     ("sentry") or an npm package name as on the stack ("fixture-wrapper", "@scope/name").
//     On an "error" step, the package whose frames call into the function's own code on
//     the error's stack (a wrapper around the handler), or that called a streaming handler
//     without its stream (a wrapper that dropped the streaming marker).
//   - note (string): free text for a person.
//   - enc (string): the body's content-encoding at this stage, as its Content-Encoding
//     header says ("gzip", "br", "deflate", ...), "identity" when it has none. Optional;
//     absent means the stage did not look. For kind "json" and "undefined" there is no
//     content-encoding: the bytes are the value's JSON.
//   - decoded (number): the body's length after content decoding (equal to bytes when enc
//     is "identity"). Optional; a helper that does not decompress leaves it out.
//
// bytes never count HTTP framing (chunked encoding) or a function-URL stream's prelude
// (its JSON metadata and the 8 NUL bytes after it): only body bytes, after base64
// decoding, before content decoding. bodytrace compares stages on decoded bytes when it
// can; when a stage passes on fewer bytes in another (or an unstated) encoding it says
// "unknown" rather than "lost". enc and decoded were added to version 1 as optional
// fields: readers of version 1 that predate them ignore them, and lines without them
// read as before.
//
// Lines travel by one of three transports, parsed by the same code: printed to stdout (the
// extension reads them from the Telemetry API "function" stream); sent, one line per
// datagram, to the extension's UDP port on 127.0.0.1 (BODYTRACE_STEPS_ADDR, advertised by
// the exec wrapper); or written, newline-terminated, one line per write of at most 4096
// bytes (PIPE_BUF, so writes are atomic), into the extension's named pipe
// (BODYTRACE_STEPS_FIFO, advertised by the exec wrapper). A line that is malformed, larger than MaxLine, or of an unknown
// version is counted and ignored, never fatal.
package line
