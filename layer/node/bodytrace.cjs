'use strict';
// bodytrace Node.js helper. The layer's exec wrapper preloads it (NODE_OPTIONS=--require
// /opt/bodytrace/node/bodytrace.cjs) before the runtime client loads the handler. It reports,
// as step lines (steps/line/doc.go), how many body bytes each stage of the response path
// held: what the exported handler returned, what a known wrapper (Sentry) made of it, bytes
// through a response stream, writes to response objects and writes after the handler settled.
//
// It must never break a function: every hook falls back to the original behaviour, and with
// no invocation running it emits nothing.
//
// Explicit middleware chains:
//   const { wrap, step } = require('/opt/bodytrace/node/bodytrace.cjs');
//   exports.handler = wrap('auth', auth(wrap('handler', app)));  // stage middleware:auth, handler
//   step('adapter', snapshot);                                    // stage adapter, its size

const KEY = Symbol.for('bodytrace.node.helper');

// load installs, at preload, only the two hooks that must precede the handler: Module._load
// and the awslambda global (lib/loader.cjs). The reporting code, and the http and stream
// modules it patches, load once the runtime client is about to load the handler, when it
// has required them itself (or on the first wrap()/step() call): the preload adds no
// builtin module to the cold start.
function load() {
  const loader = require('./lib/loader.cjs');
  loader.install();

  // wrap returns fn reporting stage "middleware:<name>" ("handler" for name "handler") with
  // what fn returned, keeping its arity and properties (streaming markers included).
  function wrap(name, fn) {
    if (typeof fn !== 'function') return fn;
    try {
      const { reporter, streams } = loader.reporting();
      const stage = name === 'handler' ? 'handler' : 'middleware:' + name;
      return reporter(stage, fn, { onCall: (inv, args) => streams.hooks(inv, args, fn) });
    } catch (_) {
      return fn;
    }
  }

  // step reports stage name (as given: "adapter", "handler", "middleware:x") holding value,
  // for the current invocation (or the one of context, a Lambda context), and returns value.
  function step(name, value, context) {
    try {
      const { current, Invocation, measure } = loader.reporting();
      let inv = current();
      if (context && typeof context.awsRequestId === 'string' && (!inv || inv.rid !== context.awsRequestId)) {
        inv = new Invocation(context.awsRequestId);
      }
      if (inv) inv.emit({ stage: String(name), phase: 'out', ...measure.result(value) });
    } catch (_) { /* never break the function */ }
    return value;
  }

  return { wrap, step };
}

if (!globalThis[KEY]) {
  let api;
  try {
    api = load();
  } catch (_) {
    api = { wrap: (name, fn) => fn, step: (name, value) => value };
  }
  Object.defineProperty(globalThis, KEY, { value: api });
}
module.exports = globalThis[KEY];
