'use strict';
// Response streams (awslambda.streamifyResponse): bytes and writes through the stream the
// runtime client hands the handler, its end relative to the handler settling, an error, and
// a streaming handler that a wrapper made the runtime call as a buffered one.

const measure = require('./measure.cjs');
const { now, reporter, isReporter, copyShape, errorNote, STREAMING, HIGHWATERMARK } = require('./invocation.cjs');
// The failure counter loads on the first failure: most environments never read its file.
const failed = (where, err) => {
  try { require('./failures.cjs').failed(where, err); } catch (_) { /* cannot even count: carry on */ }
};

const states = new WeakMap(); // response stream -> Stream

// HTTP_INTEGRATION marks a function-URL stream that starts with a JSON prelude and 8 NUL
// bytes (internal/invocation/response.go reads the wire the same way).
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8);
const MAX_PRELUDE = 64 << 10; // a prelude not closed by then is not one the proxy can read

class Stream {
  constructor(inv) {
    this.inv = inv;
    this.bytes = 0; // body bytes: what the function wrote, less a prelude it wrote itself
    this.chunks = 0;
    this.status = undefined;
    this.endedAt = null;
    this.reported = false;
    this.contentType = undefined;
    this.viaFrom = false; // HttpResponseStream.from writes the prelude below stream.write
    this.head = null; // bytes written so far while a hand-written prelude is still open
    this.preludeOpen = false;
  }

  setContentType(type) {
    this.contentType = typeof type === 'string' ? type : undefined;
    this.preludeOpen = !this.viaFrom && this.bytes === 0 && this.contentType !== undefined && this.contentType.startsWith(HTTP_INTEGRATION);
  }

  // wrote counts one write. While the function writes a function-URL prelude itself (as
  // OpenNext's streaming wrapper does: the JSON, then 8 NUL bytes), those bytes are not
  // body: the prelude ends at the first 8 NUL bytes, and its statusCode is the stream's.
  wrote(data, encoding) {
    if (!this.preludeOpen) {
      const n = measure.chunk(data, encoding);
      if (n > 0) {
        this.bytes += n;
        this.chunks++;
      }
      return;
    }
    const buf = toBuffer(data, encoding);
    if (buf.length === 0) return;
    this.head = this.head ? Buffer.concat([this.head, buf]) : buf;
    const i = this.head.indexOf(DELIMITER);
    if (i < 0) {
      if (this.head.length > MAX_PRELUDE) this.closePrelude(this.head.length, 'the stream says it has a prelude but no 8 NUL bytes came in the first ' + MAX_PRELUDE + ' bytes');
      return;
    }
    try {
      const prelude = JSON.parse(this.head.subarray(0, i).toString('utf8'));
      const code = prelude && typeof prelude === 'object' ? Number(prelude.statusCode) : NaN;
      this.status = Number.isInteger(code) ? code : 200;
    } catch (_) {
      this.status = 200; // as Lambda and the proxy read a prelude that is not JSON
    }
    this.closePrelude(this.head.length - i - DELIMITER.length);
  }

  closePrelude(body, note) {
    this.preludeOpen = false;
    this.head = null;
    if (note) this.note = note;
    if (body > 0) {
      this.bytes += body;
      this.chunks++;
    }
  }

  ended(data, encoding) {
    this.wrote(data, encoding);
    if (this.endedAt !== null) return;
    this.endedAt = now();
    this.inv.later(() => this.report('end', this.inv.after(this.endedAt)));
  }

  failed(err, t) {
    this.report('error', this.inv.settledAt === null ? 0 : this.inv.after(t), errorNote(err) + '; the runtime client ends the stream with error trailers');
  }

  report(phase, after, note) {
    if (this.reported) return;
    this.reported = true;
    const notes = [this.preludeOpen ? 'the stream says it has a prelude but it never ended (no 8 NUL bytes)' : this.note, note].filter(Boolean);
    this.inv.emit({ stage: 'stream', phase, bytes: this.bytes, kind: 'stream', status: this.status, after, chunks: this.chunks, note: notes.length ? notes.join('; ') : undefined });
  }
}

// toBuffer returns the bytes of one write as the runtime client sends them (it writes a
// value that is neither a string nor bytes as JSON).
function toBuffer(data, encoding) {
  if (data === undefined || data === null || typeof data === 'function') return Buffer.alloc(0);
  if (typeof data === 'string') return Buffer.from(data, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.alloc(measure.chunk(data)); // only its size matters: it cannot hold NUL bytes
}

// isResponseStream tells the runtime client's response stream (a Writable-like object with
// setContentType, see aws-lambda-ric ResponseStream.js) from a Lambda context.
function isResponseStream(obj) {
  return !!obj && typeof obj === 'object' && typeof obj.write === 'function' &&
    typeof obj.end === 'function' && typeof obj.setContentType === 'function';
}

// instrument counts what goes through stream.write/end and the content type it is given.
// The runtime client writes a prelude given to HttpResponseStream.from through its inner
// request, not through these, so that one is never counted; a prelude the function writes
// itself is recognised by the content type and left out (Stream.wrote).
function instrument(stream, inv) {
  let st = states.get(stream);
  if (st) return st;
  st = new Stream(inv);
  states.set(stream, st);
  const write = stream.write;
  const end = stream.end;
  const setContentType = stream.setContentType;
  stream.write = function write_(chunk, encoding) {
    try { st.wrote(chunk, encoding); } catch (e) { failed('stream.write', e); }
    return write.apply(this, arguments);
  };
  stream.end = function end_(chunk, encoding) {
    try { st.ended(typeof chunk === 'function' ? undefined : chunk, encoding); } catch (e) { failed('stream.end', e); }
    return end.apply(this, arguments);
  };
  stream.setContentType = function setContentType_(type) {
    const out = setContentType.apply(this, arguments); // throws when too late: then nothing changed
    try { st.setContentType(type); } catch (e) { failed('stream.setContentType', e); }
    return out;
  };
  return st;
}

// hooks are the per-call hooks (see reporter) for any handler layer that may be streaming.
function hooks(inv, args, fn) {
  if (isResponseStream(args[1])) {
    const st = instrument(args[1], inv);
    return {
      streaming: true,
      describe: () => ({ kind: 'stream', bytes: st.bytes, chunks: st.chunks, status: st.status }),
      onSettle: (_inv, t, ok, value) => { if (!ok) st.failed(value, t); },
    };
  }
  if (fn && fn[STREAMING] === 'response' && args[1] && typeof args[1].awsRequestId === 'string' && !inv.calledBuffered) {
    inv.calledBuffered = true;
    inv.emit({
      stage: 'stream', phase: 'error', bytes: 0, kind: 'stream', who: callerOf() || inv.wrapper || 'unknown',
      note: 'a streaming handler (awslambda.streamifyResponse) was called as a buffered one, with the context ' +
        'in place of the response stream: a wrapper around it dropped the streaming marker',
    });
  }
  return undefined;
}

// callerOf names the wrapper package that called the handler being reported, from the stack.
function callerOf() {
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 20; // bodytrace's own frames come first
    return require('./culprit.cjs').callerPackage(new Error().stack);
  } catch (e) {
    failed('stream.callerOf', e);
    return undefined;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

// patchAwslambda hooks the global the runtime client defines before it loads the handler
// (loader.cjs calls it as the global is set).
function patchAwslambda(lambda) {
  if (!lambda || typeof lambda !== 'object' || lambda.__bodytrace) return;
  Object.defineProperty(lambda, '__bodytrace', { value: true });
  const streamify = lambda.streamifyResponse;
  if (typeof streamify === 'function') {
    lambda.streamifyResponse = copyShape(function streamifyResponse(handler, options) {
      const marked = streamify.apply(this, arguments); // marks handler itself, as before
      if (typeof marked !== 'function' || isReporter(marked)) return marked;
      try {
        const w = reporter('handler', marked, { onCall: (inv, args) => hooks(inv, args, marked) });
        streamify.call(this, w, options); // the runtime reads the markers from what is exported
        if (w[STREAMING] !== marked[STREAMING]) return marked;
        if (marked[HIGHWATERMARK] !== undefined) w[HIGHWATERMARK] = marked[HIGHWATERMARK];
        return w;
      } catch (e) {
        failed('streamifyResponse', e);
        return marked;
      }
    }, streamify);
  }
  const HttpResponseStream = lambda.HttpResponseStream;
  const from = HttpResponseStream && HttpResponseStream.from;
  if (typeof from === 'function') {
    HttpResponseStream.from = copyShape(function from_(stream, prelude) {
      try {
        const st = states.get(stream);
        if (st) {
          st.viaFrom = true;
          st.preludeOpen = false;
          const d = prelude && typeof prelude === 'object' ? Object.getOwnPropertyDescriptor(prelude, 'statusCode') : undefined;
          if (d && 'value' in d && Number.isInteger(Number(d.value))) st.status = Number(d.value);
        }
      } catch (e) { failed('HttpResponseStream.from', e); }
      return from.apply(this, arguments);
    }, from);
  }
}

module.exports = { hooks, instrument, isResponseStream, patchAwslambda, states };
