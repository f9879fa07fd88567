'use strict';
// Naming the wrapper package on a stack (lib/culprit.cjs), from stacks as V8 writes them
// under aws-lambda-ric 4 (/var/runtime/index.mjs).
const test = require('node:test');
const assert = require('node:assert');
const { wrapperOnStack, callerPackage } = require('../lib/culprit.cjs');

const stack = (...frames) => ['Error: x', ...frames.map((f) => '    at ' + f)].join('\n');
const RUNTIME = ['BufferedInvokeProcessor.processInvoke (file:///var/runtime/index.mjs:1094:33)', 'async _Runtime.start (file:///var/runtime/index.mjs:1167:7)'];

test('a wrapper around the handler is named; scoped packages in full, known wrappers by short name', () => {
  assert.strictEqual(wrapperOnStack(stack('handler (file:///var/task/index.mjs:3:9)', 'wrapped [as handler] (/var/task/node_modules/@acme/wrap/index.js:5:10)', ...RUNTIME)), '@acme/wrap');
  assert.strictEqual(wrapperOnStack(stack('handler (/var/task/index.js:3:9)', 'async wrapped (/var/task/node_modules/@sentry/aws-serverless/build/cjs/sdk.js:1:1)', ...RUNTIME)), 'sentry');
});

test('the runtime client called by the function (HttpResponseStream.from) does not hide the wrapper', () => {
  assert.strictEqual(wrapperOnStack(stack('HttpResponseStream.from (file:///var/runtime/index.mjs:836:22)', 'Object.from (file:///var/task/index.mjs:46:43)',
    'wrapped (/var/task/node_modules/fixture-wrapper/index.js:5:10)', ...RUNTIME)), 'fixture-wrapper');
});

test('a library the handler called, or one that called back into it, is not a wrapper', () => {
  assert.strictEqual(wrapperOnStack(stack('fail (/var/task/node_modules/lib/index.js:1:1)', 'handler (/var/task/index.js:2:2)', ...RUNTIME)), undefined);
  assert.strictEqual(wrapperOnStack(stack('cb (/var/task/index.js:5:5)', 'each (/var/task/node_modules/lodash/each.js:1:1)', 'handler (/var/task/index.js:2:2)', ...RUNTIME)), undefined);
  assert.strictEqual(wrapperOnStack(stack('handler (/var/task/index.js:2:2)', ...RUNTIME)), undefined);
  assert.strictEqual(wrapperOnStack(undefined), undefined);
});

test('no frame of the function\'s own: the outermost package is named', () => {
  assert.strictEqual(wrapperOnStack(stack('inner (/var/task/node_modules/a/x.js:1:1)', 'outer (/var/task/node_modules/b/y.js:1:1)', ...RUNTIME)), 'b');
});

test('callerPackage: the package that called past bodytrace\'s frames, none for the runtime or own code', () => {
  const helper = require('node:path').join(__dirname, '..', 'lib', 'streams.cjs');
  assert.strictEqual(callerPackage(stack(`hooks (${helper}:1:1)`, 'wrapped (/var/task/node_modules/@acme/wrap/index.js:5:10)', ...RUNTIME)), '@acme/wrap');
  assert.strictEqual(callerPackage(stack(`hooks (${helper}:1:1)`, ...RUNTIME)), undefined);
  assert.strictEqual(callerPackage(stack(`hooks (${helper}:1:1)`, 'mine (/var/task/index.js:1:1)', ...RUNTIME)), undefined);
});
