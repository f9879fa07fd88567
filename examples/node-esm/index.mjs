// Fixtures of Node.js semantics for bodytrace's helper, as an ES module (OpenNext's server
// function and most bundlers' output are index.mjs). Minimal on purpose: real frameworks are
// reproduced elsewhere (internal/e2e stacks and corpus); each case here isolates one thing
// the helper must observe without changing what the caller gets. Choose with event.case.
import { PassThrough } from 'node:stream';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const size = (event) => Number(event.queryStringParameters?.bytes ?? 1024);
const conditional = (event) => Boolean(event.headers?.['if-none-match']);

// Buffered cases: what handler returns (or throws) is what the runtime posts.
const buffered = {
  // A plain HTTP result.
  json: (event) => Promise.resolve({ statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(size(event)) }),
  // A non-async function returning a thenable that is not a Promise: the runtime awaits it.
  thenable: (event) => ({ then(resolve) { resolve({ statusCode: 200, body: 't'.repeat(size(event)) }); } }),
  // A result whose toJSON answers differently each call: the caller must see the first.
  tojson: (event) => {
    let calls = 0;
    return Promise.resolve({ toJSON: () => ({ statusCode: 200, body: `call ${++calls} `.padEnd(size(event), '.') }) });
  },
  // Throws synchronously: the error body (with its stack) must be the same with the layer.
  thrower: () => { throw new TypeError('fixture: thrown by the handler'); },
  // An adapter that snapshots the response when the handler returns, while a deferring
  // package (as Sentry 7 deferred res.end) writes the body after it: the caller gets "".
  late: (event) => {
    const res = new PassThrough();
    res.statusCode = 200;
    res.setHeader = () => {};
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    require('fixture-defer').end(res, 'l'.repeat(size(event)));
    return Promise.resolve({ statusCode: res.statusCode, body: Buffer.concat(chunks).toString() });
  },
};

export function handler(event, context) {
  return buffered[event.case ?? 'json'](event, context);
}

// Streamed cases (function URL, RESPONSE_STREAM).
const streamed = {
  // Through HttpResponseStream.from: the runtime client writes the prelude.
  from: async (event, stream) => {
    stream = awslambda.HttpResponseStream.from(stream, { statusCode: 200, headers: { 'content-type': 'text/plain' } });
    const body = 's'.repeat(size(event));
    for (let i = 0; i < body.length; i += 1000) stream.write(body.slice(i, i + 1000));
    stream.end();
  },
  // As OpenNext's aws-lambda-streaming wrapper does: the function writes the prelude itself
  // (JSON, then 8 NUL bytes), and answers If-None-Match with a 304 and no body.
  prelude: async (event, stream) => {
    const status = conditional(event) ? 304 : 200;
    stream.setContentType('application/vnd.awslambda.http-integration-response');
    stream.write(JSON.stringify({ statusCode: status, headers: { 'content-type': 'text/html', etag: '"fixture"' }, cookies: [] }));
    stream.write(new Uint8Array(8));
    if (status === 200) stream.write('<p>' + 'p'.repeat(size(event)) + '</p>');
    stream.end();
  },
  // Fails mid-stream: the runtime client ends the stream with error trailers.
  thrower: async (event, stream) => {
    stream.write('partial');
    throw new RangeError('fixture: thrown mid-stream');
  },
};

export const stream = awslambda.streamifyResponse(async (event, responseStream, context) => {
  await streamed[event.case ?? 'from'](event, responseStream, context);
});

// A wrapper package that returns a plain function around a streaming handler, dropping the
// streaming marker: the runtime calls it buffered and the handler gets no stream.
export const dropped = require('fixture-wrapper').wrap(stream);
