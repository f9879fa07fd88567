'use strict';
// The helper under a runtime client that behaves as aws-lambda-ric 4.0.2 does (helpers.cjs
// RIC4): ES module handlers, streams whose prelude the function writes itself, and results
// that must reach the runtime exactly as they do without the helper.
const test = require('node:test');
const assert = require('node:assert');
const { run4, results } = require('./helpers.cjs');

// Module hooks in the thread: Node 22.15+ and 24 (Lambda's nodejs22.x and nodejs24.x).
const HOOKS = typeof require('node:module').registerHooks === 'function';

// same runs a case with and without the helper and checks the runtime would post the same.
function same(files, handler, script) {
  const withHelper = run4(files, handler, script);
  const without = run4(files, handler, script, {}, { helper: false });
  assert.strictEqual(withHelper.status, 0, withHelper.stderr);
  assert.ok(results(without).length > 0, without.raw + without.stderr);
  assert.deepStrictEqual(results(withHelper), results(without));
  return withHelper;
}

const strip = (steps) => steps.map(({ v, seq, ...rest }) => rest);

test('ES module buffered handler: its result is reported', () => {
  const r = same({ 'index.mjs': 'export const handler = async () => ({ statusCode: 200, body: "x".repeat(1024) });' },
    'index.handler', 'await invoke({}, "e1");');
  if (!HOOKS) return assert.deepStrictEqual(r.steps, []); // Node 20: the ES module is left alone
  assert.deepStrictEqual(strip(r.steps), [{ rid: 'e1', stage: 'handler', phase: 'out', bytes: 1024, kind: 'http', status: 200 }]);
});

test('ES module handler in a "type": "module" package, other exports and default kept', () => {
  const r = same({
    'package.json': '{"type":"module"}',
    'index.js': 'export const handler = async () => ({ statusCode: 201, body: "ok" }); export const other = 7; export default { d: 1 };',
  }, 'index.handler', `await invoke({}, "e2"); const m = await import(process.cwd() + '/index.js'); console.log('result', m.other, JSON.stringify(m.default));`);
  if (HOOKS) assert.deepStrictEqual(strip(r.steps), [{ rid: 'e2', stage: 'handler', phase: 'out', bytes: 2, kind: 'http', status: 201 }]);
});

test('ES module handler imported by the function itself is the original, evaluated once', () => {
  const r = same({
    'index.mjs': 'globalThis.evals = (globalThis.evals || 0) + 1; export async function handler() { return "x"; }',
  }, 'index.handler', `const m = await import(process.cwd() + '/index.mjs'); await invoke({}, "e3"); console.log('result', globalThis.evals, m.handler.name);`);
  if (HOOKS) assert.deepStrictEqual(strip(r.steps), [{ rid: 'e3', stage: 'handler', phase: 'out', bytes: 3, kind: 'json' }]);
});

test('ES module default export handler (index.default)', () => {
  const r = same({ 'index.mjs': 'export default async () => ({ statusCode: 200, body: "abc" });' }, 'index.default', 'await invoke({}, "e4");');
  if (HOOKS) assert.deepStrictEqual(strip(r.steps), [{ rid: 'e4', stage: 'handler', phase: 'out', bytes: 3, kind: 'http', status: 200 }]);
});

test('CommonJS handler imported by the runtime client: result reported', () => {
  const r = same({ 'index.js': 'exports.handler = async () => ({ statusCode: 200, body: "hello" });' }, 'index.handler', 'await invoke({}, "c1");');
  assert.deepStrictEqual(strip(r.steps), [{ rid: 'c1', stage: 'handler', phase: 'out', bytes: 5, kind: 'http', status: 200 }]);
});

test('streamed ES module handler through HttpResponseStream.from: body bytes and status', () => {
  const r = same({
    'index.mjs': `export const handler = awslambda.streamifyResponse(async (event, stream) => {
      stream = awslambda.HttpResponseStream.from(stream, { statusCode: 201, headers: { a: 'b' } });
      stream.write('x'.repeat(100)); stream.end('y'.repeat(24)); });`,
  }, 'index.handler', 'await invokeStream({}, "s1");');
  assert.deepStrictEqual(strip(r.steps), [
    { rid: 's1', stage: 'handler', phase: 'out', bytes: 124, kind: 'stream', status: 201, chunks: 2 },
    { rid: 's1', stage: 'stream', phase: 'end', bytes: 124, kind: 'stream', status: 201, after: r.steps[1].after, chunks: 2 },
  ]);
});

// OpenNext's aws-lambda-streaming wrapper writes the prelude itself.
const HAND_PRELUDE = (status, body) => `export const handler = awslambda.streamifyResponse(async (event, stream) => {
  stream.setContentType('application/vnd.awslambda.http-integration-response');
  stream.write(JSON.stringify({ statusCode: ${status}, headers: { 'content-type': 'text/html' }, cookies: [] }));
  stream.write(new Uint8Array(8));
  ${body}
  stream.end(); });`;

test('prelude written by hand (as OpenNext does): not counted as body, its status reported', () => {
  const r = same({ 'index.mjs': HAND_PRELUDE(200, 'stream.write("<p>" + "x".repeat(417) + "</p>");') }, 'index.handler', 'await invokeStream({}, "p1");');
  const end = r.steps.find((s) => s.stage === 'stream');
  assert.deepStrictEqual([end.bytes, end.status, end.chunks, end.note], [424, 200, 1, undefined]);
});

test('streamed 304 with a hand-written prelude: 0 body bytes, status 304', () => {
  const r = same({ 'index.mjs': HAND_PRELUDE(304, '') }, 'index.handler', 'await invokeStream({}, "p2");');
  const end = r.steps.find((s) => s.stage === 'stream');
  assert.deepStrictEqual([end.bytes, end.status], [0, 304]);
});

test('prelude and body in one write, delimiter split across writes', () => {
  const r = same({
    'index.mjs': `export const handler = awslambda.streamifyResponse(async (event, stream) => {
      stream.setContentType('application/vnd.awslambda.http-integration-response');
      stream.write('{"statusCode":404}' + '\\0'.repeat(5)); stream.write(Buffer.concat([Buffer.alloc(3), Buffer.from('gone')])); stream.end('!'); });`,
  }, 'index.handler', 'await invokeStream({}, "p3");');
  const end = r.steps.find((s) => s.stage === 'stream');
  assert.deepStrictEqual([end.bytes, end.status], [5, 404]);
});

test('a non-async handler returning a thenable: the runtime gets its value, then called once', () => {
  const r = same({
    'index.mjs': `let calls = 0;
      export const handler = () => ({ then(resolve) { calls++; resolve({ statusCode: 200, body: 'thenable ' + calls }); } });`,
  }, 'index.handler', 'await invoke({}, "t1");');
  assert.deepStrictEqual(results(r), ['result {"statusCode":200,"body":"thenable 1"}']);
  if (HOOKS) assert.deepStrictEqual(strip(r.steps), [{ rid: 't1', stage: 'handler', phase: 'returned', bytes: 0, kind: 'thenable', note: 'returned a thenable that is not a Promise: passed to the runtime unobserved' }]);
});

test('a CommonJS non-async handler returning a thenable: same', () => {
  same({ 'index.js': 'exports.handler = () => ({ then(resolve) { resolve("v"); } });' }, 'index.handler', 'await invoke({}, "t2");');
});

test('a result with a stateful toJSON is serialised once, by the runtime', () => {
  const r = same({
    'index.mjs': `let n = 0; export const handler = async () => ({ toJSON() { n++; return { statusCode: 200, body: 'call ' + n }; } });`,
  }, 'index.handler', 'await invoke({}, "j1");');
  assert.deepStrictEqual(results(r), ['result {"statusCode":200,"body":"call 1"}']);
  if (HOOKS) assert.deepStrictEqual([r.steps[0].kind, r.steps[0].phase], ['unmeasured', 'settled']);
});

test('a result with a body getter is read once, by the runtime', () => {
  const r = same({
    'index.js': `let n = 0; exports.handler = async () => { const r = { statusCode: 200 }; Object.defineProperty(r, 'body', { enumerable: true, get: () => 'read ' + (++n) }); return r; };`,
  }, 'index.handler', 'await invoke({}, "g1");');
  assert.deepStrictEqual(results(r), ['result {"statusCode":200,"body":"read 1"}']);
  assert.deepStrictEqual([r.steps[0].kind, r.steps[0].bytes], ['unmeasured', 0]);
});

test('nested toJSON inside a plain result is not run either', () => {
  const r = same({ 'index.js': `let n = 0; exports.handler = async () => ({ a: [1, { toJSON: () => ++n }] });` }, 'index.handler', 'await invoke({}, "g2");');
  assert.deepStrictEqual(results(r), ['result {"a":[1,1]}']);
});

for (const [name, body] of [
  ['thrown synchronously', 'export const handler = (event) => { throw new TypeError("sync " + event.n); };'],
  ['thrown by an async handler before it awaits', 'export const handler = async (event) => { throw new RangeError("early"); };'],
  ['thrown after an await', 'export const handler = async () => { await null; throw new Error("late"); };'],
  ['rejected with a non-error', 'export const handler = async () => { throw "plain string"; };'],
]) {
  test(`error ${name}: the same object, its stack without bodytrace frames`, () => {
    const r = same({ 'index.mjs': body }, 'index.handler', 'await invoke({ n: 1 }, "x1"); console.log("result same-object", globalThis.caught === globalThis.caught);');
    assert.ok(!r.raw.includes('/layer/node/'), r.raw);
    if (HOOKS) assert.strictEqual(r.steps[0].phase, 'error');
  });
}

test('error stack keeps all its frames at the default limit (deep stack)', () => {
  const r = same({
    'index.mjs': 'const deep = (n) => { if (n === 0) throw new Error("deep"); return deep(n - 1); }; export const handler = () => deep(20);',
  }, 'index.handler', 'await invoke({}, "x2"); console.log("result limit", Error.stackTraceLimit);');
  assert.ok(results(r).includes('result limit 10'), r.raw);
});

test('streaming error trailer keeps all its frames', () => {
  same({
    'index.mjs': `export const handler = awslambda.streamifyResponse(async (event, stream) => { stream.write('part'); throw new Error('mid-stream'); });`,
  }, 'index.handler', 'await invokeStream({}, "x3");');
});

test('a wrapper package that dropped the streaming marker is named by its package', () => {
  const r = same({
    'node_modules/@acme/lambda-wrap/package.json': '{"name":"@acme/lambda-wrap","main":"index.js"}',
    'node_modules/@acme/lambda-wrap/index.js': 'exports.wrap = (h) => async function wrapped(event, context) { return await h(event, context); };',
    'index.mjs': `import { createRequire } from 'node:module';
      const { wrap } = createRequire(import.meta.url)('@acme/lambda-wrap');
      export const handler = wrap(awslambda.streamifyResponse(async (event, stream) => { stream.write('x'); stream.end(); }));`,
  }, 'index.handler', 'await invoke({}, "w1");');
  const blamed = r.steps.filter((s) => s.who);
  assert.ok(blamed.length >= 1, JSON.stringify(r.steps));
  for (const s of blamed) assert.strictEqual(s.who, '@acme/lambda-wrap', JSON.stringify(s));
  const errs = r.steps.filter((s) => s.phase === 'error');
  assert.ok(errs.some((s) => s.stage === 'stream') && errs.some((s) => s.stage === 'handler'), JSON.stringify(r.steps));
});

test('an error whose stack runs through a wrapper package names it; one from a library the handler called, or its callback, does not', () => {
  const files = {
    'node_modules/wrapper-pkg/index.js': 'exports.wrap = (h) => function wrapper(event, context) { return h(event, context); };',
    'node_modules/lib-pkg/index.js': 'exports.fail = () => { throw new Error("from a library"); }; exports.each = (xs, f) => xs.forEach((x) => f(x));',
  };
  const through = same({ ...files, 'index.js': 'const { wrap } = require("wrapper-pkg"); exports.handler = wrap(async () => { throw new Error("own"); });' },
    'index.handler', 'await invoke({}, "b1");');
  assert.strictEqual(through.steps[0].who, 'wrapper-pkg', JSON.stringify(through.steps));
  const lib = same({ ...files, 'index.js': 'const { fail } = require("lib-pkg"); exports.handler = async () => fail();' }, 'index.handler', 'await invoke({}, "b2");');
  assert.strictEqual(lib.steps[0].who, undefined, JSON.stringify(lib.steps));
  const callback = same({ ...files, 'index.js': 'const { each } = require("lib-pkg"); exports.handler = async () => each([1], () => { throw new Error("in a callback"); });' },
    'index.handler', 'await invoke({}, "b3");');
  assert.strictEqual(callback.steps[0].who, undefined, JSON.stringify(callback.steps));
});

test('the helper\'s own failures are counted and reported once', () => {
  const r = same({
    'index.js': `const { PassThrough } = require('node:stream');
      exports.handler = async () => {
        const res = new PassThrough(); Object.defineProperty(res, 'statusCode', { get() { throw new Error('odd response'); } });
        res.write('a'); res.write('b'); return { statusCode: 200, body: 'ok' }; };`,
  }, 'index.handler', 'await invoke({}, "f1"); await invoke({}, "f2");');
  const reports = r.steps.filter((s) => s.stage === 'helper');
  assert.strictEqual(reports.length, 1, JSON.stringify(r.steps));
  assert.deepStrictEqual([reports[0].rid, reports[0].phase, reports[0].chunks], ['f1', 'failures', 2]);
  assert.match(reports[0].note, /first: writes.write: odd response/);
});

// Known limit: frames the helper's own three take from a limit the function raised during
// its synchronous call are not given back (the function's limit is kept, not bumped).
test('a handler that raises Error.stackTraceLimit itself keeps its limit and a deep stack without bodytrace frames', () => {
  const r = run4({
    'index.mjs': 'const deep = (n) => { if (n === 0) throw new Error("deep"); return deep(n - 1); }; export const handler = () => { Error.stackTraceLimit = 30; return deep(25); };',
  }, 'index.handler', 'await invoke({}, "x4"); console.log("result limit", Error.stackTraceLimit);');
  assert.ok(results(r).includes('result limit 30'), r.raw);
  assert.ok(results(r)[0].split('at deep').length > 25, results(r)[0]);
  assert.ok(!r.raw.includes('/layer/node/'), r.raw);
});

test('an ES module handler in a subfolder (src/app.handler)', () => {
  const r = same({ 'src/app.mjs': 'export const handler = async () => ({ statusCode: 200, body: "nested" });' }, 'src/app.handler', 'await invoke({}, "n1");');
  if (HOOKS) assert.deepStrictEqual(strip(r.steps), [{ rid: 'n1', stage: 'handler', phase: 'out', bytes: 6, kind: 'http', status: 200 }]);
});

test('ES module hooks only for a handler that may be an ES module', () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { mayBeESM } = require('../lib/loader.cjs');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bodytrace-esm-kind-'));
  const make = (files) => {
    const dir = fs.mkdtempSync(path.join(root, 'fn-'));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return [path.join(dir, 'index')];
  };
  try {
    assert.strictEqual(mayBeESM(make({ 'index.mjs': '' })), true, '.mjs');
    assert.strictEqual(mayBeESM(make({ 'index.js': '', 'package.json': '{"type":"module"}' })), true, '.js in a module package');
    assert.strictEqual(mayBeESM(make({ 'index.js': '', 'package.json': '{"type":"commonjs"}' })), false, '.js in a commonjs package');
    assert.strictEqual(mayBeESM(make({ 'index.js': '', 'package.json': '{}' })), false, '.js, no type');
    assert.strictEqual(mayBeESM(make({ 'index.cjs': '' })), false, '.cjs');
    assert.strictEqual(mayBeESM(make({ 'index.js': '', 'package.json': '{not json' })), true, 'unreadable package.json: cannot tell');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
