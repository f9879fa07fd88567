'use strict';
// Writes the response shapes under this folder: events, the bytes a runtime sends to the
// Runtime API (buffered results, function-URL streams with their prelude, chunked framing,
// /error documents), the step lines the Node helper sends, and the verdict each must get.
// Bodies are compressed with Node's own zlib (gzip, br, deflate); step byte counts come
// from the helper's own measuring code (layer/node/lib/measure.cjs); the prelude is written
// as aws-lambda-ric 4.0.2's HttpResponseStream.from and OpenNext's streaming wrapper write
// it (JSON, then 8 NUL bytes). Run from the repository root:
//   node internal/invocation/testdata/shapes/gen.cjs
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
// HELPER_LIB runs another copy of the helper (to check a helper change against these
// verdicts); the committed files come from this repository's.
const lib = process.env.HELPER_LIB || path.join(__dirname, '../../../../layer/node/lib');
const measure = require(path.join(lib, 'measure.cjs'));
const { Invocation, now } = require(path.join(lib, 'invocation.cjs'));
const streams = require(path.join(lib, 'streams.cjs'));

const here = __dirname;
const base = JSON.parse(fs.readFileSync(process.env.URL_EVENT ||
  path.join(process.env.HOME, 'go/pkg/mod/github.com/aws/aws-lambda-go@v1.55.1/events/testdata/lambda-urls-request.json')));
fs.mkdirSync(path.join(here, 'events'), { recursive: true });
fs.mkdirSync(path.join(here, 'bodies'), { recursive: true });
fs.mkdirSync(path.join(here, 'cases'), { recursive: true });

function event(name, method, headers) {
  const e = structuredClone(base);
  e.requestContext.http.method = method;
  e.headers = { ...e.headers, ...headers };
  if (method !== 'POST') { delete e.body; }
  fs.writeFileSync(path.join(here, 'events', name + '.json'), JSON.stringify(e, null, 2) + '\n');
  return 'events/' + name + '.json';
}
const GET = event('get', 'GET', { 'accept-encoding': 'gzip, deflate, br' });
const INM = event('get-if-none-match', 'GET', { 'if-none-match': '"W/\\"1a2b-3c\\""' });
const HEAD = event('head', 'HEAD', {});
fs.writeFileSync(path.join(here, 'events', 'direct.json'), JSON.stringify({ orderId: 'A-1001', items: 3 }) + '\n');
const DIRECT = 'events/direct.json';

const RID = '8476a536-e9f4-11e8-9739-2dfe598c3fcd';
// step renders a line as layer/node/lib/emit.cjs does, with enc and decoded (format v1).
function steps(list) {
  return list.map((s, seq) => '@bodytrace/step ' + JSON.stringify({
    v: 1, rid: RID, seq, stage: s.stage, phase: s.phase || 'out', bytes: s.bytes, kind: s.kind,
    status: s.status, after: s.after, chunks: s.chunks, who: s.who, note: s.note, enc: s.enc, decoded: s.decoded,
  }));
}
// out is a step for a handler or wrapper that returned value, measured by the helper.
function out(stage, value, extra) {
  return { stage, ...measure.result(value), ...extra };
}

const page = Buffer.from('<!DOCTYPE html><html><body>' + 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(90) + '</body></html>');
const json = JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: 'item ' + i, price: i * 3.5 })) });
// crc32 and pngImage write a real PNG (signature, IHDR, IDAT, IEND; RFC 2083) of w x h
// pixels of noise, so content-type image/png bodies start as a PNG does.
const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
function crc32(buf) { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; }
function pngChunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function pngImage(w, h, seed) {
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const rows = [];
  for (let y = 0; y < h; y++) {
    const noise = Buffer.concat(Array.from({ length: Math.ceil(w * 3 / 64) }, (_, i) => crypto.createHash('sha512').update(seed + y + ':' + i).digest()));
    rows.push(Buffer.from([0]), noise.subarray(0, w * 3)); // filter type 0, then the row's pixels
  }
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), pngChunk('IHDR', ihdr), pngChunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), pngChunk('IEND', Buffer.alloc(0))]);
}
const png = pngImage(16, 16, 'bodytrace'); // a real 16x16 PNG
const binary = Buffer.concat(Array.from({ length: 30 }, (_, i) => crypto.createHash('sha256').update(String(i)).digest()));

let written = 0;
function kase(name, c) {
  const file = path.join(here, 'bodies', name + '.bin');
  fs.writeFileSync(file, c.wire);
  const doc = {
    about: c.about, event: c.event, route: c.route || 'response', mode: c.mode || 'buffered',
    contentType: c.contentType || '', body: 'bodies/' + name + '.bin', chunked: !!c.chunked,
    trailers: c.trailers, errorHeader: c.errorHeader, steps: steps(c.steps || []), want: c.want,
  };
  fs.writeFileSync(path.join(here, 'cases', name + '.json'), JSON.stringify(doc, null, 2) + '\n');
  written++;
}

// helperStream runs the helper's own stream instrumentation (layer/node/lib/streams.cjs)
// over a response stream like aws-lambda-ric's, writes a function-URL response to it as
// the function would, and returns the bytes the runtime client sends and the stream step
// line the helper reports. by: "function" writes the prelude with stream.write, as
// OpenNext's streaming wrapper does; "from" goes through awslambda.HttpResponseStream.from,
// whose prelude aws-lambda-ric 4.0.2 writes through the inner request (copied below);
// "none" writes no prelude.
function helperStream(by, preludeObj, body, chunk) {
  const wire = [];
  const sink = {
    write(c) { if (this._onBeforeFirstWrite) { const f = this._onBeforeFirstWrite; this._onBeforeFirstWrite = null; f((x) => wire.push(Buffer.from(x))); } wire.push(Buffer.from(c)); return true; },
    end(c) { if (c) this.write(c); },
    setContentType() {},
  };
  // aws-lambda-ric 4.0.2 index.mjs, HttpResponseStream.from.
  const lambda = { HttpResponseStream: { from(underlyingStream, prelude) {
    underlyingStream.setContentType(PRELUDE_TYPE);
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => { write(metadataPrelude); write(new Uint8Array(8)); };
    return underlyingStream;
  } } };
  streams.patchAwslambda(lambda);
  const inv = new Invocation(RID);
  const got = [];
  inv.emit = (s) => got.push(s);
  streams.instrument(sink, inv);
  let stream = sink;
  if (by === 'from') stream = lambda.HttpResponseStream.from(sink, preludeObj);
  if (by === 'function') {
    stream.setContentType(PRELUDE_TYPE);
    stream.write(JSON.stringify(preludeObj));
    stream.write(new Uint8Array(8));
  }
  for (let i = 0; i < body.length; i += chunk) stream.write(body.subarray(i, i + chunk));
  if (by === 'from' && body.length === 0) stream.write(''); // the first write sends the prelude
  stream.end();
  inv.settle(now());
  return { wire: Buffer.concat(wire), step: got[0] };
}

// buffered is the document the runtime client posts for a handler's result.
const buffered = (result) => Buffer.from(JSON.stringify(result));
const PRELUDE_TYPE = 'application/vnd.awslambda.http-integration-response';
const prelude = (p) => Buffer.concat([Buffer.from(JSON.stringify(p)), Buffer.alloc(8)]);
// chunked frames body as an HTTP/1.1 chunked request body in pieces of n bytes.
function chunked(body, n) {
  const parts = [];
  for (let i = 0; i < body.length; i += n) {
    const c = body.subarray(i, i + n);
    parts.push(Buffer.from(c.length.toString(16) + '\r\n'), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

// ---- healthy shapes: delivered or empty-by-design ----
{
  const r = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: json };
  kase('buffered-json', { about: 'API-style JSON result, buffered', event: GET, wire: buffered(r),
    steps: [out('handler', r, { enc: 'identity' })], want: { verdict: 'delivered' } });
}
{
  const r = { statusCode: 200, headers: { 'content-type': 'image/png' }, body: png.toString('base64'), isBase64Encoded: true };
  kase('buffered-base64', { about: 'binary body, base64 in the result, counted decoded on both sides', event: GET, wire: buffered(r),
    steps: [out('handler', r, { enc: 'identity' })], want: { verdict: 'delivered' } });
}
{
  const h = { statusCode: 200, headers: { 'content-type': 'text/html' }, body: page.toString() };
  const gz = zlib.gzipSync(page);
  const m = { statusCode: 200, headers: { 'content-type': 'text/html', 'content-encoding': 'gzip' }, body: gz.toString('base64'), isBase64Encoded: true };
  kase('buffered-gzip-at-middleware', { about: 'a middleware gzips the page; it reports the decoded length', event: GET, wire: buffered(m),
    steps: [out('handler', h, { enc: 'identity' }), out('middleware:compression', m, { enc: 'gzip', decoded: page.length })],
    want: { verdict: 'delivered' } });
}
{
  const h = { statusCode: 200, headers: { 'content-type': 'text/html' }, body: page.toString() };
  const br = zlib.brotliCompressSync(page);
  const m = { statusCode: 200, headers: { 'content-type': 'text/html', 'Content-Encoding': 'br' }, body: br.toString('base64'), isBase64Encoded: true };
  kase('buffered-br-at-middleware', { about: 'a middleware compresses with br and says so, without a decoded length', event: GET, wire: buffered(m),
    steps: [out('handler', h, { enc: 'identity' }), out('middleware:compression', m, { enc: 'br' })],
    want: { verdict: 'delivered' } });
}
{
  const h = { statusCode: 200, headers: { 'content-type': 'text/html' }, body: page.toString() };
  const df = zlib.deflateSync(page);
  const m = { statusCode: 200, headers: { 'content-type': 'text/html', 'content-encoding': 'deflate' }, body: df.toString('base64'), isBase64Encoded: true };
  kase('buffered-deflate-unstated', { about: 'a middleware deflates; the lines predate enc: fewer bytes cannot be told from a loss', event: GET, wire: buffered(m),
    steps: [out('handler', h), out('middleware:compression', m)],
    want: { verdict: 'unknown', reason: 'did not say its content-encoding' } });
}
{
  const r = { statusCode: 200, headers: { 'content-type': 'text/html' }, body: page.toString() };
  kase('buffered-unstated-same-size', { about: 'lines without enc and no compression: sizes agree, nothing to doubt', event: GET, wire: buffered(r),
    steps: [out('handler', r), out('middleware:sentry', r)], want: { verdict: 'delivered' } });
}
{
  const v = { orderId: 'A-1001', status: 'accepted', lines: [1, 2, 3] };
  kase('direct-json', { about: 'direct invoke: the whole JSON result is the body', event: DIRECT, wire: buffered(v),
    steps: [out('handler', v), out('middleware:middy', v)], want: { verdict: 'delivered' } });
}
{
  const h = helperStream('function', { statusCode: 200, headers: { 'content-type': 'text/html', 'x-powered-by': 'Next.js' }, cookies: [] }, page, 1024);
  kase('stream-prelude-by-function', { about: 'OpenNext streaming wrapper: the function writes the prelude with responseStream.write, and the helper counts it with the body', event: GET,
    mode: 'streaming', contentType: PRELUDE_TYPE, wire: h.wire,
    steps: [{ stage: 'handler', phase: 'out', kind: 'stream', bytes: h.step.bytes, chunks: h.step.chunks }, h.step],
    want: { verdict: 'delivered' } });
}
{
  const h = helperStream('from', { statusCode: 200, headers: { 'content-type': 'text/html' } }, page, 2048);
  kase('stream-prelude-via-from', { about: 'awslambda.HttpResponseStream.from writes the prelude; the helper counts only body writes', event: GET,
    mode: 'streaming', contentType: PRELUDE_TYPE, wire: h.wire,
    steps: [{ stage: 'handler', phase: 'out', kind: 'stream', bytes: h.step.bytes, chunks: h.step.chunks, status: h.step.status }, h.step],
    want: { verdict: 'delivered' } });
}
{
  const h = helperStream('from', { statusCode: 200, headers: { 'content-type': 'application/octet-stream' } }, binary, 96);
  kase('stream-chunked', { about: 'a stream posted with Transfer-Encoding: chunked in 100-byte chunks: framing is not body', event: GET,
    mode: 'streaming', contentType: PRELUDE_TYPE, chunked: true, wire: chunked(h.wire, 100), steps: [h.step],
    want: { verdict: 'delivered' } });
}
{
  const br = zlib.brotliCompressSync(page);
  const h = helperStream('function', { statusCode: 200, headers: { 'content-type': 'text/html', 'content-encoding': 'br' } }, br, 32);
  kase('stream-br', { about: 'OpenNext streaming wrapper compressing with br: the prelude and the compressed bytes go through write', event: GET,
    mode: 'streaming', contentType: PRELUDE_TYPE, chunked: true, wire: chunked(h.wire, 512), steps: [h.step],
    want: { verdict: 'delivered' } });
}
{
  const h = helperStream('function', { statusCode: 304, headers: { etag: '"W/\\"1a2b-3c\\""', 'cache-control': 's-maxage=31536000' } }, Buffer.alloc(0), 1);
  kase('stream-304-prelude-by-function', { about: 'OpenNext streaming wrapper answers If-None-Match with 304: prelude only, counted by the helper', event: INM,
    mode: 'streaming', contentType: PRELUDE_TYPE, wire: h.wire,
    steps: [{ stage: 'handler', phase: 'out', kind: 'stream', bytes: h.step.bytes, chunks: h.step.chunks }, h.step],
    want: { verdict: 'empty-by-design', reason: '304' } });
}
{
  const h = helperStream('from', { statusCode: 304, headers: { etag: '"abc"' } }, Buffer.alloc(0), 1);
  kase('stream-304-via-from', { about: '304 through HttpResponseStream.from: one empty write sends the prelude (aws-lambda-ric sends it on the first write only)', event: INM,
    mode: 'streaming', contentType: PRELUDE_TYPE, wire: h.wire, steps: [h.step],
    want: { verdict: 'empty-by-design', reason: '304' } });
}
{
  const r = { statusCode: 304, headers: { etag: '"abc"' }, body: '' };
  kase('buffered-304', { about: 'buffered 304 for If-None-Match', event: INM, wire: buffered(r),
    steps: [out('handler', r, { enc: 'identity' })], want: { verdict: 'empty-by-design', reason: '304' } });
}
{
  const h = { statusCode: 200, headers: { etag: '"abc"' }, body: json };
  const m = { statusCode: 304, headers: { etag: '"abc"' } };
  kase('buffered-304-by-middleware', { about: 'an etag middleware turns the 200 into a 304 for If-None-Match', event: INM, wire: buffered(m),
    steps: [out('handler', h, { enc: 'identity' }), out('middleware:etag', m, { enc: 'identity' })],
    want: { verdict: 'empty-by-design', reason: '304' } });
}
{
  const r = { statusCode: 200, headers: { 'content-type': 'text/html', 'content-length': String(page.length) }, body: '' };
  kase('buffered-head', { about: 'HEAD answered with headers only', event: HEAD, wire: buffered(r),
    steps: [out('handler', r, { enc: 'identity' })], want: { verdict: 'empty-by-design', reason: 'HEAD' } });
}
{
  const h = helperStream('from', { statusCode: 200, headers: { 'content-type': 'text/html' } }, Buffer.alloc(0), 1);
  kase('stream-head', { about: 'HEAD on a streaming function: prelude, no body', event: HEAD,
    mode: 'streaming', contentType: PRELUDE_TYPE, wire: h.wire, steps: [h.step],
    want: { verdict: 'empty-by-design', reason: 'HEAD' } });
}
{
  const r = { statusCode: 204 };
  kase('buffered-204', { about: '204 No Content', event: GET, wire: buffered(r),
    steps: [out('handler', r, { enc: 'identity' })], want: { verdict: 'empty-by-design', reason: '204' } });
}
{
  const h = helperStream('function', { statusCode: 204, headers: {} }, Buffer.alloc(0), 1);
  kase('stream-204', { about: '204 on a stream, prelude written by the function', event: GET, mode: 'streaming', contentType: PRELUDE_TYPE, wire: h.wire,
    steps: [h.step], want: { verdict: 'empty-by-design', reason: '204' } });
}

// ---- short bodies: lost at the stage, or unknown when it cannot be told ----
{
  const h = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: json };
  const m = { ...h, body: json.slice(0, 1000) };
  kase('short-middleware', { about: 'a middleware passes on the first 1000 bytes of the body', event: GET, wire: buffered(m),
    steps: [out('handler', h, { enc: 'identity' }), out('middleware:mangle', m, { enc: 'identity' })],
    want: { verdict: 'lost:middleware:mangle', reason: 'short: 1000 of ' + Buffer.byteLength(json) + ' bytes' } });
}
{
  const h = { statusCode: 200, headers: { 'content-type': 'text/html' }, body: page.toString() };
  const cut = zlib.gzipSync(page.subarray(0, 2000));
  const m = { statusCode: 200, headers: { 'content-type': 'text/html', 'content-encoding': 'gzip' }, body: cut.toString('base64'), isBase64Encoded: true };
  kase('short-gzip-middleware', { about: 'a compression middleware that compressed only part of the page (decoded length says so)', event: GET, wire: buffered(m),
    steps: [out('handler', h, { enc: 'identity' }), out('middleware:compression', m, { enc: 'gzip', decoded: 2000 })],
    want: { verdict: 'lost:middleware:compression', reason: 'short: 2000 of ' + page.length + ' bytes' } });
}
{
  const v = { orderId: 'A-1001', status: 'accepted', lines: [1, 2, 3], audit: 'x'.repeat(300) };
  const cut = { orderId: 'A-1001' };
  kase('short-direct', { about: 'a wrapper around a direct-invoke handler returns a truncated value', event: DIRECT, wire: buffered(cut),
    steps: [out('handler', v), out('middleware:wrapper', cut)],
    want: { verdict: 'lost:middleware:wrapper', reason: 'short: ' + JSON.stringify(cut).length + ' of ' + JSON.stringify(v).length } });
}
{
  const snap = { statusCode: 200, headers: {}, body: page.toString() };
  const h = { statusCode: 200, headers: {}, body: page.toString().slice(0, 700) };
  kase('short-handler-after-adapter', { about: "the adapter's snapshot held the page, the handler returned 700 bytes of it", event: GET, wire: buffered(h),
    steps: [out('adapter', snap, { enc: 'identity' }), out('handler', h, { enc: 'identity' })],
    want: { verdict: 'lost:handler', reason: 'short: 700 of ' + page.length } });
}
{
  const h = helperStream('from', { statusCode: 200, headers: { 'content-type': 'text/html' } }, page, 1000);
  const p = h.wire.length - page.length;
  kase('short-stream', { about: 'the function wrote the page through HttpResponseStream.from; 1024 body bytes reached Lambda', event: GET,
    mode: 'streaming', contentType: PRELUDE_TYPE, chunked: true, wire: chunked(h.wire.subarray(0, p + 1024), 256), steps: [h.step],
    want: { verdict: 'lost:streaming', reason: 'short: 1024 of ' + page.length + ' bytes' } });
}
{
  const h = helperStream('function', { statusCode: 200, headers: { 'content-type': 'text/html' } }, page, 1000);
  const p = h.wire.length - page.length;
  kase('short-stream-prelude-by-function', { about: 'the function wrote prelude and page itself (counted together); 1024 body bytes reached Lambda', event: GET,
    mode: 'streaming', contentType: PRELUDE_TYPE, wire: h.wire.subarray(0, p + 1024), steps: [h.step],
    want: { verdict: 'lost:streaming', reason: 'short: 1024 of ' } });
}
{
  const h = { statusCode: 200, headers: {}, body: page.toString() };
  const sent = { statusCode: 200, headers: {}, body: page.toString().slice(0, 1500) };
  kase('short-response', { about: 'the handler returned the page, the runtime sent 1500 bytes of it: nothing reported in between', event: GET, wire: buffered(sent),
    steps: [out('handler', h, { enc: 'identity' })],
    want: { verdict: 'unknown', reason: 'short: 1500 of ' + page.length } });
}

// ---- blame by name: a wrapper dropped the streaming marker ----
const dropped = 'a streaming handler (awslambda.streamifyResponse) was called as a buffered one, with the context in place of the response stream: a wrapper around it dropped the streaming marker';
const trace = (frames) => JSON.stringify({
  errorType: 'TypeError', errorMessage: 'responseStream.setContentType is not a function',
  trace: ['TypeError: responseStream.setContentType is not a function', ...frames],
});
{
  kase('blame-note-stack', { about: 'the helper puts the stack of the error in the note; a wrapper package is on it', event: GET, route: 'error',
    wire: Buffer.from(trace(['    at Object.from (file:///var/task/index.mjs:12:9)'])),
    steps: [{ stage: 'stream', phase: 'error', kind: 'stream', bytes: 0, who: 'unknown', note: dropped },
      { stage: 'handler', phase: 'error', bytes: 0, note: 'threw TypeError: responseStream.setContentType is not a function\n    at handler (file:///var/task/index.mjs:12:9)\n    at wrapped (/var/task/node_modules/@acme/lambda-wrapper/dist/index.js:41:18)' }],
    want: { verdict: 'lost:middleware:@acme/lambda-wrapper', reason: 'streaming marker' } });
}
{
  kase('blame-error-trace', { about: 'no package in the steps; the /error document\'s trace runs through middy', event: GET, route: 'error',
    wire: Buffer.from(trace(['    at handler (file:///var/task/index.mjs:12:9)', '    at runMiddlewares (/var/task/node_modules/@middy/core/index.js:160:23)',
      '    at Runtime.handleOnceNonStreaming (file:///var/runtime/node_modules/aws-lambda-ric/index.mjs:1170:25)'])),
    steps: [{ stage: 'stream', phase: 'error', kind: 'stream', bytes: 0, who: 'unknown', note: dropped }],
    want: { verdict: 'lost:middleware:middy', reason: 'middy' } });
}
{
  kase('blame-not-the-runtime', { about: 'the only package on the stack is the runtime client: nobody to name', event: GET, route: 'error',
    wire: Buffer.from(trace(['    at handler (file:///var/task/index.mjs:12:9)', '    at Runtime.handleOnceNonStreaming (file:///opt/ric/node_modules/aws-lambda-ric/index.mjs:1170:25)'])),
    steps: [{ stage: 'stream', phase: 'error', kind: 'stream', bytes: 0, who: 'unknown', note: dropped }],
    want: { verdict: 'lost:platform' } });
}
{
  kase('blame-who', { about: 'the helper names the known wrapper (Sentry) itself', event: GET, route: 'error',
    wire: Buffer.from(trace(['    at handler (file:///var/task/index.mjs:12:9)'])),
    steps: [{ stage: 'stream', phase: 'error', kind: 'stream', bytes: 0, who: '@sentry/aws-serverless', note: dropped }],
    want: { verdict: 'lost:middleware:sentry', reason: 'streaming marker' } });
}
// ---- corrupt bodies (examples/corpus): whole in length, lost to the caller ----
// Each bug is the mechanism its adapter runs, on Node's own Buffer: binary bytes read as a
// UTF-8 string (every invalid byte becomes U+FFFD) and sent without isBase64Encoded, a body
// base64-encoded twice, chunked framing passed on; each twin is the fixed shape.
for (const name of ['alb', 'apigw-v1']) {
  fs.copyFileSync(path.join(here, '../../../../examples/events', name + '.json'), path.join(here, 'events', name + '.json'));
}
const ALB = 'events/alb.json';
const APIGW1 = 'events/apigw-v1.json';
const asText = (buf) => buf.toString('utf8'); // what the bugs do to binary bytes
{
  const gz = zlib.gzipSync(page);
  const hdr = { 'content-type': ['text/html; charset=utf-8'], 'content-encoding': ['gzip'], vary: ['Accept-Encoding'] };
  const bug = { statusCode: 200, multiValueHeaders: hdr, body: asText(gz), isBase64Encoded: false };
  kase('vendia-gzip-353', { about: '@vendia/serverless-express 4.0.0-rc.8 + compression: the gzip bytes read as UTF-8, isBase64Encoded false (CodeGenieApp/serverless-express#353)', event: GET, wire: buffered(bug),
    steps: [out('handler', bug)], want: { verdict: 'lost:handler', reason: 'content-encoding gzip but the body is not gzip: binary sent without isBase64Encoded' } });
  const twin = { statusCode: 200, multiValueHeaders: hdr, body: gz.toString('base64'), isBase64Encoded: true };
  kase('vendia-gzip-353-twin', { about: '@vendia/serverless-express 4.1.0: the gzip bytes base64-encoded', event: GET, wire: buffered(twin),
    steps: [out('handler', twin)], want: { verdict: 'delivered' } });
}
{
  const gz = zlib.gzipSync(page);
  const hdr = { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip', connection: 'keep-alive' };
  kase('ase-gzip-73', { about: 'aws-serverless-express 3.4.0 + compression, text/html not in binaryMimeTypes (CodeGenieApp/serverless-express#73)', event: APIGW1,
    wire: buffered({ statusCode: 200, headers: hdr, body: asText(gz), isBase64Encoded: false }),
    want: { verdict: 'lost:handler', reason: 'content-encoding gzip but the body is not gzip' } });
  kase('gzip-base64-text', { about: 'gzip base64 text without isBase64Encoded: broken unless API Gateway converts it, so doubt, not loss', event: APIGW1,
    wire: buffered({ statusCode: 200, headers: hdr, body: gz.toString('base64'), isBase64Encoded: false }),
    want: { verdict: 'unknown', reason: 'CONVERT_TO_BINARY' } });
  kase('ase-gzip-73-twin', { about: 'aws-serverless-express with text/html in binaryMimeTypes', event: APIGW1,
    wire: buffered({ statusCode: 200, headers: hdr, body: gz.toString('base64'), isBase64Encoded: true }), want: { verdict: 'delivered' } });
}
{
  const gz = zlib.gzipSync(Buffer.from(json));
  const hdr = { 'content-encoding': 'gzip', 'content-type': 'application/json; charset=UTF-8' };
  kase('hono-gzip-1294', { about: 'hono 3.3.4 hono/aws-lambda + hono/compress: the gzip stream decoded with TextDecoder (honojs/hono#1294)', event: GET,
    wire: buffered({ statusCode: 200, headers: hdr, body: new TextDecoder().decode(gz), isBase64Encoded: false }),
    want: { verdict: 'lost:handler', reason: 'binary sent without isBase64Encoded' } });
  kase('hono-gzip-1294-twin', { about: 'hono 3.4.0: compressed bodies base64-encoded', event: GET,
    wire: buffered({ statusCode: 200, headers: hdr, body: gz.toString('base64'), isBase64Encoded: true }), want: { verdict: 'delivered' } });
}
{
  const hdr = { 'content-type': 'image/png', 'content-length': String(png.length), 'accept-ranges': 'bytes' };
  const bug = { statusCode: 200, headers: hdr, body: asText(png), isBase64Encoded: false };
  kase('shttp-png-122', { about: 'serverless-http 3.2.0 + express.static, no binary option: the PNG read as UTF-8 (dougmoscrop/serverless-http#122)', event: GET, wire: buffered(bug),
    steps: [out('handler', bug)], want: { verdict: 'lost:handler', reason: 'content-length ' + png.length + ' but the body has ' + Buffer.byteLength(bug.body) + ' bytes: binary sent without isBase64Encoded' } });
  const twin = { statusCode: 200, headers: hdr, body: png.toString('base64'), isBase64Encoded: true };
  kase('shttp-png-122-twin', { about: "serverless-http with binary: ['image/*']", event: GET, wire: buffered(twin),
    steps: [out('handler', twin)], want: { verdict: 'delivered' } });
}
{
  const hdr = { 'content-type': 'application/octet-stream', 'content-length': String(binary.length) };
  kase('vendia-octet-645', { about: '@vendia/serverless-express 4.10.1, application/octet-stream not in binarySettings: the bytes read as UTF-8 (CodeGenieApp/serverless-express#645)', event: GET,
    wire: buffered({ statusCode: 200, headers: hdr, body: asText(binary), isBase64Encoded: false }),
    want: { verdict: 'lost:handler', reason: 'binary sent without isBase64Encoded' } });
  kase('vendia-octet-645-twin', { about: 'binarySettings.contentTypes lists application/octet-stream', event: GET,
    wire: buffered({ statusCode: 200, headers: hdr, body: binary.toString('base64'), isBase64Encoded: true }), want: { verdict: 'delivered' } });
  kase('octet-no-length', { about: 'binary read as UTF-8 with no content-length: the replacement characters in an octet-stream body say so', event: GET,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body: asText(binary) }),
    want: { verdict: 'lost:handler', reason: 'binary sent without isBase64Encoded' } });
}
{
  const b64 = png.toString('base64');
  kase('shttp-koa-base64-163', { about: 'serverless-http 3.2.0 + Koa, ctx.body a base64 string: base64-encoded again (dougmoscrop/serverless-http#163)', event: GET,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'image/png', 'content-length': String(b64.length) }, body: Buffer.from(b64).toString('base64'), isBase64Encoded: true }),
    want: { verdict: 'lost:handler', reason: 'base64-encoded twice' } });
  kase('shttp-koa-base64-163-twin', { about: 'Koa with a Buffer body', event: GET,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'image/png', 'content-length': String(png.length) }, body: b64, isBase64Encoded: true }),
    want: { verdict: 'delivered' } });
  kase('png-base64-text', { about: 'base64 text of a PNG without isBase64Encoded: broken unless API Gateway converts it, so doubt, not loss', event: APIGW1,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'image/png' }, body: b64, isBase64Encoded: false }),
    want: { verdict: 'unknown', reason: 'CONVERT_TO_BINARY' } });
  kase('png-gzip', { about: 'a PNG served gzip-compressed: the signature is inside the gzip, nothing to check', event: GET,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'image/png', 'content-encoding': 'gzip' }, body: zlib.gzipSync(png).toString('base64'), isBase64Encoded: true }),
    want: { verdict: 'delivered' } });
  kase('png-partial', { about: 'a 206 range of a PNG starts mid-file', event: GET,
    wire: buffered({ statusCode: 206, headers: { 'content-type': 'image/png', 'content-range': 'bytes 10-40/' + png.length, 'content-length': '31' }, body: png.subarray(10, 41).toString('base64'), isBase64Encoded: true }),
    want: { verdict: 'delivered' } });
}
{
  const parts = ['INITIAL PAYLOAD RESPONSE\n', 'FINAL PAYLOAD RESPONSE\n'];
  const framed = parts.map((p) => Buffer.byteLength(p).toString(16) + '\r\n' + p + '\r\n').join('') + '0\r\n\r\n';
  kase('h4ad-chunked-165', { about: '@h4ad/serverless-adapter 4.0.1 behind an ALB: Express wrote Transfer-Encoding: chunked and the framing became body (H4ad/serverless-adapter#165)', event: ALB,
    wire: buffered({ statusCode: 200, statusDescription: '200 OK', headers: { 'x-powered-by': 'Express', 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }, body: framed, isBase64Encoded: false }),
    want: { verdict: 'lost:handler', reason: 'chunk framing' } });
  kase('h4ad-chunked-165-twin', { about: '@h4ad/serverless-adapter 4.2.0 strips the framing', event: ALB,
    wire: buffered({ statusCode: 200, statusDescription: '200 OK', headers: { 'x-powered-by': 'Express', 'content-type': 'text/plain' }, body: parts.join(''), isBase64Encoded: false }),
    want: { verdict: 'delivered' } });
  kase('chunked-header-plain-body', { about: 'a transfer-encoding: chunked header left on a plain body that happens to start with hex and CRLF: no framing at the end, nothing said', event: ALB,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }, body: 'cafe\r\nmenu of the day\n', isBase64Encoded: false }),
    want: { verdict: 'delivered' } });
}
{
  const text = 'Grüße, 世界 — ' + 'naïve café '.repeat(20);
  kase('content-length-characters', { about: 'a content-length that counts characters, not bytes: the gateway sends its own, so it is doubt, not loss', event: GET,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(text.length) }, body: text }),
    want: { verdict: 'unknown', reason: 'content-length ' + text.length + ' but the body has ' + Buffer.byteLength(text) + ' bytes' } });
  kase('content-length-utf8', { about: 'a UTF-8 text body whose content-length counts its bytes', event: GET,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) }, body: text }),
    want: { verdict: 'delivered' } });
  kase('content-length-short', { about: 'the body is shorter than its content-length says', event: GET,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'application/json', 'content-length': String(json.length) }, body: json.slice(0, 900) }),
    want: { verdict: 'lost:handler', reason: 'short: 900 of ' + json.length + ' bytes' } });
  kase('text-with-replacement', { about: 'a text body that holds U+FFFD itself: text may, so nothing is said', event: GET,
    wire: buffered({ statusCode: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'bad input \uFFFD was replaced' }),
    want: { verdict: 'delivered' } });
}

// ---- redirects: empty by design with a Location, buffered or streamed ----
{
  const h = helperStream('none', {}, Buffer.alloc(0), 1);
  kase('hono-stream-redirect-2401', { about: 'hono 4.1.3 streamHandle: a redirect has no body, so no prelude and no bytes reach Lambda (honojs/hono#2401)', event: GET,
    mode: 'streaming', contentType: 'application/octet-stream', wire: h.wire, steps: [h.step],
    want: { verdict: 'lost:streaming', reason: 'no body bytes' } });
  const t = helperStream('from', { statusCode: 302, headers: { location: '/login' } }, Buffer.alloc(0), 1);
  kase('hono-stream-redirect-2401-twin', { about: 'hono 4.1.5 writes the prelude of the 302 with its Location and no body', event: GET,
    mode: 'streaming', contentType: PRELUDE_TYPE, wire: t.wire, steps: [t.step],
    want: { verdict: 'empty-by-design', reason: '302 redirect to /login' } });
}
{
  const r = { statusCode: 301, headers: { Location: 'https://example.com/new' }, body: '' };
  kase('buffered-redirect', { about: 'a buffered 301 with a Location and an empty body', event: GET, wire: buffered(r),
    steps: [out('handler', r, { enc: 'identity' })], want: { verdict: 'empty-by-design', reason: '301 redirect' } });
  const n = { statusCode: 302, headers: {}, body: '' };
  kase('buffered-redirect-no-location', { about: 'a 302 without a Location and with an empty body sends the client nowhere', event: GET, wire: buffered(n),
    steps: [out('handler', n, { enc: 'identity' })], want: { verdict: 'lost:handler', reason: 'no Location' } });
  const h = { statusCode: 200, headers: { 'content-type': 'text/html' }, body: page.toString() };
  const m = { statusCode: 303, multiValueHeaders: { location: ['/sign-in'] } };
  kase('redirect-by-middleware', { about: 'an auth middleware answers with a 303 to the sign-in page in place of the page', event: GET, wire: buffered(m),
    steps: [out('handler', h, { enc: 'identity' }), out('middleware:auth', m, { enc: 'identity' })],
    want: { verdict: 'empty-by-design', reason: '303 redirect to /sign-in' } });
}

// ---- errors posted by aws-lambda-ric 4 (no error-type header): the type from the document,
// the outermost known wrapper on its stack named ----
const ric4 = (type, message, frames) => Buffer.from(JSON.stringify({ errorType: type, errorMessage: message, stack: [type + ': ' + message, ...frames] }));
{
  kase('error-type-from-body', { about: "aws-lambda-ric 4 posts the error without Lambda-Runtime-Function-Error-Type: the document's errorType names it", event: GET, route: 'error', errorHeader: '',
    wire: ric4('TypeError', "Cannot read properties of undefined (reading 'id')", ['    at handler (file:///var/task/index.mjs:7:31)', '    at lodashish (/var/task/node_modules/p-retry/index.js:20:9)']),
    want: { verdict: 'lost:platform', reason: 'the function returned an error (TypeError)' } });
  kase('sentry-streaming-12815', { about: '@sentry/aws-serverless 8.27.0 wrapHandler on a streaming ES module handler under aws-lambda-ric 4 (getsentry/sentry-javascript#12815): no steps, the stack names Sentry', event: GET, route: 'error', errorHeader: '',
    wire: ric4('TypeError', 'responseStream.write is not a function', [
      '    at file:///var/task/index.mjs:12:20',
      '    at file:///var/task/node_modules/@sentry/aws-serverless/build/npm/esm/sdk.js:208:34',
      '    at new Promise (<anonymous>)',
      '    at asyncHandler (file:///var/task/node_modules/@sentry/aws-serverless/build/npm/esm/sdk.js:207:11)',
      '    at file:///var/task/node_modules/@sentry/opentelemetry/build/esm/index.js:952:15',
      '    at handleCallbackErrors (file:///var/task/node_modules/@sentry/core/build/esm/utils/handleCallbackErrors.js:24:26)',
      '    at AsyncLocalStorage.run (node:internal/async_local_storage/async_context_frame:65:14)']),
    want: { verdict: 'lost:middleware:sentry', reason: 'dropped the streaming marker' } });
  kase('datadog-streaming-376', { about: 'datadog-lambda-js 6.87.0 datadog() on a streaming handler under aws-lambda-ric 4 (DataDog/datadog-lambda-js#376)', event: GET, route: 'error', errorHeader: '',
    wire: ric4('TypeError', 'responseStream.setContentType is not a function', [
      '    at /var/task/index.js:11:20',
      '    at /var/task/node_modules/datadog-lambda-js/dist/utils/handler.js:156:25',
      '    at /var/task/node_modules/datadog-lambda-js/dist/index.js:187:62',
      '    at step (/var/task/node_modules/datadog-lambda-js/dist/index.js:44:23)',
      '    at new Promise (<anonymous>)']),
    want: { verdict: 'lost:middleware:datadog', reason: 'TypeError: responseStream.setContentType is not a function' } });
  kase('wrappers-nested', { about: 'datadog() around Sentry.wrapHandler: the outermost wrapper is the one the runtime called', event: GET, route: 'error', errorHeader: '',
    wire: ric4('TypeError', 'responseStream.write is not a function', [
      '    at file:///var/task/index.mjs:12:20',
      '    at file:///var/task/node_modules/@sentry/aws-serverless/build/npm/esm/sdk.js:208:34',
      '    at /var/task/node_modules/@sentry/core/build/cjs/x.js:1:1',
      '    at /var/task/node_modules/datadog-lambda-js/dist/index.js:187:62',
      '    at Runtime.handleOnceNonStreaming (file:///var/runtime/node_modules/aws-lambda-ric/index.mjs:1170:25)']),
    want: { verdict: 'lost:middleware:datadog', reason: 'outermost wrapper' } });
  for (const [name, about] of [['sentry-streaming-12815-twin', '@sentry/aws-serverless 10.11.0 keeps streaming handlers streaming'], ['datadog-streaming-376-twin', 'datadog-lambda-js 6.89.0 keeps the marker']]) {
    const h = helperStream('from', { statusCode: 200, headers: { 'content-type': 'text/plain' } }, Buffer.from('hello'), 5);
    kase(name, { about, event: GET, mode: 'streaming', contentType: PRELUDE_TYPE, wire: h.wire, steps: [h.step], want: { verdict: 'delivered' } });
  }
}
console.log('wrote', written, 'cases');
