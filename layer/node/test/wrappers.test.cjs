'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { run, RIC } = require('./helpers.cjs');

// A fake @sentry/aws-serverless whose wrapHandler marks its wrapper the way Sentry's fill does.
const FAKE_SENTRY = `
exports.wrapHandler = (handler) => {
  const wrapped = async (event, context) => { const rv = await handler(event, context); return { ...rv, body: '' }; };
  Object.defineProperty(wrapped, '__sentry_original__', { value: handler });
  return wrapped;
};`;

test('Sentry wrapper: handler inside reported, the export as middleware:sentry', () => {
  const r = run({
    'node_modules/@sentry/aws-serverless/index.js': FAKE_SENTRY,
    'index.js': 'const S = require("@sentry/aws-serverless"); exports.handler = S.wrapHandler(async () => ({ statusCode: 200, body: "x".repeat(10) }));',
  }, 'index.handler', RIC + 'loadHandler()({}, ctx("s1")).then(() => {});');
  assert.deepStrictEqual(r.steps, [
    { v: 1, rid: 's1', seq: 0, stage: 'handler', phase: 'out', bytes: 10, kind: 'http', status: 200 },
    { v: 1, rid: 's1', seq: 1, stage: 'middleware:sentry', phase: 'out', bytes: 0, kind: 'http', status: 200 },
  ]);
});

test('fill-marked export without Sentry module: middleware:sentry, inside not observed', () => {
  const r = run({
    'index.js': 'const h = async () => "x"; const w = async (e, c) => h(e, c); w.__sentry_original__ = h; exports.handler = w;',
  }, 'index.handler', RIC + 'loadHandler()({}, ctx("s2")).then(() => {});');
  assert.deepStrictEqual(r.steps, [
    { v: 1, rid: 's2', seq: 0, stage: 'middleware:sentry', phase: 'out', bytes: 3, kind: 'json', note: 'the function inside the sentry wrapper was not observed' },
  ]);
});

test('wrap() and step() for explicit chains, arity kept', () => {
  const r = run({
    'index.js': `const { wrap, step } = require(${JSON.stringify(require('./helpers.cjs').HELPER)});
      const inner = wrap('handler', async (event, context, callback) => { step('adapter', { a: 1 }); return { statusCode: 200, body: 'hello' }; });
      exports.handler = wrap('auth', async (e, c) => { await inner(e, c, () => {}); return { statusCode: 401, body: '' }; });
      exports.len = inner.length;`,
  }, 'index.handler', RIC + 'console.log("len", require(process.cwd() + "/index.js").len); loadHandler()({}, ctx("w1")).then(() => {});');
  assert.ok(r.other.includes('len 3'), r.raw);
  assert.deepStrictEqual(r.steps, [
    { v: 1, rid: 'w1', seq: 0, stage: 'adapter', phase: 'out', bytes: 7, kind: 'json' },
    { v: 1, rid: 'w1', seq: 1, stage: 'handler', phase: 'out', bytes: 5, kind: 'http', status: 200 },
    { v: 1, rid: 'w1', seq: 2, stage: 'middleware:auth', phase: 'out', bytes: 0, kind: 'http', status: 401 },
  ]);
});

test('late write on a Transform after the handler settled, blamed on the stack', () => {
  const r = run({
    'node_modules/@sentry/nextjs/index.js': 'exports.endLater = (res, data) => setTimeout(() => res.end(data), 15);',
    'index.js': `const { Transform } = require('node:stream'); const S = require('@sentry/nextjs');
      exports.handler = async () => {
        const res = new Transform({ transform(c, e, cb) { cb(null, c); } }); res.statusCode = 200; res.resume();
        res.write('ab');
        S.endLater(res, 'cdef');
        return { statusCode: 200, body: 'ab' };
      };`,
  }, 'index.handler', RIC + 'loadHandler()({}, ctx("l1")).then(() => {});');
  for (const s of r.steps) if (s.after !== undefined) s.after = s.after > 0 ? 'positive' : 'negative';
  assert.deepStrictEqual(r.steps, [
    { v: 1, rid: 'l1', seq: 0, stage: 'handler', phase: 'out', bytes: 2, kind: 'http', status: 200 },
    { v: 1, rid: 'l1', seq: 1, stage: 'write', phase: 'write', bytes: 2, status: 200, after: 'negative', chunks: 1, note: 'not ended when the handler settled' },
    { v: 1, rid: 'l1', seq: 2, stage: 'late-write', phase: 'write', bytes: 4, status: 200, after: 'positive', chunks: 1, who: 'sentry', note: 'on the stack of the late write: sentry' },
    { v: 1, rid: 'l1', seq: 3, stage: 'write', phase: 'end', bytes: 6, status: 200, after: 'positive', chunks: 2 },
  ]);
});

test('streaming handler: marker kept, bytes without the prelude, end before settle', () => {
  const r = run({
    'index.js': `exports.handler = awslambda.streamifyResponse(async (event, rs) => {
      const s = awslambda.HttpResponseStream.from(rs, { statusCode: 201 }); s.write('abc'); s.write(Buffer.alloc(7)); s.end();
    }, { highWaterMark: 1024 });`,
  }, 'index.handler', RIC + `
    const h = loadHandler();
    console.log('marker', h[Symbol.for('aws.lambda.runtime.handler.streaming')], h[Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark')], h.length);
    const { stream, wire } = responseStream();
    h({}, stream, ctx('t1')).then(() => setTimeout(() => console.log('wire', Buffer.concat(wire).length), 10));`);
  assert.ok(r.other.includes('marker response 1024 2'), r.raw);
  assert.ok(r.other.includes('wire ' + (JSON.stringify({ statusCode: 201 }).length + 8 + 10)), r.raw);
  for (const s of r.steps) if (s.after !== undefined) s.after = s.after <= 0 ? 'not after' : 'after';
  assert.deepStrictEqual(r.steps, [
    { v: 1, rid: 't1', seq: 0, stage: 'handler', phase: 'out', bytes: 10, kind: 'stream', status: 201, chunks: 2 },
    { v: 1, rid: 't1', seq: 1, stage: 'stream', phase: 'end', bytes: 10, kind: 'stream', status: 201, after: 'not after', chunks: 2 },
  ]);
});

test('streaming handler called as buffered (marker dropped by a wrapper)', () => {
  const r = run({
    'index.js': `const inner = awslambda.streamifyResponse(async (event, rs) => { rs.write('x'); });
      exports.handler = async (e, c) => inner(e, c);`,
  }, 'index.handler', RIC + 'loadHandler()({}, ctx("t2")).catch((e) => console.log("rejected", e.name));');
  assert.ok(r.other.includes('rejected TypeError'), r.raw);
  assert.deepStrictEqual(r.steps.map((s) => [s.seq, s.stage, s.phase, s.who]), [
    [0, 'stream', 'error', 'unknown'], [1, 'handler', 'error', undefined], [2, 'middleware:unknown', 'error', undefined],
  ]);
});

test('the helper never throws when its internals fail', () => {
  const r = run({ 'index.js': 'exports.handler = async () => ({ statusCode: 200, body: "ok" });' }, 'index.handler', `
    const path = require('node:path');
    const helperDir = path.dirname(process.env.HELPER);
    require(path.join(helperDir, 'lib/emit.cjs'));
    // Break the measuring and the emitting: the function must still answer.
    const measure = require(path.join(helperDir, 'lib/measure.cjs'));
    measure.result = () => { throw new Error('boom'); };
    measure.chunk = () => { throw new Error('boom'); };
    process.stdout.write = ((w) => function (s) { if (String(s).startsWith('@bodytrace')) throw new Error('boom'); return w.apply(this, arguments); })(process.stdout.write);
    ${RIC}
    const { Transform } = require('node:stream');
    const t = new Transform({ transform(c, e, cb) { cb(null, c); } }); t.statusCode = 200; t.resume();
    loadHandler()({}, ctx('x1')).then((v) => { t.write('abc'); t.end(); console.log('ok', JSON.stringify(v)); });`, { HELPER: require('./helpers.cjs').HELPER });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.deepStrictEqual(r.other, ['ok {"statusCode":200,"body":"ok"}']);
});
