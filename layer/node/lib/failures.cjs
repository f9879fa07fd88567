'use strict';
// Counts the helper's own internal failures: every catch block that keeps the function
// running records where it fired, so a helper that quietly stops observing shows up in the
// trace instead of looking like a function that reports nothing. The count is reported once
// per execution environment (invocation.cjs: a "helper" step line).

let count = 0;
let first; // "<where>: <message>" of the first failure
let reported = false;

// failed records one internal failure; it never throws.
function failed(where, err) {
  count++;
  if (first !== undefined) return;
  try {
    first = where + (err && typeof err === 'object' && typeof err.message === 'string' ? ': ' + err.message.slice(0, 120) : '');
  } catch (_) {
    first = where;
  }
}

// takeReport returns {count, first} the first time there is something to report, then
// undefined for the life of the process.
function takeReport() {
  if (reported || count === 0) return undefined;
  reported = true;
  return { count, first };
}

module.exports = { failed, takeReport, get count() { return count; }, _reset: () => { count = 0; first = undefined; reported = false; } };
