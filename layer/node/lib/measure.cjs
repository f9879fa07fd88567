'use strict';
// How many body bytes a value holds, the way the runtime will post it.

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

// result describes what a handler or wrapper returned: {kind, bytes, status, note}.
function result(value) {
  if (value === undefined) return { kind: 'undefined', bytes: 0 };
  if (value !== null && typeof value === 'object' && 'statusCode' in value && typeof value.then !== 'function') {
    return httpResult(value);
  }
  try {
    const json = JSON.stringify(value);
    return { kind: 'json', bytes: json === undefined ? 0 : Buffer.byteLength(json) };
  } catch (err) {
    return { kind: 'json', bytes: 0, note: 'not serialisable as JSON: ' + (err && err.message) };
  }
}

// httpResult measures an API Gateway / function URL shaped result: the decoded body.
function httpResult(r) {
  const out = { kind: 'http', bytes: 0 };
  const status = Number(r.statusCode);
  if (Number.isInteger(status)) out.status = status;
  const body = r.body;
  if (body === undefined || body === null) return out;
  if (typeof body !== 'string') {
    out.note = 'body is a ' + typeof body + ', not a string';
    try { out.bytes = Buffer.byteLength(JSON.stringify(body) || ''); } catch (_) { /* stays 0 */ }
    return out;
  }
  if (r.isBase64Encoded === true) {
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
  try { return Buffer.byteLength(JSON.stringify(data) || ''); } catch (_) { return 0; }
}

module.exports = { result, chunk };
