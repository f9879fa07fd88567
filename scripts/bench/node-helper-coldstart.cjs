'use strict';
// Measures the Node.js helper's cold-start cost inside the runtime process: how much later
// a fresh Node process has loaded the handler and answered its first invocation with the
// helper preloaded than without it. A stand-in for aws-lambda-ric 4.0.2's start (it loads
// http and stream, sets awslambda twice, import()s the handler, calls it as this.handler)
// runs the handler of examples/node-esm (index.mjs, ES module) or examples/node (CommonJS),
// asked for a 1 KB body. Each configuration runs alternately; medians are printed.
//
//   node scripts/bench/node-helper-coldstart.cjs [runs] [node binary...]
// Configurations: none (no helper); helper (as shipped); helper-no-esm (the helper with
// BODYTRACE_NODE_ESM_HOOKS=off, i.e. without module.registerHooks); other (the helper at
// BODYTRACE_BENCH_OTHER_HELPER, when set).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const helper = path.join(root, 'layer', 'node', 'bodytrace.cjs');
// BODYTRACE_BENCH_OTHER_HELPER: another helper (e.g. an older checkout's) measured alongside.
const other = process.env.BODYTRACE_BENCH_OTHER_HELPER;
const runs = Number(process.argv[2] || 21);
const nodes = process.argv.slice(3).length ? process.argv.slice(3) : [process.execPath];

const RIC = `
const t0 = performance.now();
await import('node:http'); await import('node:stream');
globalThis.awslambda = globalThis.awslambda || {};
globalThis.awslambda = { ...globalThis.awslambda, streamifyResponse: (h) => { h[Symbol.for('aws.lambda.runtime.handler.streaming')] = 'response'; return h; }, HttpResponseStream: { from: (s) => s } };
const { existsSync } = await import('node:fs');
const base = process.cwd() + '/index';
let ns;
for (const ext of ['', '.js', '.mjs', '.cjs']) if (existsSync(base + ext)) { ns = await import(base + ext); break; }
const loaded = performance.now();
const cpuLoaded = process.cpuUsage();
const processor = { handler: ns.handler };
const r = await processor.handler({ queryStringParameters: { bytes: '1024' } }, { awsRequestId: 'bench', getRemainingTimeInMillis: () => 3000 });
const answered = performance.now();
const cpu = process.cpuUsage();
JSON.stringify(r);
console.log(JSON.stringify({ start: t0, loaded, answered, cpu: (cpu.user + cpu.system) / 1000, cpuLoaded: (cpuLoaded.user + cpuLoaded.system) / 1000 }));
`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

for (const example of ['node-esm', 'node']) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodytrace-bench-'));
  fs.cpSync(path.join(root, 'examples', example), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules', 'aws-lambda-ric'), { recursive: true });
  const main = path.join(dir, 'node_modules', 'aws-lambda-ric', 'index.mjs');
  fs.writeFileSync(main, RIC);
  for (const node of nodes) {
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const configs = {
      none: [],
      helper: ['--require', helper],
      'helper-no-esm': ['--require', helper],
      ...(other ? { other: ['--require', other] } : {}),
    };
    const got = Object.fromEntries(Object.keys(configs).map((k) => [k, { loaded: [], answered: [], cpu: [], cpuLoaded: [] }]));
    for (let i = 0; i < runs; i++) {
      for (const [name, args] of Object.entries(configs)) {
        const env = { PATH: process.env.PATH, _HANDLER: 'index.handler', LAMBDA_TASK_ROOT: dir };
        if (name === 'helper-no-esm') env.BODYTRACE_NODE_ESM_HOOKS = 'off';
        const r = spawnSync(node, [...args, main], { cwd: dir, env, encoding: 'utf8' });
        const line = r.stdout.split('\n').find((l) => l.startsWith('{"start"'));
        if (!line) throw new Error(`${name}: ${r.stdout} ${r.stderr}`);
        const t = JSON.parse(line);
        got[name].loaded.push(t.loaded);
        got[name].answered.push(t.answered);
        got[name].cpu.push(t.cpu);
        got[name].cpuLoaded.push(t.cpuLoaded);
      }
    }
    const base = got.none;
    for (const [name, g] of Object.entries(got)) {
      const l = median(g.loaded);
      const a = median(g.answered);
      const c = median(g.cpu);
      const cl = median(g.cpuLoaded);
      console.log(`${example} ${version} ${name.padEnd(14)} first answer at ${a.toFixed(1)} ms wall (+${(a - median(base.answered)).toFixed(1)}), ${c.toFixed(1)} ms CPU (+${(c - median(base.cpu)).toFixed(1)}; at handler loaded +${(cl - median(base.cpuLoaded)).toFixed(1)})  [${runs} runs, medians since process start]`);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
