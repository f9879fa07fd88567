'use strict';
// Finds the handler the runtime client loads (named by _HANDLER) and replaces the export
// with a reporter, and wraps Sentry's wrapHandler so the user's function inside it is
// reported too. Both hook CommonJS loading (Module._load): the runtime client loads a .js or
// .cjs handler with require(); an ES module handler (.mjs, "type": "module") is loaded with
// import() and its namespace cannot be changed, so it is not wrapped (steps come from
// streams, writes and explicit wrap()/step() only).

const Module = require('node:module');
const path = require('node:path');
const { reporter, isReporter, copyShape } = require('./invocation.cjs');
const streams = require('./streams.cjs');

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

let installed = false;

function install() {
  if (installed) return;
  installed = true;
  const handler = process.env._HANDLER || process.argv[2];
  const roots = [...new Set([process.cwd(), process.env.LAMBDA_TASK_ROOT].filter(Boolean))];
  const spec = parseHandler(handler, roots);
  const load = Module._load;
  let found = !spec;
  Module._load = function bodytraceLoad(request, parent) {
    const exp = load.apply(this, arguments);
    try {
      if (SENTRY_PACKAGES.has(request)) patchSentry(exp);
      if (!found && typeof request === 'string' && path.isAbsolute(request)) {
        const bare = request.replace(/\.(c?js|mjs)$/, '');
        if (spec.paths.includes(bare) || (fromRuntimeClient(parent) && !request.endsWith('.node'))) {
          found = true;
          const shadow = wrapExport(exp, spec.props);
          if (shadow) return shadow;
        }
      }
    } catch (_) { /* the runtime gets the module as it is */ }
    return exp;
  };
}

module.exports = { install, parseHandler, wrapExport, exportWrapper, patchSentry, knownWrapper, sentryWrappers };
