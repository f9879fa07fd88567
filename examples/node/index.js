'use strict';
// Example function for bodytrace: answers HTTP-shaped results whose body size the caller
// chooses, so a test knows exactly how many bytes should arrive.
//   handler  buffered:  {statusCode, headers, body, isBase64Encoded}
//   stream   streaming: function-URL style (prelude + body), written in chunks
// Parameters come from the query string (function URL, API Gateway, ALB) or, for a direct
// invoke, from the event itself:
//   bytes   body size (default 1024); the body is 'abcdefghij' repeated, cut to size
//   chunk   stream only: bytes per write (default 1024)
//   delay   stream only: milliseconds between writes (default 0)
//   status  status code; 204 and 304 always have an empty body
//   empty   1 (query) or true (event): 200 with an empty body, the case bodytrace exists for
//   fail    stream only: 1 throws after the body was written, so the runtime client ends the
//           stream with the Lambda-Runtime-Function-Error-Type/-Body trailers

const PATTERN = 'abcdefghij';
const EMPTY_STATUSES = new Set([204, 304]);

// param returns a parameter from the query string, else from the event, else undefined.
function param(event, name) {
  const query = (event && event.queryStringParameters) || {};
  if (query[name] !== undefined && query[name] !== null) return query[name];
  return event ? event[name] : undefined;
}

function intParam(event, name, fallback) {
  const n = Number.parseInt(param(event, name), 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

// body returns the first n bytes of the repeated pattern (ASCII, so bytes === characters).
function body(n) {
  return PATTERN.repeat(Math.ceil(n / PATTERN.length)).slice(0, n);
}

// plan decides status and body size from the event, shared by both handlers.
function plan(event) {
  const statusCode = intParam(event, 'status', 200);
  const empty = param(event, 'empty');
  const isEmpty = EMPTY_STATUSES.has(statusCode) || empty === true || empty === '1' || empty === 'true';
  return {
    statusCode,
    bytes: isEmpty ? 0 : intParam(event, 'bytes', 1024),
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  };
}

exports.handler = async (event) => {
  const { statusCode, bytes, headers } = plan(event);
  return { statusCode, headers, body: body(bytes), isBase64Encoded: false };
};

// awslambda is a global that the runtime client defines before loading this file; outside
// Lambda (require() in a test) the streaming handler is exported unwrapped.
const lambda = globalThis.awslambda;
const streamifyResponse = lambda ? lambda.streamifyResponse : (fn) => fn;

exports.stream = streamifyResponse(async (event, responseStream) => {
  const { statusCode, bytes, headers } = plan(event);
  const chunk = Math.max(1, intParam(event, 'chunk', 1024));
  const delay = intParam(event, 'delay', 0);
  const out = lambda ? lambda.HttpResponseStream.from(responseStream, { statusCode, headers }) : responseStream;
  const data = body(bytes);
  // No write means no prelude: the runtime client sends status and headers only before the
  // first write, so an empty stream (204/304/empty) reaches the caller without them.
  for (let off = 0; off < data.length; off += chunk) {
    if (off > 0 && delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    // Respect backpressure: a full buffer would hide the chunk timing the tests look at.
    if (!out.write(data.slice(off, off + chunk))) await new Promise((resolve) => out.once('drain', resolve));
  }
  const fail = param(event, 'fail');
  if (fail === '1' || fail === true) throw new Error('example failure after the body was written');
  out.end();
});
