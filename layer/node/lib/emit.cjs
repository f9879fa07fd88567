'use strict';
// Sends step lines (format v1, steps/line/doc.go) to the extension: into its step pipe
// (BODYTRACE_STEPS_FIFO) when the exec wrapper advertised one, else one UDP datagram per line
// to BODYTRACE_STEPS_ADDR, else one line on stdout, which the extension reads from the
// Telemetry API "function" stream. Lines are not batched.

// The failure counter loads on the first failure: most environments never read its file.
const failed = (where, err) => {
  try { require('./failures.cjs').failed(where, err); } catch (_) { /* cannot even count: carry on */ }
};

const MARKER = '@bodytrace/step ';

let transport; // decided at the first invocation: {send(text), unsent()}

// Lines handed to the transport whose send has not completed, and who waits for none.
let pending = 0;
let waiters = [];

function sent() {
  pending--;
  if (pending > 0) return;
  const w = waiters;
  waiters = [];
  for (const resolve of w) resolve();
}

// flush returns a promise that resolves once every step line sent so far has left this
// process, or after boundMs; undefined when all have left already. The function's result
// waits for it, so the extension has its steps before the runtime hands the response to
// Lambda (the runtime client posts it natively, ahead of anything libuv has queued). It
// never throws.
function flush(boundMs) {
  try {
    if (pending <= 0 || !transport || !transport.unsent()) return undefined;
  } catch (e) {
    failed('emit.flush', e);
    return undefined;
  }
  return new Promise((resolve) => {
    const t = setTimeout(resolve, boundMs);
    if (t.unref) t.unref();
    waiters.push(() => { clearTimeout(t); resolve(); });
  });
}

// line renders one step: fields in the documented order, absent ones left out.
function line(s) {
  return MARKER + JSON.stringify({
    v: 1, rid: s.rid, seq: s.seq, stage: s.stage, phase: s.phase, bytes: s.bytes, kind: s.kind,
    status: s.status, after: s.after, chunks: s.chunks, who: s.who, note: s.note,
  });
}

// udp sends on a socket connected to host:port. Connected, socket.send hands the datagram
// to the kernel before it returns (no address lookup, no libuv queue unless the socket
// buffer is full), so a result has nothing to wait for. Lines sent while it connects (the
// first invocation's) wait in a queue.
function udp(host, port) {
  const dgram = require('node:dgram');
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('error', () => {}); // a lost step line must never become a crash
  socket.unref();
  let queue = []; // null once connected (or failed to)
  let connected = false;
  socket.connect(port, host, (err) => {
    const q = queue;
    queue = null;
    connected = !err;
    for (const buf of q) {
      if (connected) socket.send(buf, sent);
      else sent(); // lost, as an unanswered datagram would be
    }
  });
  return {
    send(text) {
      if (queue === null && !connected) return;
      pending++;
      const buf = Buffer.from(text);
      if (queue) queue.push(buf);
      else socket.send(buf, sent);
    },
    // unsent tells whether a line is still in this process: queued here or by libuv.
    unsent() {
      if (queue) return queue.length > 0;
      return typeof socket.getSendQueueCount !== 'function' || socket.getSendQueueCount() > 0;
    },
  };
}

// PIPE_BUF: a write of up to this many bytes to a pipe is atomic, so the lines of
// concurrent writers never mix; a longer line goes by datagram.
const PIPE_BUF = 4096;

// fifo writes each line into the extension's step pipe with fs.writeSync: the line is in
// the pipe when the call returns (a result has nothing to wait for), and fs is loaded in
// every Node.js process, where a UDP socket loads dgram, and cluster and child_process on
// its first bind (3-5 ms of CPU on every cold start). Opened non-blocking: a full pipe (an
// extension that stopped reading) drops the line (EAGAIN, counted) rather than hold the
// function. datagram() gives the transport for longer lines, made on the first one.
function fifo(path, datagram) {
  const fs = require('node:fs');
  const fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  let long; // the datagram transport, once a line needed it
  return {
    send(text) {
      const buf = Buffer.from(text + '\n');
      if (buf.length <= PIPE_BUF) {
        fs.writeSync(fd, buf);
        return;
      }
      if (long === undefined) long = datagram() || null;
      if (long) long.send(text);
    },
    unsent: () => Boolean(long && long.unsent()),
  };
}

// stdout writes are synchronous for files and pipes on Linux: nothing is left to wait for.
const stdout = { send: (text) => process.stdout.write(text + '\n'), unsent: () => false };

// datagram returns the UDP transport to BODYTRACE_STEPS_ADDR, or undefined.
function datagram() {
  const addr = process.env.BODYTRACE_STEPS_ADDR;
  const m = addr && /^\[?([^\]]*)\]?:(\d+)$/.exec(addr);
  if (!m) return undefined;
  try {
    return udp(m[1], Number(m[2]));
  } catch (e) {
    failed('emit.udp', e);
    return undefined;
  }
}

function pickTransport() {
  const pipe = process.env.BODYTRACE_STEPS_FIFO;
  if (pipe) {
    try {
      return fifo(pipe, datagram);
    } catch (e) {
      failed('emit.fifo', e); // no reader (ENXIO), no pipe: by datagram instead
    }
  }
  return datagram() || stdout;
}

// prepare picks the transport ahead of the first line (loader.reporting, at handler load),
// so the socket connects before the first invocation. It never throws.
function prepare() {
  try {
    if (!transport) transport = pickTransport();
  } catch (e) {
    failed('emit.prepare', e); // emit tries again
  }
}

// emit sends one step; it never throws.
function emit(step) {
  try {
    if (!transport) transport = pickTransport();
    transport.send(line(step));
  } catch (e) {
    failed('emit', e);
  }
}

module.exports = { emit, flush, prepare, line, MARKER, _reset: () => { transport = undefined; pending = 0; waiters = []; } };
