'use strict';
// Finds the handler the runtime client loads (named by _HANDLER) and replaces the export
// with a reporter, and wraps Sentry's wrapHandler so the user's function inside it is
// reported too. Both hook CommonJS loading (Module._load): the runtime client loads a .js or
// .cjs handler with require(); an ES module handler (.mjs, "type": "module") is loaded with
// import() and its namespace cannot be changed, so it is not wrapped (steps come from
// streams, writes and explicit wrap()/step() only).
//
// With bodytrace.cjs, this file is all the preload loads (install, below); the reporting
// code loads through reporting() when the runtime client defines awslambda or requires the
// handler.

const Module = require('node:module');
const path = require('node:path');

let core; // what reporting() loaded

// reporting loads the code that reports steps, and patches response writes, on first use.
// The runtime client has required http and stream by then, so the patch loads no builtin.
function reporting() {
  if (core) return core;
  core = { ...require('./invocation.cjs'), streams: require('./streams.cjs'), measure: require('./measure.cjs') };
  try { require('./writes.cjs').install(); } catch (_) { /* writes are simply not observed */ }
  // Open the step transport now, during init: its socket connects while the runtime client
  // waits for its first event, instead of holding the first invocation's result.
  require('./emit.cjs').prepare();
  return core;
}

const SENTRY_PACKAGES = new Set(['@sentry/aws-serverless', '@sentry/serverless']);
const sentryWrappers = new WeakSet(); // functions returned by Sentry's wrapHandler
const patchedSentry = new WeakSet();
const exportWrappers = new WeakSet();

// parseHandler splits a handler string as aws-lambda-ric's UserFunction.js does:
// "dir/file.a.b" -> module path <root>/dir/file, property path ["a", "b"].
function parseHandler(handler, roots) {
  if (!handler || handler.includes('..')) return undefined;
  const base = path.basename(handler);
  const moduleRoot = handler.substring(0, handler.indexOf(base));
  const m = /^([^.]*)\.(.*)$/.exec(base);
  if (!m) return undefined;
  return { paths: roots.map((r) => path.resolve(r, moduleRoot, m[1])), props: m[2].split('.') };
}

// knownWrapper names a wrapper the export is known to be, from evidence on the function.
function knownWrapper(fn) {
  if (sentryWrappers.has(fn) || typeof fn.__sentry_original__ === 'function') return 'sentry';
  return undefined;
}

// exportWrapper reports what the exported function returned: "handler", or
// "middleware:<name>" when it is a known wrapper around the user's function.
function exportWrapper(fn) {
  const { reporter, isReporter, streams } = reporting();
  const known = knownWrapper(fn);
  // An unknown export around a function already reported as "handler" (a streamifyResponse
  // or wrap() reporter inside it) is an unnamed wrapper layer.
  const stage = (inv) => (known ? 'middleware:' + known : inv.handlerSeen ? 'middleware:unknown' : 'handler');
  const w = reporter(stage, fn, {
    silent: isReporter(fn), // a wrap()/streamifyResponse reporter reports itself
    settles: true,
    flush: true, // the export is what the runtime awaits
    onCall(inv, args) {
      if (known) inv.wrapper = known;
      const h = streams.hooks(inv, args, fn) || {};
      if (known) {
        const describe = h.describe;
        h.describe = (ok, value) => {
          const d = describe ? describe(ok, value) : {};
          if (!inv.handlerSeen) d.note = (d.note ? d.note + '; ' : '') + `the function inside the ${known} wrapper was not observed`;
          return d;
        };
      }
      return h;
    },
  });
  exportWrappers.add(w);
  return w;
}

// wrapExport replaces exports.<props> with its reporter. It returns an object to hand the
// runtime instead of exp when the property cannot be replaced in place (bundlers' getters).
function wrapExport(exp, props) {
  let holder = exp;
  for (const p of props.slice(0, -1)) {
    holder = holder == null ? undefined : holder[p];
  }
  if (holder == null) return undefined;
  const key = props[props.length - 1];
  const fn = holder[key];
  if (typeof fn !== 'function' || exportWrappers.has(fn)) return undefined;
  const w = exportWrapper(fn);
  try { holder[key] = w; } catch (_) { /* read-only: shadow it below */ }
  if (holder[key] === w) return undefined;
  if (holder !== exp) return undefined; // a nested read-only export: leave it alone
  return Object.create(exp, { [key]: { value: w, enumerable: true, writable: true, configurable: true } });
}

// patchSentry makes Sentry's wrapHandler wrap a reporter of the user's function, so the
// handler's own result is known (Sentry's wrapper calls it from a closure).
function patchSentry(exp) {
  if (!exp || patchedSentry.has(exp) || typeof exp.wrapHandler !== 'function') return;
  patchedSentry.add(exp);
  const { reporter, isReporter, copyShape, streams } = reporting();
  const wrapHandler = exp.wrapHandler;
  const patched = copyShape(function wrapHandler_(handler) {
    const args = Array.prototype.slice.call(arguments);
    try {
      if (typeof handler === 'function' && !isReporter(handler)) {
        args[0] = reporter('handler', handler, { onCall: (inv, a) => streams.hooks(inv, a, handler) });
      }
    } catch (_) { args[0] = handler; }
    const out = wrapHandler.apply(this, args);
    try { if (typeof out === 'function') sentryWrappers.add(out); } catch (_) { /* ignore */ }
    return out;
  }, wrapHandler);
  try { exp.wrapHandler = patched; } catch (_) { /* read-only export: not observed */ }
}

function fromRuntimeClient(parent) {
  const f = parent && parent.filename;
  return typeof f === 'string' && (f.includes('/aws-lambda-ric/') || f.startsWith('/var/runtime/'));
}

// hookGlobal patches awslambda as soon as the runtime client sets it (it assigns
// globalThis.awslambda just before requiring the handler module).
function hookGlobal() {
  const existing = Object.getOwnPropertyDescriptor(globalThis, 'awslambda');
  if (existing) {
    reporting().streams.patchAwslambda(globalThis.awslambda);
    return;
  }
  Object.defineProperty(globalThis, 'awslambda', {
    configurable: true,
    enumerable: false,
    get() { return undefined; },
    set(value) {
      // Back to a plain property, as if this hook had never been there.
      Object.defineProperty(globalThis, 'awslambda', { value, writable: true, enumerable: true, configurable: true });
      try { reporting().streams.patchAwslambda(value); } catch (_) { /* the runtime keeps the original */ }
    },
  });
}

// hookLoad replaces the handler's export with a reporter as the runtime client requires it,
// and Sentry's wrapHandler as the handler requires Sentry.
function hookLoad() {
  const handler = process.env._HANDLER || process.argv[2];
  const roots = [...new Set([process.cwd(), process.env.LAMBDA_TASK_ROOT].filter(Boolean))];
  const spec = parseHandler(handler, roots);
  const load = Module._load;
  let found = !spec;
  Module._load = function bodytraceLoad(request, parent) {
    let isHandler = false;
    try {
      if (!found && typeof request === 'string' && path.isAbsolute(request)) {
        const bare = request.replace(/\.(c?js|mjs)$/, '');
        isHandler = spec.paths.includes(bare) || (fromRuntimeClient(parent) && !request.endsWith('.node'));
        // Writes are patched before the handler's code runs, as when the preload did it.
        if (isHandler) reporting();
      }
    } catch (_) { /* not observed */ }
    const exp = load.apply(this, arguments);
    try {
      if (SENTRY_PACKAGES.has(request)) patchSentry(exp);
      if (isHandler) {
        found = true;
        const shadow = wrapExport(exp, spec.props);
        if (shadow) return shadow;
      }
    } catch (_) { /* the runtime gets the module as it is */ }
    return exp;
  };
}

let installed = false;

// install sets both hooks; each failing leaves only its part unobserved.
function install() {
  if (installed) return;
  installed = true;
  for (const hook of [hookLoad, hookGlobal]) {
    try { hook(); } catch (_) { /* that part is simply not observed */ }
  }
}

module.exports = { install, reporting, parseHandler, wrapExport, exportWrapper, patchSentry, knownWrapper, sentryWrappers };
