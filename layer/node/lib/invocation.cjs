'use strict';
// Per-invocation state, found from anywhere in the invocation's async call tree through
// AsyncLocalStorage, and the reporter that wraps a function (the exported handler, a wrapper
// layer, a streaming handler) to record what it returned.

const { AsyncLocalStorage } = require('node:async_hooks');
const { emit, flush } = require('./emit.cjs');

// FLUSH_BOUND_MS bounds how long a result waits for its step lines to leave the process.
const FLUSH_BOUND_MS = 5;
const measure = require('./measure.cjs');

const als = new AsyncLocalStorage();
// now is a monotonic clock in milliseconds; process.hrtime spares loading perf_hooks.
const now = () => {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
};
const round = (ms) => Math.round(ms * 10) / 10;

// Symbols the runtime client reads on a handler; kept on every wrapper we return.
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
// Marks functions made by reporter(): value is the stage they report.
const REPORTER = Symbol('bodytrace.reporter');

class Invocation {
  constructor(rid) {
    this.rid = rid;
    this.seq = 0;
    this.settledAt = null; // when the handler's result was fixed: the innermost handler settled
    this.pending = []; // steps that need settledAt for their "after"
    this.responses = new Set(); // response objects written during the invocation
    this.wrapper = undefined; // name of the known wrapper around the handler (sentry), if any
    this.handlerSeen = false; // a "handler" step was reported
    this.calledBuffered = false; // a streaming handler was called as a buffered one
  }

  emit(step) {
    step.rid = this.rid;
    step.seq = this.seq++;
    emit(step);
  }

  after(t) {
    return round(t - this.settledAt);
  }

  // later runs fn once the handler has settled (at once if it has).
  later(fn) {
    if (this.settledAt === null) this.pending.push(fn);
    else fn();
  }

  settle(t) {
    if (this.settledAt !== null) return;
    this.settledAt = t;
    const pending = this.pending;
    this.pending = [];
    for (const fn of pending) {
      try { fn(); } catch (_) { /* never break the function */ }
    }
    for (const r of this.responses) {
      try { r.settled(); } catch (_) { /* never break the function */ }
    }
  }
}

function current() {
  return als.getStore();
}

// requestId finds the Lambda context among a handler's arguments.
function requestId(args) {
  for (let i = 1; i < args.length && i < 3; i++) {
    const a = args[i];
    if (a && typeof a === 'object' && typeof a.awsRequestId === 'string') return a.awsRequestId;
  }
  return undefined;
}

const SKIP = new Set(['length', 'name', 'prototype', 'arguments', 'caller']);

// copyShape gives wrapper the arity, name and own properties (symbols included: the
// streaming markers) of fn, so the runtime and other wrappers treat it as fn.
function copyShape(wrapper, fn) {
  try { Object.defineProperty(wrapper, 'length', { value: fn.length, configurable: true }); } catch (_) { /* keep going */ }
  try { Object.defineProperty(wrapper, 'name', { value: fn.name, configurable: true }); } catch (_) { /* keep going */ }
  for (const key of Reflect.ownKeys(fn)) {
    if (SKIP.has(key)) continue;
    try { Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(fn, key)); } catch (_) { /* keep going */ }
  }
  if (fn.prototype !== undefined) {
    try { wrapper.prototype = fn.prototype; } catch (_) { /* keep going */ }
  }
  return wrapper;
}

function isReporter(fn) {
  return typeof fn === 'function' && fn[REPORTER] !== undefined;
}

// reporter returns fn wrapped so that each call records a step for stage when fn's result
// is known (promise settled or callback called). opts:
//   silent   record nothing for this layer (it is reported by an inner reporter already)
//   flush    return a promise that settles as fn's does once the step lines are sent
//   onCall(inv, args, thisArg) -> {onSettle(inv, t, ok, value)} | undefined: extra per-call hooks
// Whatever goes wrong inside bodytrace, fn is called exactly as it would be without it.
function reporter(stage, fn, opts = {}) {
  const wrapper = function bodytraceWrapper(...args) {
    let inv;
    let hooks;
    let fresh = false;
    try {
      // The runtime client schedules the next invocation from callbacks of the previous one,
      // so the store may be a finished invocation's: a new request id starts a new one.
      inv = current();
      const rid = requestId(args);
      if (rid !== undefined && (!inv || inv.rid !== rid)) {
        inv = new Invocation(rid);
        fresh = true;
      }
      if (inv && opts.onCall) hooks = opts.onCall(inv, args, this);
    } catch (_) {
      inv = undefined;
    }
    if (!inv) return fn.apply(this, args);

    let done = false;
    const finish = (ok, value) => {
      if (done) return;
      done = true;
      try {
        const t = now();
        const resolvedStage = typeof stage === 'function' ? stage(inv) : stage;
        if (hooks && hooks.onSettle) hooks.onSettle(inv, t, ok, value, resolvedStage);
        if (!opts.silent && !(hooks && hooks.reported)) {
          const step = ok ? measure.result(value) : { kind: undefined, bytes: 0, note: errorNote(value) };
          if (hooks && hooks.describe) Object.assign(step, hooks.describe(ok, value));
          inv.emit({ stage: resolvedStage, phase: ok ? 'out' : 'error', ...step });
          if (resolvedStage === 'handler') inv.handlerSeen = true;
        }
        if (resolvedStage === 'handler' || opts.settles) inv.settle(t);
      } catch (_) { /* never break the function */ }
    };

    // Callback style: the runtime passes (event, context, callback); the result may come back
    // through the callback instead of a promise.
    try {
      const cbAt = typeof args[2] === 'function' ? 2 : -1;
      if (cbAt >= 0 && !(hooks && hooks.streaming)) {
        const cb = args[cbAt];
        args[cbAt] = function bodytraceCallback(err, value) {
          try { finish(err === undefined || err === null, err === undefined || err === null ? value : err); } catch (_) { /* ignore */ }
          return cb.apply(this, arguments);
        };
      }
    } catch (_) { /* keep the original callback */ }

    const call = () => {
      let out;
      try {
        out = fn.apply(this, args);
      } catch (err) {
        finish(false, err);
        throw err;
      }
      try {
        if (out && typeof out.then === 'function') {
          if (!opts.flush) {
            out.then((v) => finish(true, v), (e) => finish(false, e));
            return out;
          }
          // The outermost layer hands its result to the runtime only once the steps it
          // reported have left the process (bounded): same value, same rejection. They
          // usually have, and the result goes on without a timer or another promise.
          return out.then(
            (v) => {
              finish(true, v);
              const sending = flush(FLUSH_BOUND_MS);
              return sending ? sending.then(() => v) : v;
            },
            (e) => {
              finish(false, e);
              const sending = flush(FLUSH_BOUND_MS);
              if (sending) return sending.then(() => { throw e; });
              throw e;
            });
        }
      } catch (_) { /* the result is returned untouched either way */ }
      return out;
    };
    return fresh ? als.run(inv, call) : call();
  };
  copyShape(wrapper, fn);
  try { Object.defineProperty(wrapper, REPORTER, { value: stage, configurable: true }); } catch (_) { /* keep going */ }
  return wrapper;
}

function errorNote(err) {
  try {
    if (err && typeof err === 'object') return 'threw ' + (err.name || 'Error') + (err.message ? ': ' + String(err.message).slice(0, 200) : '');
    return 'failed with ' + String(err).slice(0, 200);
  } catch (_) {
    return 'failed';
  }
}

module.exports = {
  Invocation, als, current, now, round, reporter, copyShape, isReporter, requestId, errorNote,
  STREAMING, HIGHWATERMARK, REPORTER,
};
