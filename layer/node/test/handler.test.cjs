'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { run, RIC } = require('./helpers.cjs');

const EVENT = '{ requestContext: { http: { method: "GET" } } }';

test('plain async handler: json result', () => {
  const r = run({ 'index.js': 'exports.handler = async () => ({ ok: true, n: 12345 });' }, 'index.handler',
    RIC + `loadHandler()(${EVENT}, ctx('r1'), () => {}).then((v) => console.log('got', JSON.stringify(v)));`);
  assert.deepStrictEqual(r.steps, [{ v: 1, rid: 'r1', seq: 0, stage: 'handler', phase: 'out', bytes: 21, kind: 'json' }]);
  assert.ok(r.other.includes('got {"ok":true,"n":12345}'));
});

test('HTTP-shaped result with base64 body: decoded bytes and status', () => {
  const r = run({ 'lib/app.js': 'exports.api = { v1: async () => ({ statusCode: 201, body: Buffer.alloc(300).toString("base64"), isBase64Encoded: true }) };' },
    'lib/app.api.v1', RIC + `
    const h = require(process.cwd() + '/lib/app.js').api.v1;
    h(${EVENT}, ctx('r2')).then(() => {});`);
  assert.deepStrictEqual(r.steps, [{ v: 1, rid: 'r2', seq: 0, stage: 'handler', phase: 'out', bytes: 300, kind: 'http', status: 201 }]);
});

test('wrong base64 is measured as decoded and noted', () => {
  const r = run({ 'index.js': 'exports.handler = async () => ({ statusCode: 200, body: "hello", isBase64Encoded: true });' }, 'index.handler',
    RIC + 'loadHandler()({}, ctx("r3")).then(() => {});');
  assert.deepStrictEqual(r.steps, [{ v: 1, rid: 'r3', seq: 0, stage: 'handler', phase: 'out', bytes: 3, kind: 'http', status: 200,
    note: 'isBase64Encoded is set but the body is not base64 (5 bytes as text)' }]);
});

test('undefined return', () => {
  const r = run({ 'index.js': 'exports.handler = async () => {};' }, 'index.handler', RIC + 'loadHandler()({}, ctx("r4")).then(() => {});');
  assert.deepStrictEqual(r.steps, [{ v: 1, rid: 'r4', seq: 0, stage: 'handler', phase: 'out', bytes: 0, kind: 'undefined' }]);
});

test('callback-style handler keeps its arity and still works', () => {
  const r = run({ 'index.js': 'exports.handler = function (event, context, callback) { setTimeout(() => callback(null, { statusCode: 200, body: "abc" }), 5); };' },
    'index.handler', RIC + `
    const h = loadHandler();
    console.log('length', h.length);
    h({}, ctx('r5'), (err, v) => console.log('callback', err, JSON.stringify(v)));`);
  assert.ok(r.other.includes('length 3'), r.raw);
  assert.ok(r.other.includes('callback null {"statusCode":200,"body":"abc"}'), r.raw);
  assert.deepStrictEqual(r.steps, [{ v: 1, rid: 'r5', seq: 0, stage: 'handler', phase: 'out', bytes: 3, kind: 'http', status: 200 }]);
});

test('seq restarts per invocation and the request id follows each call', () => {
  const r = run({ 'index.js': 'exports.handler = async () => "x";' }, 'index.handler',
    RIC + 'const h = loadHandler(); h({}, ctx("a")).then(() => h({}, ctx("b")));');
  assert.deepStrictEqual(r.steps.map((s) => [s.rid, s.seq, s.bytes]), [['a', 0, 3], ['b', 0, 3]]);
});

test('no handler run: no output at all', () => {
  const r = run({ 'index.js': 'exports.handler = async () => "x"; process.stdout.write("");' }, 'index.handler',
    RIC + 'loadHandler(); require("node:stream").PassThrough.prototype; const p = new (require("node:stream").PassThrough)(); p.write("abc"); p.end();');
  assert.strictEqual(r.raw, '');
  assert.strictEqual(r.stderr, '');
});

test('datagrams to BODYTRACE_STEPS_ADDR instead of stdout', async () => {
  const dgram = require('node:dgram');
  const sock = dgram.createSocket('udp4');
  const got = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const { spawn } = require('node:child_process');
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodytrace-node-'));
  fs.writeFileSync(path.join(dir, 'index.js'), 'exports.handler = async () => ({ statusCode: 200, body: "hi" });');
  fs.writeFileSync(path.join(dir, 'main.cjs'), RIC + 'loadHandler()({}, ctx("u1")).then(() => setTimeout(() => {}, 50));');
  const child = spawn(process.execPath, ['--require', require('./helpers.cjs').HELPER, 'main.cjs'], {
    cwd: dir, env: { PATH: process.env.PATH, _HANDLER: 'index.handler', BODYTRACE_STEPS_ADDR: `127.0.0.1:${sock.address().port}` },
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await new Promise((resolve) => child.on('close', resolve));
  await new Promise((resolve) => setTimeout(resolve, 50));
  sock.close();
  fs.rmSync(dir, { recursive: true, force: true });
  assert.strictEqual(out, '');
  assert.deepStrictEqual(got, ['@bodytrace/step {"v":1,"rid":"u1","seq":0,"stage":"handler","phase":"out","bytes":2,"kind":"http","status":200}']);
});

// udpRun runs script (after RIC) with the helper preloaded and BODYTRACE_STEPS_ADDR set to
// port, and returns the child's stdout and exit status.
async function udpRun(port, script) {
  const { spawn } = require('node:child_process');
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodytrace-node-'));
  fs.writeFileSync(path.join(dir, 'index.js'), 'exports.handler = async (e) => ({ statusCode: 200, body: "x".repeat(e.n) });');
  fs.writeFileSync(path.join(dir, 'main.cjs'), RIC + script);
  const child = spawn(process.execPath, ['--require', require('./helpers.cjs').HELPER, 'main.cjs'], {
    cwd: dir, env: { PATH: process.env.PATH, _HANDLER: 'index.handler', BODYTRACE_STEPS_ADDR: `127.0.0.1:${port}` },
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const status = await new Promise((resolve) => child.on('close', resolve));
  fs.rmSync(dir, { recursive: true, force: true });
  return { out, status };
}

// Each invocation after the first sends on the connected socket, with no wait.
const THREE = `const h = loadHandler();
  h({ n: 1 }, ctx('c1')).then(() => h({ n: 2 }, ctx('c2'))).then(() => h({ n: 3 }, ctx('c3')))
    .then((v) => { console.log('last', v.body); setTimeout(() => {}, 50); });`;

test('datagrams: every invocation\'s step arrives, in order', async () => {
  const dgram = require('node:dgram');
  const sock = dgram.createSocket('udp4');
  const got = [];
  sock.on('message', (m) => got.push(JSON.parse(m.toString().slice(16))));
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const r = await udpRun(sock.address().port, THREE);
  await new Promise((resolve) => setTimeout(resolve, 50));
  sock.close();
  assert.strictEqual(r.out, 'last xxx\n');
  assert.deepStrictEqual(got.map((s) => [s.rid, s.bytes]), [['c1', 1], ['c2', 2], ['c3', 3]]);
});

test('datagrams: nobody listening, the function still answers and prints no step', async () => {
  const dgram = require('node:dgram');
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const port = sock.address().port;
  await new Promise((resolve) => sock.close(resolve)); // a port nobody listens on now
  const r = await udpRun(port, THREE);
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.out, 'last xxx\n');
});
