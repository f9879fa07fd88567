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
function run(files, handler, script, env = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodytrace-node-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  fs.writeFileSync(path.join(dir, 'main.cjs'), script);
  const r = spawnSync(process.execPath, ['--require', HELPER, path.join(dir, 'main.cjs')], {
    cwd: dir, env: { PATH: process.env.PATH, _HANDLER: handler, ...env }, encoding: 'utf8', timeout: 20000,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  const lines = r.stdout.split('\n');
  const steps = lines.filter((l) => l.startsWith('@bodytrace/step ')).map((l) => JSON.parse(l.slice(16)));
  const other = lines.filter((l) => l && !l.startsWith('@bodytrace/step '));
  return { steps, other, stderr: r.stderr, status: r.status, raw: r.stdout };
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

module.exports = { run, RIC, HELPER };
