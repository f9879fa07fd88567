'use strict';
// Sends step lines (format v1, internal/steps/doc.go) to the extension: one UDP datagram per
// line to BODYTRACE_STEPS_ADDR when the exec wrapper advertised it, else one line on stdout,
// which the extension reads from the Telemetry API "function" stream.

const MARKER = '@bodytrace/step ';

let transport; // decided on the first line: {send(line)}

// Datagrams handed to the socket whose send has not completed, and who waits for none.
let pending = 0;
let waiters = [];

function sent() {
  pending--;
  if (pending > 0) return;
  const w = waiters;
  waiters = [];
  for (const resolve of w) resolve();
}

// flush resolves once every step line sent so far has left this process, or after
// boundMs: the function's result waits for it, so the extension has its steps before the
// runtime hands the response to Lambda (the runtime client posts it natively, ahead of
// libuv's queued datagrams).
function flush(boundMs) {
  if (pending <= 0) return Promise.resolve();
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

function pickTransport() {
  const addr = process.env.BODYTRACE_STEPS_ADDR;
  const m = addr && /^\[?([^\]]*)\]?:(\d+)$/.exec(addr);
  if (m) {
    try {
      const dgram = require('node:dgram');
      const host = m[1];
      const port = Number(m[2]);
      const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      socket.on('error', () => {}); // a lost step line must never become a crash
      socket.unref();
      return {
        send: (text) => {
          pending++;
          socket.send(Buffer.from(text), port, host, sent);
        },
      };
    } catch (_) { /* fall back to stdout */ }
  }
  return { send: (text) => process.stdout.write(text + '\n') };
}

// emit sends one step; it never throws.
function emit(step) {
  try {
    if (!transport) transport = pickTransport();
    transport.send(line(step));
  } catch (_) { /* never break the function */ }
}

module.exports = { emit, flush, line, MARKER, _reset: () => { transport = undefined; pending = 0; waiters = []; } };
