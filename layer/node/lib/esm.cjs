'use strict';
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
// their streams, writes and explicit wrap()/step() only.

const Module = require('node:module');
const { failed } = require('./failures.cjs');

const SCHEME = 'bodytrace-esm:';
// WRAP holds the export wrapper for the generated module: a global symbol, because the
// generated module cannot require() this one without a file path of its own.
const WRAP = Symbol.for('bodytrace.node.esm.wrap');
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function fromRuntimeClient(parentURL) {
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

// register installs the hooks for the handler spec ({paths, props}, loader.parseHandler);
// wrap(fn) returns the reporter to export in place of fn. It returns whether it registered.
function register(spec, wrap) {
  if (typeof Module.registerHooks !== 'function' || spec.props.length !== 1) return false;
  const name = spec.props[0];
  if (!IDENT.test(name)) return false;
  const bare = new Set(spec.paths);
  let redirected = false; // the runtime client imports the handler once
  Object.defineProperty(globalThis, WRAP, {
    configurable: true,
    value: (fn) => (typeof fn === 'function' ? wrap(fn) : fn),
  });
  Module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const r = nextResolve(specifier, context);
      try {
        if (redirected || !fromRuntimeClient(context.parentURL) || typeof specifier !== 'string') return r;
        const file = specifier.startsWith('file://') ? new URL(specifier).pathname : specifier;
        if (!bare.has(file.replace(/\.(c?js|mjs)$/, ''))) return r;
        // CommonJS handlers are wrapped by Module._load (loader.cjs); only ES modules here.
        if (r.format !== 'module' && !(r.format == null && r.url.endsWith('.mjs'))) return r;
        redirected = true;
        return { url: SCHEME + r.url, format: 'module', shortCircuit: true };
      } catch (e) {
        failed('esm.resolve', e);
        return r;
      }
    },
    load(url, context, nextLoad) {
      if (typeof url === 'string' && url.startsWith(SCHEME)) {
        return { format: 'module', source: source(url.slice(SCHEME.length), name), shortCircuit: true };
      }
      return nextLoad(url, context);
    },
  });
  return true;
}

module.exports = { register, source, SCHEME };
