'use strict';
// How many body bytes a value holds, the way the runtime will post it, without side effects
// the function could see: a value is measured only when serialising it runs none of the
// function's code (no toJSON of its own, no getter, no Proxy). Otherwise it is reported as
// "unmeasured" and the proxy counts what the runtime actually serialised (issue 18).

const { isProxy } = require('node:util').types;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_NODES = 100000; // beyond this, leave the counting to the proxy

// Built-in toJSON methods that only read their receiver's internal state.
const PURE_TO_JSON = new Set([Date.prototype.toJSON, Buffer.prototype.toJSON]);

// Why a value is not measured: thrown by plain() and caught by result().
class Unmeasured extends Error {}

// lookup finds key on obj or its prototypes without running a getter: the property's
// descriptor, or undefined.
function lookup(obj, key) {
  for (let o = obj; o !== null; o = Object.getPrototypeOf(o)) {
    if (isProxy(o)) throw new Unmeasured('a Proxy');
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return d;
  }
  return undefined;
}

// own returns obj[key] if it is an own data property, undefined if absent; a getter throws.
function own(obj, key) {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  if (!d) return undefined;
  if (!('value' in d)) throw new Unmeasured(`a getter for "${key}"`);
  return d.value;
}

// plain checks that JSON.stringify(value) would run no code of the function's: no Proxy,
// no getter on a serialised property, no toJSON but the built-in ones. It throws Unmeasured.
function plain(value, ancestors, budget) {
  if (value === null || typeof value !== 'object') return;
  if (--budget.n < 0) throw new Unmeasured('more than ' + MAX_NODES + ' values');
  if (isProxy(value)) throw new Unmeasured('a Proxy');
  const toJSON = lookup(value, 'toJSON');
  if (toJSON) {
    if (!('value' in toJSON)) throw new Unmeasured('a toJSON getter');
    if (typeof toJSON.value === 'function') {
      if (PURE_TO_JSON.has(toJSON.value)) return;
      throw new Unmeasured('a toJSON method');
    }
  }
  if (ancestors.has(value)) throw new Unmeasured('a cycle');
  ancestors.add(value);
  const keys = Array.isArray(value) ? Object.keys(value) : Object.keys(value);
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(value, k);
    if (!d) continue;
    if (!('value' in d)) throw new Unmeasured(`a getter for "${k}"`);
    plain(d.value, ancestors, budget);
  }
  ancestors.delete(value);
}

// jsonBytes is the size of JSON.stringify(value), measured only when that is side-effect free.
function jsonBytes(value) {
  plain(value, new Set(), { n: MAX_NODES });
  const json = JSON.stringify(value);
  return json === undefined ? 0 : Buffer.byteLength(json);
}

// isThenable tells, without running a getter, whether the runtime would treat value as a
// promise (it has a then method).
function isThenable(value) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  try {
    const d = lookup(value, 'then');
    return !!d && (!('value' in d) || typeof d.value === 'function');
  } catch (_) {
    return true; // a Proxy: treat as opaque
  }
}

// result describes what a handler or wrapper returned: {kind, bytes, status, note}.
// kind "unmeasured" means measuring would have run the function's code.
function result(value) {
  if (value === undefined) return { kind: 'undefined', bytes: 0 };
  try {
    if (value !== null && typeof value === 'object') {
      if (isProxy(value)) throw new Unmeasured('a Proxy');
      const sc = Object.getOwnPropertyDescriptor(value, 'statusCode');
      if (sc) {
        if (!('value' in sc)) throw new Unmeasured('a getter for "statusCode"');
        return httpResult(value, sc.value);
      }
    }
    return { kind: 'json', bytes: jsonBytes(value) };
  } catch (err) {
    if (err instanceof Unmeasured) return { kind: 'unmeasured', bytes: 0, note: 'not measured: the result has ' + err.message + ' (the proxy counts what the runtime sent)' };
    return { kind: 'json', bytes: 0, note: 'not serialisable as JSON: ' + (err && err.message) };
  }
}

// httpResult measures an API Gateway / function URL shaped result: the decoded body.
function httpResult(r, statusCode) {
  plain(r, new Set(), { n: MAX_NODES }); // the runtime serialises all of it
  const out = { kind: 'http', bytes: 0 };
  const status = Number(statusCode);
  if (Number.isInteger(status)) out.status = status;
  const body = own(r, 'body');
  if (body === undefined || body === null) return out;
  if (typeof body !== 'string') {
    out.note = 'body is a ' + typeof body + ', not a string';
    out.bytes = jsonBytes(body);
    return out;
  }
  if (own(r, 'isBase64Encoded') === true) {
    out.bytes = Buffer.from(body, 'base64').length;
    if (body.length % 4 !== 0 || !BASE64.test(body)) {
      out.note = 'isBase64Encoded is set but the body is not base64 (' + Buffer.byteLength(body) + ' bytes as text)';
    }
    return out;
  }
  out.bytes = Buffer.byteLength(body);
  return out;
}

// chunk returns the size of one write(chunk, encoding) to a stream or response.
function chunk(data, encoding) {
  if (data === undefined || data === null) return 0;
  if (typeof data === 'string') {
    return Buffer.byteLength(data, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8');
  }
  if (typeof data.byteLength === 'number') return data.byteLength; // Buffer, Uint8Array
  if (typeof data === 'function') return 0;
  try { return jsonBytes(data); } catch (_) { return 0; }
}

module.exports = { result, chunk, isThenable, jsonBytes };
