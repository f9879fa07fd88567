'use strict';
// Per-invocation state, found from anywhere in the invocation's async call tree through
// AsyncLocalStorage, and the reporter that wraps a function (the exported handler, a wrapper
// layer, a streaming handler) to record what it returned.

const { AsyncLocalStorage } = require('node:async_hooks');
const { emit, flush } = require('./emit.cjs');
// The failure counter loads on the first failure: most environments never read its file.
const failed = (where, err) => {
  try { require('./failures.cjs').failed(where, err); } catch (_) { /* cannot even count: carry on */ }
};
const FAILURES = require.resolve('./failures.cjs');
const { isPromise, isProxy } = require('node:util').types;

const then = Promise.prototype.then;

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

  // reportFailures sends, once per execution environment, how many times the helper's own
  // code failed (and where first), as a "helper" step of this invocation.
  reportFailures() {
    const m = require.cache[FAILURES]; // not loaded: nothing failed
    const r = m && m.exports.takeReport();
    if (r) this.emit({ stage: 'helper', phase: 'failures', bytes: 0, chunks: r.count, note: `${r.count} internal failure(s) of the bodytrace Node.js helper; first: ${r.first}` });
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
      try { fn(); } catch (e) { failed('settle.pending', e); }
    }
    for (const r of this.responses) {
      try { r.settled(); } catch (e) { failed('settle.response', e); }
    }
    this.reportFailures();
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
  try { Object.defineProperty(wrapper, 'length', { value: fn.length, configurable: true }); } catch (e) { failed('copyShape.length', e); }
  try { Object.defineProperty(wrapper, 'name', { value: fn.name, configurable: true }); } catch (e) { failed('copyShape.name', e); }
  for (const key of Reflect.ownKeys(fn)) {
    if (SKIP.has(key)) continue;
    try { Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(fn, key)); } catch (e) { failed('copyShape.property', e); }
  }
  if (fn.prototype !== undefined) {
    try { wrapper.prototype = fn.prototype; } catch (e) { failed('copyShape.prototype', e); }
  }
  return wrapper;
}

function isReporter(fn) {
  return typeof fn === 'function' && fn[REPORTER] !== undefined;
}

// EXTRA_FRAMES is how many more frames a stack may hold while a reporter calls the function:
// room for the reporters' own frames (at most three reporters nested, three frames each),
// which hideOurFrames removes again, so that an error keeps every frame it has without
// bodytrace.
const EXTRA_FRAMES = 10;
const HELPER_DIR = require('node:path').dirname(__dirname) + '/'; // layer/node/

// window is set while the outermost reporter's synchronous call runs: base is
// Error.stackTraceLimit as the function set it.
let window = null;

// callHidden calls fn with EXTRA_FRAMES more allowed on the stack. Error.stackTraceLimit
// is put back in finally, unless fn changed it itself.
function callHidden(fn, thisArg, args) {
  if (window) return fn.apply(thisArg, args); // an outer reporter made room already
  const base = Error.stackTraceLimit;
  if (typeof base !== 'number' || !Number.isFinite(base)) return fn.apply(thisArg, args);
  window = { base };
  Error.stackTraceLimit = base + EXTRA_FRAMES;
  try {
    return fn.apply(thisArg, args);
  } finally {
    window = null;
    if (Error.stackTraceLimit === base + EXTRA_FRAMES) Error.stackTraceLimit = base;
  }
}

// MULTI is Lambda Managed Instances (several invocations at once, AWS_LAMBDA_MAX_CONCURRENCY):
// there a method swap (methodSwap) lasts only the synchronous call, so that no concurrent
// invocation finds the function in place of its reporter.
const MULTI = 'AWS_LAMBDA_MAX_CONCURRENCY' in process.env;

// methodSwap handles a reporter called as a method (the runtime client calls
// this.handler(event, context)). A stack names the function's frame after that property
// ("wrapped [as handler]") only if the property holds the function when the stack is
// written: so the property holds fn while it runs, until its promise settles (one invocation
// at a time) or its synchronous call returns, and errors are read meanwhile, as they would
// be without bodytrace. It returns restore(), or undefined.
function methodSwap(thisArg, wrapper, fn) {
  const key = methodKey(thisArg, wrapper, fn);
  if (key === undefined) return undefined;
  thisArg[key] = fn;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    try { if (thisArg[key] === fn) thisArg[key] = wrapper; } catch (e) { failed('methodSwap.restore', e); }
  };
}

// methodKey returns the own writable property of thisArg that holds wrapper, when fn's
// name differs from it (else the stack reads the same either way).
function methodKey(thisArg, wrapper, fn) {
  try {
    if (!thisArg || typeof thisArg !== 'object' || isProxy(thisArg)) return undefined;
    for (const key of Object.keys(thisArg)) {
      const d = Object.getOwnPropertyDescriptor(thisArg, key);
      if (d && d.value === wrapper && d.writable) return key === fn.name ? undefined : key;
    }
  } catch (e) {
    failed('methodKey', e);
  }
  return undefined;
}

// hideOurFrames gives an error the function threw the stack it has without bodytrace: the
// reporters' frames removed, and no more frames than Error.stackTraceLimit allows (the room
// callHidden made). The object is the same; nothing else about it changes.
function hideOurFrames(err) {
  try {
    if (!err || typeof err !== 'object' || !Object.getOwnPropertyDescriptor(err, 'stack')) return;
    const stack = err.stack;
    if (typeof stack !== 'string') return;
    const lines = stack.split('\n');
    const first = lines.findIndex((l) => l.startsWith('    at '));
    if (first < 0) return;
    // The limit the function runs with: callHidden's base, unless the function set its own.
    const base = window && Error.stackTraceLimit === window.base + EXTRA_FRAMES ? window.base : Error.stackTraceLimit;
    let frames = lines.slice(first).filter((l) => !(l.startsWith('    at ') && l.includes(HELPER_DIR)));
    if (typeof base === 'number' && frames.length > base) frames = frames.slice(0, Math.max(0, base));
    if (frames.length === lines.length - first) return;
    err.stack = lines.slice(0, first).concat(frames).join('\n');
  } catch (e) {
    failed('hideOurFrames', e);
  }
}

// reporter returns fn wrapped so that each call records a step for stage when fn's result
// is known (a native promise settled, a callback called). opts:
//   silent   record nothing for this layer (it is reported by an inner reporter already)
//   flush    return a promise that settles as fn's does once the step lines are sent
//   onCall(inv, args, thisArg) -> {onSettle(inv, t, ok, value)} | undefined: extra per-call hooks
// Whatever goes wrong inside bodytrace, fn is called exactly as it would be without it, and
// what it returns or throws reaches the caller unchanged: the same value, the same error
// object (without the reporter's frame), a thenable that is not a Promise as it is.
function reporter(stage, fn, opts = {}) {
  const wrapper = function bodytraceWrapper(...args) {
    let inv;
    let hooks;
    try {
      // The runtime client schedules the next invocation from callbacks of the previous one,
      // so the store may be a finished invocation's: a new request id starts a new one.
      // enterWith, not run: run would put its own frame on the function's stack.
      inv = current();
      const rid = requestId(args);
      if (rid !== undefined && (!inv || inv.rid !== rid)) {
        inv = new Invocation(rid);
        als.enterWith(inv);
      }
      if (inv && opts.onCall) hooks = opts.onCall(inv, args, this);
    } catch (e) {
      failed('reporter.call', e);
      inv = undefined;
    }
    if (!inv) return fn.apply(this, args);

    let done = false;
    const finish = (ok, value, settled = true) => {
      if (done) return;
      done = true;
      try {
        const t = now();
        const resolvedStage = typeof stage === 'function' ? stage(inv) : stage;
        if (hooks && hooks.onSettle) hooks.onSettle(inv, t, ok, value, resolvedStage);
        if (!opts.silent && !(hooks && hooks.reported)) {
          const step = ok ? measure.result(value) : errorStep(value, inv);
          if (hooks && hooks.describe) Object.assign(step, hooks.describe(ok, value));
          // Not a checkpoint (internal/invocation reads phase "out" only): the proxy counts
          // what the runtime sent.
          if (!settled) {
            step.phase = 'returned';
            step.kind = 'thenable';
            step.note = 'returned a thenable that is not a Promise: passed to the runtime unobserved';
          } else if (step.kind === 'unmeasured') {
            step.phase = 'settled';
          }
          inv.emit({ stage: resolvedStage, phase: step.phase || (ok ? 'out' : 'error'), ...step });
          if (resolvedStage === 'handler') inv.handlerSeen = true;
        }
        if (settled && (resolvedStage === 'handler' || opts.settles)) inv.settle(t);
      } catch (e) {
        failed('reporter.finish', e);
      }
    };

    // Callback style (Node 20's runtime client): the runtime passes (event, context, callback);
    // the result may come back through the callback instead of a promise.
    try {
      const cbAt = typeof args[2] === 'function' ? 2 : -1;
      if (cbAt >= 0 && !(hooks && hooks.streaming)) {
        const cb = args[cbAt];
        args[cbAt] = function bodytraceCallback(err, value) {
          const ok = err === undefined || err === null;
          if (!ok) hideOurFrames(err);
          finish(ok, ok ? value : err);
          return cb.apply(this, arguments);
        };
      }
    } catch (e) {
      failed('reporter.callback', e);
    }

    let out;
    let restore;
    try {
      restore = methodSwap(this, wrapper, fn);
    } catch (e) {
      failed('reporter.swap', e);
    }
    try {
      out = callHidden(fn, this, args);
    } catch (err) {
      hideOurFrames(err); // reads the stack while the method swap holds
      if (restore) restore();
      finish(false, err);
      throw err;
    }
    try {
      if (restore && (MULTI || !isPromise(out))) restore();
      if (isPromise(out)) {
        // Promise.prototype.then, not out.then: a then of the function's own is never run twice.
        if (!opts.flush) {
          then.call(out,
            (v) => { if (restore) restore(); finish(true, v); },
            (e) => { hideOurFrames(e); if (restore) restore(); finish(false, e); });
          return out;
        }
        // The outermost layer hands its result to the runtime only once the steps it
        // reported have left the process (bounded): same value, same rejection.
        return then.call(out,
          (v) => {
            if (restore) restore();
            finish(true, v);
            const sending = flush(FLUSH_BOUND_MS);
            return sending ? sending.then(() => v) : v;
          },
          (e) => {
            hideOurFrames(e);
            if (restore) restore();
            finish(false, e);
            const sending = flush(FLUSH_BOUND_MS);
            if (sending) return sending.then(() => { throw e; });
            throw e;
          });
      }
      if (measure.isThenable(out)) finish(true, undefined, false);
      else if (!(typeof args[2] === 'function' && !(hooks && hooks.streaming))) finish(true, out);
    } catch (e) {
      if (restore) restore();
      failed('reporter.result', e);
    }
    return out;
  };
  copyShape(wrapper, fn);
  try { Object.defineProperty(wrapper, REPORTER, { value: stage, configurable: true }); } catch (e) { failed('reporter.mark', e); }
  return wrapper;
}

// errorStep describes a failed call: the error, and the wrapper package its stack runs
// through, if any (who), so the verdict can name it.
function errorStep(err, inv) {
  const step = { kind: undefined, bytes: 0, note: errorNote(err) };
  try {
    const stack = err && typeof err === 'object' && Object.getOwnPropertyDescriptor(err, 'stack') ? err.stack : undefined;
    const pkg = require('./culprit.cjs').wrapperOnStack(stack);
    if (pkg) {
      step.who = pkg;
      step.note += '; its stack runs through ' + pkg;
    } else if (inv.wrapper) {
      step.who = inv.wrapper;
    }
  } catch (e) {
    failed('errorStep', e);
  }
  return step;
}

function errorNote(err) {
  try {
    if (err && typeof err === 'object') return 'threw ' + (err.name || 'Error') + (err.message ? ': ' + String(err.message).slice(0, 200) : '');
    return 'failed with ' + String(err).slice(0, 200);
  } catch (e) {
    failed('errorNote', e);
    return 'failed';
  }
}

module.exports = {
  Invocation, als, current, now, round, reporter, copyShape, isReporter, requestId, errorNote, hideOurFrames,
  STREAMING, HIGHWATERMARK, REPORTER,
};
