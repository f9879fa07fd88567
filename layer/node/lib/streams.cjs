'use strict';
// Response streams (awslambda.streamifyResponse): bytes and writes through the stream the
// runtime client hands the handler, its end relative to the handler settling, an error, and
// a streaming handler that a wrapper made the runtime call as a buffered one.

const measure = require('./measure.cjs');
const { now, reporter, isReporter, copyShape, errorNote, STREAMING, HIGHWATERMARK } = require('./invocation.cjs');

const states = new WeakMap(); // response stream -> Stream

class Stream {
  constructor(inv) {
    this.inv = inv;
    this.bytes = 0;
    this.chunks = 0;
    this.status = undefined;
    this.endedAt = null;
    this.reported = false;
  }

  wrote(n) {
    if (n > 0) {
      this.bytes += n;
      this.chunks++;
    }
  }

  ended(n) {
    this.wrote(n);
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
    this.inv.emit({ stage: 'stream', phase, bytes: this.bytes, kind: 'stream', status: this.status, after, chunks: this.chunks, note });
  }
}

// isResponseStream tells the runtime client's response stream (a Writable-like object with
// setContentType, see aws-lambda-ric ResponseStream.js) from a Lambda context.
function isResponseStream(obj) {
  return !!obj && typeof obj === 'object' && typeof obj.write === 'function' &&
    typeof obj.end === 'function' && typeof obj.setContentType === 'function';
}

// instrument counts what goes through stream.write/end. The runtime client writes the
// function URL prelude through its inner request, not through these, so it is not counted.
function instrument(stream, inv) {
  let st = states.get(stream);
  if (st) return st;
  st = new Stream(inv);
  states.set(stream, st);
  const write = stream.write;
  const end = stream.end;
  stream.write = function write_(chunk, encoding) {
    try { st.wrote(measure.chunk(chunk, encoding)); } catch (_) { /* ignore */ }
    return write.apply(this, arguments);
  };
  stream.end = function end_(chunk, encoding) {
    try { st.ended(typeof chunk === 'function' ? 0 : measure.chunk(chunk, encoding)); } catch (_) { /* ignore */ }
    return end.apply(this, arguments);
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
      stage: 'stream', phase: 'error', bytes: 0, kind: 'stream', who: inv.wrapper || 'unknown',
      note: 'a streaming handler (awslambda.streamifyResponse) was called as a buffered one, with the context ' +
        'in place of the response stream: a wrapper around it dropped the streaming marker',
    });
  }
  return undefined;
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
      } catch (_) {
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
        if (st && prelude && Number.isInteger(Number(prelude.statusCode))) st.status = Number(prelude.statusCode);
      } catch (_) { /* ignore */ }
      return from.apply(this, arguments);
    }, from);
  }
}

module.exports = { hooks, instrument, isResponseStream, patchAwslambda, states };
