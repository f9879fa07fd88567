'use strict';
// Writes to response objects during an invocation: http.ServerResponse and framework
// adapters whose response is a Writable/Transform (OpenNext's is a Transform). Counted only
// inside an invocation and only for response-like objects, so sockets, stdout, files, gzip
// and hash streams cost one AsyncLocalStorage lookup. A write after the handler settled is a
// late write: a buffered adapter has already taken its snapshot.

const stream = require('node:stream');
const http = require('node:http');
const net = require('node:net');
const measure = require('./measure.cjs');
const { current, now } = require('./invocation.cjs');
// The failure counter loads on the first failure: most environments never read its file.
const failed = (where, err) => {
  try { require('./failures.cjs').failed(where, err); } catch (_) { /* cannot even count: carry on */ }
};

const tracked = new WeakMap(); // object -> Response, or false when it is not a response
const ours = new Set(); // our patched write/end functions, for "was end replaced?"

class Response {
  constructor(inv, obj) {
    this.inv = inv;
    this.obj = obj;
    this.bytes = 0;
    this.chunks = 0;
    this.lastAt = null;
    this.endedAt = null;
    this.late = 0;
    this.lateChunks = 0;
    this.blame = undefined;
  }

  status() {
    const s = this.obj.statusCode;
    return typeof s === 'number' ? s : undefined;
  }

  wrote(n, t) {
    if (n <= 0) return;
    this.bytes += n;
    this.chunks++;
    this.lastAt = t;
    const inv = this.inv;
    if (inv.settledAt === null || t <= inv.settledAt) return;
    this.late += n;
    this.lateChunks++;
    if (this.lateChunks === 1) {
      const limit = Error.stackTraceLimit;
      let stack;
      try {
        Error.stackTraceLimit = 40; // our own frames take the first few
        stack = new Error().stack;
      } finally {
        Error.stackTraceLimit = limit; // even if a prepareStackTrace of the function's throws
      }
      this.blame = require('./culprit.cjs').forWrite(this.obj, stack, ours); // loaded on the first late write
      this.reportLate(t);
    }
  }

  reportLate(t) {
    this.inv.emit({
      stage: 'late-write', phase: 'write', bytes: this.late, status: this.status(), after: this.inv.after(t),
      chunks: this.lateChunks, who: this.blame.who, note: this.blame.note,
    });
  }

  ended(n, t) {
    this.wrote(n, t);
    if (this.endedAt !== null) return;
    this.endedAt = t;
    if (this.lateChunks > 1) this.reportLate(t); // the running total of all late writes
    this.inv.later(() => this.inv.emit({
      stage: 'write', phase: 'end', bytes: this.bytes, status: this.status(), after: this.inv.after(this.endedAt), chunks: this.chunks,
    }));
  }

  // settled runs when the handler settles: a response still open shows what it held then.
  settled() {
    if (this.endedAt !== null || this.chunks === 0) return;
    this.inv.emit({
      stage: 'write', phase: 'write', bytes: this.bytes, status: this.status(), after: this.inv.after(this.lastAt), chunks: this.chunks,
      note: 'not ended when the handler settled',
    });
  }
}

function responseLike(obj) {
  if (obj instanceof net.Socket || obj === process.stdout || obj === process.stderr) return false;
  return typeof obj.setHeader === 'function' || typeof obj.writeHead === 'function' || typeof obj.statusCode === 'number';
}

function observe(obj, data, encoding, end) {
  const inv = current();
  if (!inv || !obj || typeof obj !== 'object') return;
  let r = tracked.get(obj);
  if (r === false) return;
  if (r === undefined || r.inv !== inv) {
    if (!responseLike(obj)) {
      tracked.set(obj, false);
      return;
    }
    r = new Response(inv, obj);
    tracked.set(obj, r);
    inv.responses.add(r);
  }
  const n = typeof data === 'function' ? 0 : measure.chunk(data, encoding);
  if (end) r.ended(n, now());
  else r.wrote(n, now());
}

function patch(proto, owner) {
  const write = owner.write;
  const end = owner.end;
  if (typeof write !== 'function' || typeof end !== 'function') return;
  const patchedWrite = function write_(chunk, encoding) {
    try { observe(this, chunk, encoding, false); } catch (e) { failed('writes.write', e); }
    return write.apply(this, arguments);
  };
  const patchedEnd = function end_(chunk, encoding) {
    try { observe(this, chunk, encoding, true); } catch (e) { failed('writes.end', e); }
    return end.apply(this, arguments);
  };
  Object.defineProperty(proto, 'write', { value: patchedWrite, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(proto, 'end', { value: patchedEnd, writable: true, configurable: true, enumerable: false });
  ours.add(patchedEnd).add(patchedWrite);
}

let installed = false;

function install() {
  if (installed) return;
  installed = true;
  patch(stream.Writable.prototype, stream.Writable.prototype);
  // Duplex (so Transform) copied Writable's methods onto its own prototype when it loaded.
  if (stream.Duplex.prototype.write !== stream.Writable.prototype.write) patch(stream.Duplex.prototype, stream.Duplex.prototype);
  // ServerResponse inherits write/end from OutgoingMessage, shared with http.ClientRequest
  // (the runtime client's own requests): patch ServerResponse only.
  patch(http.ServerResponse.prototype, http.OutgoingMessage.prototype);
}

module.exports = { install, observe, Response };
