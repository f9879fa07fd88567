'use strict';
// Test helpers: load the helper in a child process with a handler module and collect the
// step lines it prints, so each case sees a fresh process like a Lambda sandbox.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const HELPER = path.join(__dirname, '..', 'bodytrace.cjs');

// run writes files into a temp task dir, loads handler the way aws-lambda-ric does
// (globalThis.awslambda set first, then require of the absolute path), runs script, and
// returns the parsed step lines and the other output.
// opts.main names the script's file (default main.cjs); opts.helper false runs without the
// helper (the baseline a result must equal).
function run(files, handler, script, env = {}, opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodytrace-node-'));
  const main = opts.main || 'main.cjs';
  for (const [name, text] of Object.entries({ ...files, [main]: script })) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const preload = opts.helper === false ? [] : ['--require', HELPER];
  const r = spawnSync(process.execPath, [...preload, path.join(dir, main)], {
    cwd: dir, env: { PATH: process.env.PATH, _HANDLER: handler, ...env }, encoding: 'utf8', timeout: 20000,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  const lines = r.stdout.split('\n');
  const steps = lines.filter((l) => l.startsWith('@bodytrace/step ')).map((l) => JSON.parse(l.slice(16)));
  const other = lines.filter((l) => l && !l.startsWith('@bodytrace/step '));
  return { steps, other, stderr: r.stderr, status: r.status, raw: r.stdout, dir };
}

// RIC emulates what aws-lambda-ric 3.3.0 does (dist/index.mjs: UserFunction.js,
// HttpResponseStream.js, ResponseStream.js writableStreamOnly): the awslambda global with
// the streaming marker, then require of the handler and the call the runtime makes.
const RIC = `
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType('application/vnd.awslambda.http-integration-response');
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => { write(metadataPrelude); write(new Uint8Array(8)); };
    return underlyingStream;
  }
}
globalThis.awslambda = {
  streamifyResponse: (handler, options) => {
    handler[HANDLER_STREAMING] = 'response';
    if (typeof options?.highWaterMark === 'number') handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark);
    return handler;
  },
  HttpResponseStream,
};
const { PassThrough } = require('node:stream');
function responseStream() {
  const inner = new PassThrough();
  const wire = [];
  inner.on('data', (c) => wire.push(Buffer.from(c)));
  let ready = true;
  const origWrite = inner.write.bind(inner);
  inner.setContentType = () => {};
  inner.write = function (chunk, enc, cb) {
    if (ready && typeof this._onBeforeFirstWrite === 'function') this._onBeforeFirstWrite((ch) => origWrite(ch));
    ready = false;
    return origWrite(chunk, enc, cb);
  };
  const fns = ['cork', 'destroy', 'end', 'uncork', 'write', 'on', 'once', 'emit', 'removeListener', 'setContentType'];
  const s = Object.fromEntries(fns.map((f) => [f, inner[f].bind(inner)]));
  Object.defineProperty(s, '_onBeforeFirstWrite', { get: () => inner._onBeforeFirstWrite, set: (v) => { inner._onBeforeFirstWrite = v; } });
  Object.defineProperty(s, 'writableFinished', { get: () => inner.writableFinished });
  return { stream: s, wire };
}
function loadHandler() {
  const [mod, prop] = process.env._HANDLER.split('.');
  return require(require('node:path').resolve(process.cwd(), mod) + '.js')[prop];
}
const ctx = (id) => ({ awsRequestId: id, functionName: 'f', getRemainingTimeInMillis: () => 3000 });
`;

// RIC4 emulates what aws-lambda-ric 4.0.2 does (index.mjs: @aws/lambda-invoke-store's
// `globalThis.awslambda ||= {}`, then setupGlobals replacing awslambda with a copy holding
// streamifyResponse; UserFunctionLoader importing the handler with import(), trying "",
// .js, .mjs, .cjs; the buffered processor awaiting handler(event, context); the streaming
// one calling handler(event, responseStream, context); formatError for error bodies and
// trailers). The script runs as node_modules/aws-lambda-ric/index.mjs, so the runtime
// client is the handler's importer as on Lambda. It defines invoke(event, id) (buffered)
// and invokeStream(event, id), each printing "result <what the runtime would post>".
const RIC4 = `
globalThis.awslambda = globalThis.awslambda || {};
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType('application/vnd.awslambda.http-integration-response');
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => { write(metadataPrelude); write(new Uint8Array(8)); };
    return underlyingStream;
  }
}
globalThis.awslambda = {
  ...globalThis.awslambda,
  streamifyResponse: (handler) => { handler[HANDLER_STREAMING] = 'response'; return handler; },
  HttpResponseStream,
};
const { existsSync } = await import('node:fs');
const path = await import('node:path');
const { PassThrough } = await import('node:stream');
const [modName, handlerName] = process.env._HANDLER.split('.');
const base = path.resolve(process.cwd(), modName);
let ns;
for (const ext of ['', '.js', '.mjs', '.cjs']) if (existsSync(base + ext)) { ns = await import(base + ext); break; }
const handler = ns[handlerName] ?? (ns.default && ns.default[handlerName]);
const streaming = handler[HANDLER_STREAMING] === 'response';
// The runtime calls the handler as a method (this.handler(...)): stacks read "fn [as handler]".
class BufferedInvokeProcessor { constructor(h) { this.handler = h; } }
const processor = new BufferedInvokeProcessor(handler);
const ctx = (id) => ({ awsRequestId: id, functionName: 'f', getRemainingTimeInMillis: () => 3000 });
const formatError = (err) => ({ errorType: err && err.name, errorMessage: err && err.message, trace: err && typeof err.stack === 'string' ? err.stack.split('\\n') : [] });
function responseStream() {
  const inner = new PassThrough();
  const wire = [];
  inner.on('data', (c) => wire.push(Buffer.from(c)));
  let ready = true;
  const origWrite = inner.write.bind(inner);
  inner.setContentType = () => { if (!ready) throw new Error('Cannot set content-type, too late.'); };
  inner.write = (chunk, enc, cb) => {
    const data = typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && !(chunk instanceof Uint8Array) ? JSON.stringify(chunk) : chunk;
    if (ready && typeof inner._onBeforeFirstWrite === 'function') inner._onBeforeFirstWrite((ch) => origWrite(ch));
    ready = false;
    return origWrite(data, enc, cb);
  };
  const s = {};
  for (const f of ['cork', 'destroy', 'end', 'uncork', 'write', 'on', 'once', 'emit', 'removeListener', 'setContentType']) s[f] = inner[f].bind(inner);
  Object.defineProperty(s, '_onBeforeFirstWrite', { get: () => inner._onBeforeFirstWrite, set: (v) => { inner._onBeforeFirstWrite = v; } });
  Object.defineProperty(s, 'writableFinished', { get: () => inner.writableFinished });
  return { stream: s, wire };
}
globalThis.invoke = async (event, id) => {
  try {
    const result = await processor.handler(event, ctx(id));
    console.log('result', JSON.stringify(result));
  } catch (err) {
    globalThis.caught = err;
    console.log('error', JSON.stringify(formatError(err)));
  }
};
globalThis.invokeStream = async (event, id) => {
  const { stream, wire } = responseStream();
  try {
    const r = processor.handler(event, stream, ctx(id));
    if (!r || typeof r.then !== 'function') throw new Error('Streaming does not support non-async handlers.');
    await r;
    console.log('result', JSON.stringify(Buffer.concat(wire).toString('latin1')));
  } catch (err) {
    globalThis.caught = err;
    console.log('trailer', JSON.stringify(formatError(err)), JSON.stringify(Buffer.concat(wire).toString('latin1')));
  }
};
`;

// run4 runs script after RIC4 as the runtime client would, with the helper preloaded (or
// not: opts.helper false).
function run4(files, handler, script, env = {}, opts = {}) {
  return run(files, handler, RIC4 + script, env, { ...opts, main: 'node_modules/aws-lambda-ric/index.mjs' });
}

// results are the lines the runtime would post (result, error, trailer) of a run.
// The task folder differs between runs: it reads <task>.
function results(r) {
  return r.other.filter((l) => /^(result|error|trailer) /.test(l)).map((l) => l.split(r.dir).join('<task>'));
}

module.exports = { run, run4, results, RIC, RIC4, HELPER };
