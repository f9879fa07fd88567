'use strict';
// Finds the handler the runtime client loads (named by _HANDLER) and replaces the export
// with a reporter, and wraps Sentry's wrapHandler so the user's function inside it is
// reported too. A CommonJS handler is caught in CommonJS loading (Module._load), whether the
// runtime client require()s it (aws-lambda-ric 3.x) or import()s it (4.x: Node loads it
// through Module._load too). An ES module handler (.mjs, "type": "module", OpenNext's
// index.mjs) cannot have its namespace changed: with Node's in-thread module hooks
// (module.registerHooks, Node 22.15+ and 24) the runtime client's import of it resolves to a
// small module that re-exports it with the handler's export wrapped (registerESM).
//
// With bodytrace.cjs, this file is all the preload loads (install, below); the reporting
// code loads through reporting() when the runtime client defines awslambda or requires the
// handler.

const Module = require('node:module');
const path = require('node:path');
// The failure counter loads on the first failure: most environments never read its file.
const failed = (where, err) => {
  try { require('./failures.cjs').failed(where, err); } catch (_) { /* cannot even count: carry on */ }
};

let core; // what reporting() loaded

// reporting loads the code that reports steps, and patches response writes, on first use.
// The runtime client has required http and stream by then, so the patch loads no builtin.
function reporting() {
  if (core) return core;
  core = { ...require('./invocation.cjs'), streams: require('./streams.cjs'), measure: require('./measure.cjs') };
  try { require('./writes.cjs').install(); } catch (e) { failed('writes.install', e); }
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
  try { holder[key] = w; } catch (_) { /* read-only: shadowed below, not a failure */ }
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
    } catch (e) {
      failed('sentry.wrapHandler', e);
      args[0] = handler;
    }
    const out = wrapHandler.apply(this, args);
    try { if (typeof out === 'function') sentryWrappers.add(out); } catch (e) { failed('sentry.mark', e); }
    return out;
  }, wrapHandler);
  try { exp.wrapHandler = patched; } catch (e) { failed('sentry.patch', e); }
}

function fromRuntimeClient(parent) {
  const f = parent && parent.filename;
  return typeof f === 'string' && (f.includes('/aws-lambda-ric/') || f.startsWith('/var/runtime/'));
}

// hookGlobal patches awslambda as soon as the runtime client sets it. aws-lambda-ric 3.x
// assigns it once, just before loading the handler; 4.x assigns {} first (its bundled
// @aws/lambda-invoke-store), then replaces it with a copy holding streamifyResponse. So the
// accessor stays until a value with streamifyResponse arrives, then gives way to a plain
// property, as if it had never been there.
function hookGlobal() {
  const existing = Object.getOwnPropertyDescriptor(globalThis, 'awslambda');
  if (existing && existing.value && typeof existing.value.streamifyResponse === 'function') {
    reporting().streams.patchAwslambda(globalThis.awslambda);
    return;
  }
  if (existing && !existing.configurable) return;
  let held = existing ? existing.value : undefined;
  Object.defineProperty(globalThis, 'awslambda', {
    configurable: true,
    enumerable: existing ? existing.enumerable : true,
    get() { return held; },
    set(value) {
      held = value;
      if (!value || typeof value !== 'object' || typeof value.streamifyResponse !== 'function') return;
      Object.defineProperty(globalThis, 'awslambda', { value, writable: true, enumerable: true, configurable: true });
      try { reporting().streams.patchAwslambda(value); } catch (e) { failed('awslambda', e); }
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
    } catch (e) { failed('load.match', e); }
    const exp = load.apply(this, arguments);
    try {
      if (SENTRY_PACKAGES.has(request)) patchSentry(exp);
      if (isHandler) {
        found = true;
        const shadow = wrapExport(exp, spec.props);
        if (shadow) return shadow;
      }
    } catch (e) { failed('load.wrap', e); } // the runtime gets the module as it is
    return exp;
  };
}

// ES module handlers. An ES module's namespace cannot be changed, so the runtime client's
// import() of the handler module is resolved, with Node's in-thread module hooks
// (module.registerHooks: Node 22.15+ and 24, what Lambda's nodejs22.x and nodejs24.x run),
// to a small generated module that re-exports everything the handler module exports, with
// the handler's own export wrapped:
//
//   import * as m from "file:///var/task/index.mjs";
//   export * from "file:///var/task/index.mjs";
//   export default m.default;
//   export const handler = globalThis[WRAP](m.handler);
//
// Only the runtime client's import is redirected (its parent is the runtime client): every
// other importer gets the original module, and the original is evaluated once. A handler
// named with a nested property path (file.a.b) is left alone. Where registerHooks is
// missing (Node 20) nothing is registered: ES module handlers are then observed through
// their streams, writes and explicit wrap()/step() only. (Here, not in a file of its own:
// every file the preload reads lengthens the cold start.)

const SCHEME = 'bodytrace-esm:';
// WRAP holds the export wrapper for the generated module: a global symbol, because the
// generated module cannot require() this one without a file path of its own.
const WRAP = Symbol.for('bodytrace.node.esm.wrap');
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function fromRuntimeClientURL(parentURL) {
  return typeof parentURL === 'string' && (parentURL.startsWith('file:///var/runtime/') || parentURL.includes('/aws-lambda-ric/'));
}

// source generates the module that re-exports url with export name wrapped.
function source(url, name) {
  const u = JSON.stringify(url);
  const lines = [`import * as m from ${u};`, `export * from ${u};`];
  const wrapped = `(globalThis[Symbol.for('bodytrace.node.esm.wrap')] || ((f) => f))(m[${JSON.stringify(name)}])`;
  if (name === 'default') {
    lines.push(`export default ${wrapped};`);
  } else {
    lines.push('export default m.default;', `export const ${name} = ${wrapped};`);
  }
  return lines.join('\n') + '\n';
}

// registerESM installs the hooks for the handler spec ({paths, props}, loader.parseHandler);
// wrap(fn) returns the reporter to export in place of fn. It returns whether it registered.
function registerESM(spec, wrap) {
  if (typeof Module.registerHooks !== 'function' || spec.props.length !== 1) return false;
  const name = spec.props[0];
  if (!IDENT.test(name)) return false;
  const bare = new Set(spec.paths);
  let redirected = false; // the runtime client imports the handler once
  Object.defineProperty(globalThis, WRAP, {
    configurable: true,
    value: (fn) => (typeof fn === 'function' ? wrap(fn) : fn),
  });
  // Hooks see every require() and import of the process: they go as soon as the handler
  // module is settled, so the application's own module loading runs at full speed.
  let hooks = null;
  const deregister = () => {
    try { if (hooks) hooks.deregister(); } catch (e) { failed('esm.deregister', e); }
    hooks = null;
  };
  hooks = Module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const r = nextResolve(specifier, context);
      try {
        if (redirected || !fromRuntimeClientURL(context.parentURL) || typeof specifier !== 'string') return r;
        const file = specifier.startsWith('file://') ? new URL(specifier).pathname : specifier;
        if (!bare.has(file.replace(/\.(c?js|mjs)$/, ''))) return r;
        redirected = true;
        // CommonJS handlers are wrapped by Module._load (hookLoad); only ES modules here.
        if (r.format !== 'module' && !(r.format == null && r.url.endsWith('.mjs'))) {
          deregister();
          return r;
        }
        return { url: SCHEME + r.url, format: 'module', shortCircuit: true };
      } catch (e) {
        failed('esm.resolve', e);
        return r;
      }
    },
    load(url, context, nextLoad) {
      if (typeof url === 'string' && url.startsWith(SCHEME)) {
        const text = source(url.slice(SCHEME.length), name);
        deregister(); // the generated module imports the original without hooks
        return { format: 'module', source: text, shortCircuit: true };
      }
      return nextLoad(url, context);
    },
  });
  return true;
}

// hookESM registers the module hooks that wrap an ES module handler's export.
// BODYTRACE_NODE_ESM_HOOKS=off leaves Node's module loading untouched (an escape hatch, and
// the benchmark's baseline): ES module handlers are then seen through streams and writes.
function hookESM() {
  if (process.env.BODYTRACE_NODE_ESM_HOOKS === 'off') return;
  const other = otherLoader();
  if (other) {
    // Another loader (OpenTelemetry's import-in-the-middle, Sentry's --import) must see the
    // handler exactly as without bodytrace: Node refuses to mix in-thread hooks with an
    // off-thread loader's (ERR_METHOD_NOT_IMPLEMENTED resolveSync), and the function would
    // then run without that instrumentation. The ES module handler is left alone.
    process.stderr.write(`bodytrace: ${other} is set, so the ES module handler is not wrapped; its result is measured at the Runtime API only\n`);
    return;
  }
  const spec = parseHandler(process.env._HANDLER || process.argv[2], [...new Set([process.cwd(), process.env.LAMBDA_TASK_ROOT].filter(Boolean))]);
  // Hooks see every module load until the handler's: their first use costs about 4 ms of
  // CPU on the cold start, so a handler that is surely CommonJS (Module._load wraps it)
  // goes without them.
  if (spec && mayBeESM(spec.paths)) registerESM(spec, (fn) => {
    try {
      return exportWrappers.has(fn) ? fn : exportWrapper(fn);
    } catch (e) {
      failed('esm.wrap', e);
      return fn;
    }
  });
}

// mayBeESM reports whether a handler module at one of paths (without extension, as
// parseHandler gives them) could be an ES module: an .mjs file, or a .js file under a
// package.json with "type": "module". Anything it cannot tell counts as yes.
function mayBeESM(paths) {
  const fs = require('node:fs');
  try {
    for (const p of paths) {
      if (fs.existsSync(p + '.mjs')) return true;
      if (fs.existsSync(p + '.js') && packageType(path.dirname(p), fs) === 'module') return true;
    }
    return false;
  } catch (e) {
    failed('esm.mayBeESM', e);
    return true;
  }
}

// packageType is the "type" of the package.json nearest to dir, as Node reads it.
function packageType(dir, fs) {
  for (let d = dir; ; d = path.dirname(d)) {
    const file = path.join(d, 'package.json');
    if (fs.existsSync(file)) {
      const type = JSON.parse(fs.readFileSync(file, 'utf8')).type;
      return type === 'module' ? 'module' : 'commonjs';
    }
    if (path.dirname(d) === d) return 'commonjs';
  }
}

// otherLoader names a module loader or preload given to Node besides bodytrace's own
// --require (--experimental-loader, --loader, --import), or "".
function otherLoader() {
  const args = [...process.execArgv, ...String(process.env.NODE_OPTIONS || '').split(/\s+/)];
  for (const a of args) {
    const m = /^--(experimental-loader|loader|import)(=|$)/.exec(a);
    if (m) return '--' + m[1];
  }
  return '';
}

let installed = false;

// install sets both hooks; each failing leaves only its part unobserved.
function install() {
  if (installed) return;
  installed = true;
  for (const hook of [hookLoad, hookGlobal, hookESM]) {
    try { hook(); } catch (e) { failed('install.' + hook.name, e); } // that part is simply not observed
  }
}

module.exports = { install, reporting, parseHandler, mayBeESM, wrapExport, exportWrapper, patchSentry, knownWrapper, sentryWrappers };
