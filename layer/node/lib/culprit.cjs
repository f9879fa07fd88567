'use strict';
// Names the code responsible for a late write or a dropped result, from evidence only:
// Sentry's fill marker, the stack, a replaced method, packages in the module cache.
// Returns {who, note}; who is "unknown" when nothing points at anyone.

// The failure counter loads on the first failure: most environments never read its file.
const failed = (where, err) => {
  try { require('./failures.cjs').failed(where, err); } catch (_) { /* cannot even count: carry on */ }
};

const path = require('node:path');

const HELPER_DIR = path.dirname(__dirname); // layer/node: our own frames are never the culprit

// KNOWN are the wrappers people know by name (wrappers.json, which the extension reads too):
// a package on a stack becomes the stage's name. Loaded with this file, on the first blame.
const KNOWN = require('./wrappers.json');

// pkgOf returns the npm package a file belongs to, or undefined.
function pkgOf(file) {
  const i = file.lastIndexOf('/node_modules/');
  if (i < 0) return undefined;
  const parts = file.slice(i + '/node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0];
}

function nameOf(pkg) {
  for (const w of KNOWN) {
    if ((w.packages || []).includes(pkg) || (w.prefixes || []).some((p) => pkg.startsWith(p))) return w.name;
  }
  return pkg;
}

// fromStack names the package responsible for the code capturing stack: a known wrapper
// anywhere on it (Sentry deferring res.end calls the framework's own res.end wrapper, which
// is innermost but did nothing late of its own accord), else the innermost package other
// than bodytrace.
function fromStack(stack) {
  if (typeof stack !== 'string') return undefined;
  let innermost;
  for (const frame of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?\s*$/.exec(frame);
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '');
    if (file.startsWith(HELPER_DIR + path.sep)) continue;
    const pkg = pkgOf(file);
    if (!pkg) continue;
    if (nameOf(pkg) !== pkg) return nameOf(pkg);
    if (innermost === undefined) innermost = pkg;
  }
  return innermost;
}

// frames returns the files of a stack's frames, innermost first, each classified: "helper"
// (bodytrace's own), "internal" (node:), "runtime" (the runtime client), "package" (under
// node_modules, with pkg set) or "code" (the function's own files).
function frames(stack) {
  const out = [];
  if (typeof stack !== 'string') return out;
  for (const line of stack.split('\n').slice(1)) {
    if (!line.startsWith('    at ')) continue;
    const m = /\(?((?:file:\/\/)?\/[^():]+|node:[^():]+):\d+:\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '');
    let kind = 'code';
    let pkg;
    if (file.startsWith('node:')) kind = 'internal';
    else if (file.startsWith(HELPER_DIR + path.sep)) kind = 'helper';
    else if (file.startsWith('/var/runtime/') || file.includes('/aws-lambda-ric/') || file.startsWith('/opt/ric/')) kind = 'runtime';
    else if ((pkg = pkgOf(file)) !== undefined) kind = 'package';
    out.push({ file, kind, pkg });
  }
  return out;
}

// wrapperOnStack names the npm package (a known wrapper by its short name: sentry; others as
// on the stack, scoped ones as @scope/name) that wraps the function's own code on an error's
// stack: a package frame between the outermost frame of the function's own files and the
// runtime client, i.e. a wrapper that called into the handler. A library the handler called
// (even one that called back into the function's code) sits inside that frame and is not
// named. With no frame of the function's own files, the outermost package is named: the
// failure happened in its code. undefined when there is none.
function wrapperOnStack(stack) {
  const fs = frames(stack);
  while (fs.length && (fs[fs.length - 1].kind === 'runtime' || fs[fs.length - 1].kind === 'internal')) fs.pop(); // the runtime calling in
  let last = -1;
  fs.forEach((f, i) => { if (f.kind === 'code') last = i; });
  const outer = fs.slice(last + 1).filter((f) => f.kind === 'package');
  if (outer.length === 0) return undefined;
  return nameOf((last >= 0 ? outer[0] : outer[outer.length - 1]).pkg);
}

// callerPackage names the npm package that called the code capturing stack, past
// bodytrace's own frames: the wrapper that called a handler. undefined when the caller is
// the function's own code or the runtime client.
function callerPackage(stack) {
  for (const f of frames(stack)) {
    if (f.kind === 'helper' || f.kind === 'internal') continue;
    return f.kind === 'package' ? nameOf(f.pkg) : undefined;
  }
  return undefined;
}

// loadedSentry lists the @sentry packages in require.cache.
function loadedSentry() {
  const found = new Set();
  try {
    for (const file of Object.keys(require.cache)) {
      const pkg = pkgOf(file);
      if (pkg && pkg.startsWith('@sentry/')) found.add(pkg);
    }
  } catch (e) {
    failed('culprit.loadedSentry', e);
  }
  return [...found];
}

// replaced returns the function that replaced obj[method] (an own property that is not one
// of ours, the prototype's patched implementation), or undefined.
function replaced(obj, method, ours) {
  try {
    if (!Object.prototype.hasOwnProperty.call(obj, method)) return undefined;
    const fn = obj[method];
    if (typeof fn !== 'function' || ours.has(fn)) return undefined;
    return fn;
  } catch (e) {
    failed('culprit.replaced', e);
    return undefined;
  }
}

// forWrite names who wrote to obj late. stack is captured at the write; ours holds the
// prototypes' (patched) write and end, so an own-property replacement stands out.
function forWrite(obj, stack, ours) {
  const notes = [];
  for (const method of ['end', 'write']) {
    const fn = replaced(obj, method, ours);
    if (!fn) continue;
    if (typeof fn.__sentry_original__ === 'function') {
      return { who: 'sentry', note: `res.${method} was replaced by Sentry's fill (__sentry_original__)` };
    }
    notes.push(`res.${method} was replaced by ${fn.name ? 'function ' + fn.name : 'an anonymous function'}`);
  }
  const fromFrames = fromStack(stack);
  if (fromFrames) {
    notes.unshift('on the stack of the late write: ' + fromFrames);
    return { who: fromFrames, note: notes.join('; ') };
  }
  const sentry = loadedSentry();
  if (sentry.length) notes.push('loaded: ' + sentry.join(', '));
  return { who: 'unknown', note: notes.length ? notes.join('; ') : undefined };
}

module.exports = { forWrite, fromStack, loadedSentry, pkgOf, wrapperOnStack, callerPackage };
