'use strict';
// Example functions for bodytrace: each export reproduces one way a response body goes
// missing (or is empty on purpose), as a function URL would call it. Run one with the
// handler "index.<name>". Query parameter `bytes` sets the body size where it matters.
//
//   returnsUndefined      the handler returns nothing: the runtime posts null
//   wrapperDropsResult    a wrapper awaits the handler and drops its result
//   callbackMisread       an async handler declaring (event, context, callback), called
//                         callback-style by a wrapper that checks handler.length
//   lateWrite             OpenNext-style buffered adapter + a Sentry-like wrapper deferring
//                         res.end past the adapter's snapshot (Sentry's Next.js SDK 7.29-8.4)
//   sentryDropsStreaming  the real @sentry/aws-serverless 10.6.0 (streaming support came in
//                         10.7.0) around a streaming handler: the marker is dropped
//   streamNoWrite         a stream ended without a write
//   streamResolvesEarly   the handler resolves, its stream ends 50 ms later
//   streamErrorMidway     an error after some writes: the stream ends with error trailers
//   tooLarge              a buffered body over Lambda's 6 MB limit (7,000,000 bytes)
//   wrongBase64           'hello' sent with isBase64Encoded: true
//   noContent, headOk, notModified   empty by design: 204, HEAD, 304 for If-None-Match
//   healthy, healthyStream           2 KB buffered, 64 KB streamed: delivered
//
// wrapperDropsResult and callbackMisread mark their layers with the layer's wrap(), as a
// team that owns its middleware chain would; without it only the outermost result is seen.

// The layer's helper when it is there; a no-op stand-in otherwise (tests outside Lambda).
let bodytrace;
try {
  bodytrace = require('/opt/bodytrace/node/bodytrace.cjs');
} catch (_) {
  bodytrace = { wrap: (name, fn) => fn, step: (name, value) => value };
}
const { wrap } = bodytrace;

const PATTERN = 'abcdefghij';
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

function body(n) {
  return PATTERN.repeat(Math.ceil(n / PATTERN.length)).slice(0, n);
}

function size(event, fallback) {
  const q = (event && event.queryStringParameters) || {};
  const n = Number.parseInt(q.bytes, 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

function header(event, name) {
  const h = (event && event.headers) || {};
  for (const k of Object.keys(h)) if (k.toLowerCase() === name) return h[k];
  return undefined;
}

function method(event) {
  const ctx = (event && event.requestContext) || {};
  return (ctx.http && ctx.http.method) || ctx.httpMethod || (event && event.httpMethod) || 'GET';
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The awslambda global exists under the runtime client; outside it, streaming handlers are
// exported as plain functions.
const lambda = globalThis.awslambda;
const streamifyResponse = lambda ? lambda.streamifyResponse : (fn) => fn;
const httpStream = (stream, prelude) => (lambda ? lambda.HttpResponseStream.from(stream, prelude) : stream);

const ok = (event, fallback) => ({ statusCode: 200, headers: TEXT, body: body(size(event, fallback)), isBase64Encoded: false });

// 1. The handler computes a body and forgets to return it.
exports.returnsUndefined = async (event) => {
  ok(event, 2048);
};

// 2. A wrapper (think logging middleware) awaits the handler and drops its return value.
function dropResult(handler) {
  return async (event, context) => {
    await handler(event, context);
  };
}
exports.wrapperDropsResult = wrap('drop-result', dropResult(wrap('handler', async (event) => ok(event, 2048))));

// 3. An async handler that also declares a callback; the wrapper sees length 3, calls it
// callback-style and returns what the callback delivered so far: nothing.
function legacyCallbackSupport(handler) {
  return async (event, context) => {
    if (handler.length >= 3) {
      let result;
      handler(event, context, (err, value) => { result = value; });
      return result;
    }
    return handler(event, context);
  };
}
// eslint-disable-next-line no-unused-vars
exports.callbackMisread = wrap('legacy-callback', legacyCallbackSupport(wrap('handler', async (event, context, callback) => ok(event, 2048))));

// 4. OpenNext-style adapter: the response is a Transform collecting chunks, and the adapter
// snapshots it when the route handler resolves. A Sentry-like wrapper replaced res.end (with
// Sentry's fill, which leaves __sentry_original__) to flush before ending: the body arrives
// 20 ms after the snapshot.
const { Transform } = require('node:stream');

class BufferedResponse extends Transform {
  constructor() {
    super();
    this.statusCode = 200;
    this.headers = {};
    this.chunks = [];
  }

  setHeader(name, value) {
    this.headers[name.toLowerCase()] = String(value);
    return this;
  }

  _transform(chunk, encoding, callback) {
    this.chunks.push(Buffer.from(chunk, encoding));
    callback();
  }

  snapshot() {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function fill(source, name, replacementFactory) {
  const original = source[name];
  const wrapped = replacementFactory(original);
  Object.defineProperty(wrapped, '__sentry_original__', { value: original, enumerable: false, writable: true });
  source[name] = wrapped;
}

function withSentryLikeApiWrapper(route) {
  return async (req, res) => {
    fill(res, 'end', (origEnd) => function sentryWrappedEnd(...args) {
      // "flush the transaction before the response goes out"
      sleep(20).then(() => origEnd.apply(this, args));
      return this;
    });
    return route(req, res);
  };
}

const route = withSentryLikeApiWrapper(async (req, res) => {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(body(req.bytes));
});

exports.lateWrite = async (event) => {
  const res = new BufferedResponse();
  await route({ method: method(event), bytes: size(event, 2048) }, res);
  return { statusCode: res.statusCode, headers: res.headers, body: res.snapshot(), isBase64Encoded: false };
};

// 5. The real Sentry SDK before 10.7.0 returns a plain async (event, context) function from
// wrapHandler: the streaming marker set by streamifyResponse is gone, the runtime calls the
// handler as a buffered one and passes the context where the stream should be. Loaded only
// when this handler is used, so the other examples run without Sentry installed.
let sentryHandler;
Object.defineProperty(exports, 'sentryDropsStreaming', {
  enumerable: true,
  configurable: true,
  get() {
    if (!sentryHandler) {
      const Sentry = require('@sentry/aws-serverless');
      // Nothing listens on port 9 (discard) on loopback: sending an event fails fast.
      Sentry.init({ dsn: 'http://public@127.0.0.1:9/1', tracesSampleRate: 0 });
      sentryHandler = Sentry.wrapHandler(streamifyResponse(async (event, responseStream) => {
        const out = httpStream(responseStream, { statusCode: 200, headers: TEXT });
        out.write(body(size(event, 2048)));
        out.end();
      }));
    }
    return sentryHandler;
  },
});

// 6. Streams gone wrong.
exports.streamNoWrite = streamifyResponse(async (event, responseStream) => {
  const out = httpStream(responseStream, { statusCode: 200, headers: TEXT });
  out.end();
});

exports.streamResolvesEarly = streamifyResponse(async (event, responseStream) => {
  const out = httpStream(responseStream, { statusCode: 200, headers: TEXT });
  const data = body(size(event, 4096));
  const half = Math.floor(data.length / 2);
  out.write(data.slice(0, half));
  setTimeout(() => {
    out.write(data.slice(half));
    out.end();
  }, 50);
});

exports.streamErrorMidway = streamifyResponse(async (event, responseStream) => {
  const out = httpStream(responseStream, { statusCode: 200, headers: TEXT });
  out.write(body(size(event, 2048)));
  await sleep(5);
  throw new Error('upstream connection reset in the middle of the body');
});

// 7. Over Lambda's 6 MB response limit: the platform refuses it.
exports.tooLarge = async (event) => ok(event, 7000000);

// 8. Text sent with isBase64Encoded: true: the gateway decodes 'hello' into 3 bytes of garbage.
exports.wrongBase64 = async () => ({ statusCode: 200, headers: TEXT, body: 'hello', isBase64Encoded: true });

// 9. Empty by design.
exports.noContent = async () => ({ statusCode: 204, headers: {}, body: '', isBase64Encoded: false });

exports.headOk = async (event) => {
  const n = size(event, 2048);
  if (method(event) === 'HEAD') {
    return { statusCode: 200, headers: { ...TEXT, 'content-length': String(n) }, body: '', isBase64Encoded: false };
  }
  return ok(event, n);
};

exports.notModified = async (event) => {
  const etag = '"bodytrace-example-v1"';
  if (header(event, 'if-none-match') !== undefined) {
    return { statusCode: 304, headers: { etag }, body: '', isBase64Encoded: false };
  }
  return { ...ok(event, 2048), headers: { ...TEXT, etag } };
};

// 10. Delivered.
exports.healthy = async (event) => ok(event, 2048);

exports.healthyStream = streamifyResponse(async (event, responseStream) => {
  const out = httpStream(responseStream, { statusCode: 200, headers: TEXT });
  const data = body(size(event, 65536));
  for (let off = 0; off < data.length; off += 4096) {
    if (!out.write(data.slice(off, off + 4096))) await new Promise((resolve) => out.once('drain', resolve));
  }
  out.end();
});
