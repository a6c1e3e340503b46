#!/usr/bin/env node
/**
 * Where a request's CPU goes inside workerd, without the HTTP server around it: the Worker is built
 * with scripts/bench/isolate-loop-entry.ts and run under bare `workerd serve` (servers.mjs), and each
 * mode runs N requests inside one workerd request (timed from outside: workerd's clock does not move
 * while JavaScript runs; the cost of a mode is (t(N) - t(0)) / N). Modes: app (POST /v1/recommend
 * through the whole app), core (recommend() alone), health, hono and zod (baselines: a bare Hono
 * route and an OpenAPIHono route validating with the app's schema, both answering a canned
 * recommendation), and encode and scan (recommend()'s user tower and retrieval alone, core-loop.ts).
 * With --node, the core modes (core, encode, scan) also run in Node on the same artifact, the same
 * Wasm kernels and the same inputs, in alternation with workerd: the two runtimes side by side.
 * Prints a table and writes JSON + Markdown to --out.
 *
 *   node scripts/bench/isolate-loop.mjs                        # default model, all modes, 7 reps
 *   node scripts/bench/isolate-loop.mjs --model DIR --modes app,core --n 1000
 *   node scripts/bench/isolate-loop.mjs --profile app          # + a V8 CPU profile of that mode (top functions)
 *   node scripts/bench/isolate-loop.mjs --model DIR --modes core,encode,scan --node   # workerd vs Node
 *
 * Options: --model DIR (default models/default)  --modes list  --n 3000  --reps 7  --v8-flags "..."
 * --profile MODE  --node  --out DIR (default bench-results).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { artifactBodies } from './artifact.mjs';
import { inspector } from './inspector.mjs';
import { summarize } from './report.mjs';
import { buildBundle } from './build.mjs';
import { startBareWorker } from './servers.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: join(root, 'models/default') },
    modes: { type: 'string', default: 'app,core,health,hono,zod' },
    n: { type: 'string', default: '3000' },
    reps: { type: 'string', default: '7' },
    'v8-flags': { type: 'string', default: '' },
    profile: { type: 'string' },
    node: { type: 'boolean', default: false },
    out: { type: 'string', default: join(root, 'bench-results') },
  },
});
const log = (...a) => console.error('[isolate-loop]', ...a);
const modes = opt.modes.split(',');
const N = Number(opt.n);
const reps = Number(opt.reps);
const startedAt = new Date().toISOString();

const bundleDir = mkdtempSync(join(tmpdir(), 'edgerec-loop-bundle-'));
const workDir = mkdtempSync(join(tmpdir(), 'edgerec-loop-'));
let server;
try {
  await buildBundle(bundleDir, { entry: 'scripts/bench/isolate-loop-entry.ts' });
  renameSync(
    join(
      bundleDir,
      readdirSync(bundleDir).find((f) => /^isolate-loop-entry\.js$/.test(f)),
    ),
    join(bundleDir, 'index.js'),
  );
  const { manifest, bodies: all } = artifactBodies(opt.model);
  const bodies = JSON.stringify(all.plain.map((b) => JSON.stringify(b)));
  server = await startBareWorker({
    bundleDir,
    modelDir: opt.model,
    workDir,
    v8Flags: opt['v8-flags'] ? opt['v8-flags'].split(' ') : [],
    args: opt.profile ? ['--inspector-addr=127.0.0.1:9339'] : [],
  });
  const call = async (mode, n) => {
    const t = performance.now();
    const res = await fetch(`${server.url}/__loop?mode=${mode}&n=${n}`, { method: 'POST', body: bodies });
    const text = await res.text();
    if (!res.ok) throw new Error(`${mode}: ${res.status} ${text}`);
    return performance.now() - t;
  };
  const nodeLoops = opt.node ? await nodeCoreLoops(opt.model, manifest, JSON.parse(bodies)) : undefined;
  const nodeModes = nodeLoops ? modes.filter((m) => m in nodeLoops) : [];
  const callNode = async (mode, n) => {
    const t = performance.now();
    await nodeLoops[mode](n);
    return performance.now() - t;
  };
  log(`${manifest.version}: ${manifest.items} items; warming up`);
  for (const m of modes) await call(m, N);
  for (const m of nodeModes) await callNode(m, N);
  const us = Object.fromEntries(modes.map((m) => [m, []]));
  const usNode = Object.fromEntries(nodeModes.map((m) => [m, []]));
  for (let r = 0; r < reps; r++) {
    for (const m of modes) {
      const t0 = await call(m, 0);
      us[m].push((((await call(m, N)) - t0) * 1000) / N);
      if (m in usNode) usNode[m].push(((await callNode(m, N)) * 1000) / N);
    }
  }
  const summary = Object.fromEntries(modes.map((m) => [m, { ...summarize(us[m]), reps: us[m] }]));
  const summaryNode = Object.fromEntries(nodeModes.map((m) => [m, { ...summarize(usNode[m]), reps: usNode[m] }]));
  const what = {
    app: 'POST /v1/recommend through the app',
    core: 'recommend() alone',
    encode: "recommend()'s user tower alone",
    scan: "recommend()'s retrieval alone",
    health: 'GET /health through the app',
    hono: 'bare Hono route, canned answer',
    zod: 'OpenAPIHono + the recommend schema, canned answer',
  };
  const fmt = (s) => (s ? `${s.median.toFixed(1)} | ${s.min.toFixed(1)} | ${s.p90.toFixed(1)}` : '– | – | –');
  const md = [
    `In-isolate cost per request, bare workerd${nodeLoops ? ` and Node ${process.versions.node} (V8 ${process.versions.v8}), alternating` : ''}, ${manifest.items} items (${N} requests per timing, ${reps} timings; load average ${loadavg()[0].toFixed(2)}).`,
    '',
    nodeLoops
      ? '| mode | what | workerd median us | min us | p90 us | Node median us | min us | p90 us | workerd / Node |'
      : '| mode | what | median us | min us | p90 us |',
    nodeLoops ? '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |' : '| --- | --- | ---: | ---: | ---: |',
    ...modes.map(
      (m) =>
        `| ${m} | ${what[m] ?? ''} | ${fmt(summary[m])}${nodeLoops ? ` | ${fmt(summaryNode[m])} | ${summaryNode[m] ? (summary[m].median / summaryNode[m].median).toFixed(2) : '–'}` : ''} |`,
    ),
  ].join('\n');
  console.log(md);
  const result = {
    startedAt,
    model: manifest.version,
    items: manifest.items,
    n: N,
    reps,
    v8Flags: opt['v8-flags'],
    summary,
    ...(nodeLoops ? { node: process.versions.node, v8: process.versions.v8, summaryNode } : {}),
  };
  if (opt.profile) result.profile = await profile(call, opt.profile, join(bundleDir, 'index.js'));
  mkdirSync(opt.out, { recursive: true });
  writeFileSync(join(opt.out, `isolate-loop-${startedAt.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 1));
  writeFileSync(join(opt.out, 'isolate-loop-latest.md'), `${md}\n`);
} finally {
  await server?.stop();
  rmSync(workDir, { recursive: true, force: true });
  rmSync(bundleDir, { recursive: true, force: true });
}

/** The core loops (core-loop.ts) in Node: the Worker's own loadModel over the artifact, as compute.mjs runs it. */
async function nodeCoreLoops(dir, manifest, bodies) {
  await import('./wasm-hooks.mjs');
  const { artifactEnv } = await import('./artifact.mjs');
  const { loadModel } = await import(join(root, 'src/model/store.ts'));
  const { coreLoops } = await import(join(root, 'scripts/bench/core-loop.ts'));
  return coreLoops(await loadModel(artifactEnv(dir).env, manifest.version), bodies);
}

/** A V8 CPU profile (workerd's inspector) of one `mode` loop: the top functions by self and inclusive time, us per request. */
async function profile(call, mode, bundleFile) {
  const devtools = await inspector(9339, { timeoutMs: 120_000 });
  await devtools.call('Profiler.enable');
  await devtools.call('Profiler.setSamplingInterval', { interval: 25 });
  await devtools.call('Profiler.start');
  const n = N * 2;
  await call(mode, n);
  const result = await devtools.call('Profiler.stop');
  devtools.close();
  const p = result.profile;
  const lines = readFileSync(bundleFile, 'utf8').split('\n');
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const key = (x) =>
    `${x.callFrame.functionName || '(anonymous)'}${x.callFrame.url ? ` @${x.callFrame.lineNumber + 1}: ${(lines[x.callFrame.lineNumber] ?? '').trim().slice(0, 70)}` : ''}`;
  const self = new Map();
  const incl = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = ((p.timeDeltas[i] ?? 0) / 1000 / n) * 1000; // us per request
    const k = key(byId.get(p.samples[i]));
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set();
    for (let s = p.samples[i]; s !== undefined; s = parent.get(s)) {
      const kk = key(byId.get(s));
      if (!seen.has(kk)) (seen.add(kk), incl.set(kk, (incl.get(kk) ?? 0) + dt));
    }
  }
  const top = (m, count) => [...m].sort((a, b) => b[1] - a[1]).slice(0, count);
  console.log(`\nCPU profile of ${mode} (us per request, sampled every 25 us; the profiler itself adds to every figure)\n--- self`);
  for (const [k, v] of top(self, 30)) console.log(v.toFixed(1).padStart(8), k);
  console.log('--- inclusive');
  for (const [k, v] of top(incl, 30)) console.log(v.toFixed(1).padStart(8), k);
  return { mode, self: top(self, 60), inclusive: top(incl, 60) };
}
