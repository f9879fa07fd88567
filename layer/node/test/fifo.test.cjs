'use strict';
// The step pipe (BODYTRACE_STEPS_FIFO): lines go into the extension's named pipe with one
// synchronous write each; a line too long for one atomic pipe write goes by datagram; a full
// pipe (an extension that stopped reading) drops lines and never holds the function.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const dgram = require('node:dgram');
const { run, RIC } = require('./helpers.cjs');

// pipe makes a named pipe and opens its read end as the extension does (held open, read
// when the test chooses), returning {path, drain(), close()}.
function pipe() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodytrace-fifo-'));
  const p = path.join(dir, 'steps-9140');
  const mk = spawnSync('mkfifo', [p]);
  assert.strictEqual(mk.status, 0, String(mk.stderr));
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  return {
    path: p,
    drain() {
      let text = '';
      const buf = Buffer.alloc(1 << 16);
      for (;;) {
        let n = 0;
        try { n = fs.readSync(fd, buf); } catch (e) { if (e.code === 'EAGAIN') break; throw e; }
        if (n === 0) break;
        text += buf.subarray(0, n).toString();
      }
      return text.split('\n').filter(Boolean);
    },
    close() { fs.closeSync(fd); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

test('step lines go into the pipe, nothing on stdout', () => {
  const p = pipe();
  try {
    const r = run({ 'index.js': 'exports.handler = async () => ({ statusCode: 200, body: "hi" });' }, 'index.handler',
      RIC + 'const h = loadHandler(); h({}, ctx("f1")).then(() => h({}, ctx("f2"))).then(() => console.log("done"));',
      { BODYTRACE_STEPS_FIFO: p.path });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(r.steps, [], 'no step line on stdout');
    assert.deepStrictEqual(p.drain(), [
      '@bodytrace/step {"v":1,"rid":"f1","seq":0,"stage":"handler","phase":"out","bytes":2,"kind":"http","status":200}',
      '@bodytrace/step {"v":1,"rid":"f2","seq":0,"stage":"handler","phase":"out","bytes":2,"kind":"http","status":200}',
    ]);
  } finally {
    p.close();
  }
});

test('a line longer than one atomic pipe write goes by datagram', async () => {
  const p = pipe();
  const sock = dgram.createSocket('udp4');
  const got = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  try {
    const long = 'x'.repeat(5000);
    const r = run({ 'index.js': 'exports.handler = async () => "ok";' }, 'index.handler',
      RIC + `const { step } = require(${JSON.stringify(require('./helpers.cjs').HELPER)});
      loadHandler()({}, ctx("g1")).then(() => { step(${JSON.stringify(long)}, "v", ctx("g1")); setTimeout(() => {}, 100); });`,
      { BODYTRACE_STEPS_FIFO: p.path, BODYTRACE_STEPS_ADDR: `127.0.0.1:${sock.address().port}` });
    assert.strictEqual(r.status, 0, r.stderr);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const piped = p.drain();
    assert.strictEqual(piped.length, 1, piped.join('\n'));
    assert.ok(piped[0].includes('"stage":"handler"'));
    assert.strictEqual(got.length, 1, 'the long line by datagram');
    assert.ok(got[0].includes(long));
  } finally {
    sock.close();
    p.close();
  }
});

test('a full pipe drops lines and never holds the function', () => {
  const p = pipe();
  try {
    // Nobody reads: after about 64 KiB the pipe is full and further lines are dropped.
    const r = run({ 'index.js': 'exports.handler = async (e) => ({ statusCode: 200, body: "y".repeat(e.n) });' }, 'index.handler',
      RIC + `const h = loadHandler(); let chain = Promise.resolve();
      for (let i = 0; i < 2000; i++) chain = chain.then(() => h({ n: i % 50 }, ctx("h" + i)));
      chain.then((v) => console.log("done", v.statusCode));`,
      { BODYTRACE_STEPS_FIFO: p.path });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.ok(r.other.includes('done 200'), r.raw);
    const piped = p.drain();
    assert.ok(piped.length > 100 && piped.length < 2000, `${piped.length} lines in the pipe`);
  } finally {
    p.close();
  }
});

test('no reader: falls back to datagrams, and says why once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodytrace-fifo-'));
  const p = path.join(dir, 'steps-9140');
  assert.strictEqual(spawnSync('mkfifo', [p]).status, 0);
  const sock = dgram.createSocket('udp4');
  const got = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  try {
    const r = run({ 'index.js': 'exports.handler = async () => "ok";' }, 'index.handler',
      RIC + 'loadHandler()({}, ctx("k1")).then(() => setTimeout(() => {}, 100));',
      { BODYTRACE_STEPS_FIFO: p, BODYTRACE_STEPS_ADDR: `127.0.0.1:${sock.address().port}` });
    assert.strictEqual(r.status, 0, r.stderr);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.strictEqual(got[0], '@bodytrace/step {"v":1,"rid":"k1","seq":0,"stage":"handler","phase":"out","bytes":4,"kind":"json"}');
    // The pipe nobody holds is the helper's failure to report, not the function's.
    assert.strictEqual(got.length, 2, got.join('\n'));
    assert.ok(got[1].includes('"stage":"helper"') && got[1].includes('emit.fifo: ENXIO'), got[1]);
  } finally {
    sock.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
