#!/usr/bin/env node
/**
 * End-to-end benchmarks of the Worker (issue 7, parts b-e): prints Markdown tables, writes
 * bench-results/e2e-<time>.{json,md,svg} and e2e-latest.*.
 *
 *   node scripts/bench/e2e.mjs                         # everything (about 20 minutes on 2 cores)
 *   node scripts/bench/e2e.mjs --parts b --sizes 100000 --reps 120
 *   node scripts/bench/e2e.mjs --parts c --duration 20 --concurrency 1,8,32 --targets bare
 *   node scripts/bench/e2e.mjs --smoke --out /tmp/x    # seconds: b and Node-side d on tiny inputs
 *
 * b  compute.mjs     recommend() in Node: Worker path (ORT-web WASM + kernel) vs native tower vs all native
 * c  http-load.mjs   autocannon against wrangler dev, bare workerd (the deploy bundle) and python_server.py
 * d  cold-start.mjs  new workerd process -> first answer, RSS; fresh Node processes -> load time, memory
 * e  bundle-size.mjs wrangler deploy --dry-run (as deployed and minified), artifact file sizes
 *
 * Options: --parts b,c,d,e  --model models/default  --sizes 100000,1000000 (synthetic catalogs for b;
 * the largest also for d)  --reps 200 --rounds 10 (b)  --duration 10 --http-rounds 2 --concurrency 1,8,32
 * --targets wrangler,bare[,bare-no-liftoff] (c)  --client autocannon|wrk (c: the load client; wrk is
 * `apt-get install wrk`)  --http-items N (c: a synthetic catalog of N items instead of the model's; runs
 * with another client or catalog are kept beside the default one)  --no-floors (c: skip the hello-world floors)  --cold-trials 3 (d)
 * --artifacts DIR (synthetic artifacts are built once and kept there; default $TMPDIR/edgerec-bench-artifacts)
 * --out DIR (default bench-results)  --merge FILE (an earlier run's JSON: keep its other parts; with
 * --parts none, only print and write its tables again)  --smoke.
 */
import { readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { syntheticArtifact } from './artifact.mjs';
import { buildBundle } from './build.mjs';
import { markdown, svg, targets } from './e2e-report.mjs';
import { writeRun } from './report.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values: opt } = parseArgs({
  options: {
    parts: { type: 'string', default: 'b,c,d,e' },
    model: { type: 'string', default: join(root, 'models/default') },
    sizes: { type: 'string', default: '100000,1000000' },
    reps: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '10' },
    duration: { type: 'string', default: '10' },
    'http-rounds': { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1,8,32' },
    client: { type: 'string', default: 'autocannon' },
    'http-items': { type: 'string' },
    targets: { type: 'string', default: 'wrangler,bare' },
    'no-floors': { type: 'boolean', default: false },
    'cold-trials': { type: 'string', default: '3' },
    artifacts: { type: 'string', default: join(tmpdir(), 'edgerec-bench-artifacts') },
    out: { type: 'string', default: join(root, 'bench-results') },
    merge: { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
if (opt.smoke) Object.assign(opt, { parts: 'b,d', sizes: '3001', reps: '4', rounds: '2', 'cold-trials': '1' });

const parts = new Set(opt.parts.split(','));
const model = resolve(opt.model);
const sizes = opt.sizes ? opt.sizes.split(',').map(Number) : [];
const log = (...a) => console.error('[e2e]', ...a);
const meta = {
  cpu: cpus()[0]?.model ?? '?',
  cpus: cpus().length,
  node: process.versions.node,
  loadBefore: loadavg(),
  startedAt: new Date().toISOString(),
};
log(`load average ${meta.loadBefore.map((x) => x.toFixed(2)).join(' ')}; parts ${[...parts].join(', ')}`);

const synthetic = (n, meta = 'full') => {
  const dir = join(opt.artifacts, `syn-${n}-${meta}`);
  const t0 = performance.now();
  const manifest = syntheticArtifact(model, n, dir, { meta });
  log(`synthetic artifact ${n} items (${meta}) ready in ${(performance.now() - t0).toFixed(0)} ms: ${dir} (${manifest.version})`);
  return dir;
};

// --merge FILE: start from an earlier run's JSON and replace only the parts run now.
const earlier = opt.merge ? JSON.parse(readFileSync(opt.merge, 'utf8')) : undefined;
const rerender = earlier && !['b', 'c', 'd', 'e'].some((p) => parts.has(p)); // --parts none --merge FILE: tables again
const res = rerender ? earlier : { ...earlier, meta, config: { ...opt, parts: [...parts] } };
if (earlier && !rerender) {
  res.earlierRuns = [...(earlier.earlierRuns ?? []), { ...earlier.meta, parts: earlier.config.parts }].map((r) => ({
    ...r,
    parts: r.parts.filter((p) => !parts.has(p)),
  }));
}
let bundleDir;

if (parts.has('e') || (parts.has('c') && opt.targets.includes('bare')) || (parts.has('d') && !opt.smoke)) {
  bundleDir = join(tmpdir(), `edgerec-e2e-bundle-${process.pid}`);
  const { bundleSizes } = await import('./bundle-size.mjs');
  const bundle = await bundleSizes(bundleDir, { model, log });
  if (parts.has('e')) res.bundle = bundle;
}

if (parts.has('b')) {
  const { benchComputeOne } = await import('./compute.mjs');
  const dirs = [model, ...sizes.map((n) => synthetic(n))];
  const cfg = { reps: Number(opt.reps), rounds: Number(opt.rounds), warmup: opt.smoke ? 1 : 5 };
  res.compute = { config: cfg, loadBefore: loadavg(), artifacts: [] };
  for (const dir of dirs) res.compute.artifacts.push(await benchComputeOne(dir, { ...cfg, log }));
  res.compute.loadAfter = loadavg();
  // Raw per-request times stay in the JSON; the summaries are what the tables use.
}

if (parts.has('c')) {
  const { benchFloors, benchHttp } = await import('./http-load.mjs');
  const httpModel = opt['http-items'] ? synthetic(Number(opt['http-items'])) : model;
  const concurrencies = opt.concurrency.split(',').map(Number);
  const client = opt.client;
  const run = await benchHttp({
    model: httpModel,
    bundleDir,
    targets: opt.targets.split(','),
    concurrencies,
    durationS: Number(opt.duration),
    rounds: Number(opt['http-rounds']),
    client,
    log,
  });
  if (!opt['no-floors'])
    run.floors = await benchFloors({ concurrencies, durationS: Math.max(3, Math.round(Number(opt.duration) / 2)), client, log });
  // The default model with autocannon is `http`; other clients and catalogs are kept beside it, one
  // per client and size (--merge keeps the ones not run now).
  if (client === 'autocannon' && httpModel === model) res.http = run;
  else res.httpMore = { ...res.httpMore, [`${client} ${run.items}`]: run };
}

if (parts.has('d')) {
  const { isolateColdStarts, nodeColdLoads, workerdColdStarts } = await import('./cold-start.mjs');
  const trials = Number(opt['cold-trials']);
  const big = sizes.length ? Math.max(...sizes) : undefined;
  const bigIds = big && !opt.smoke ? synthetic(big, 'ids') : undefined;
  res.cold = { node: [], workerd: [] };
  res.cold.node.push(await nodeColdLoads(model, { trials, log }));
  if (bigIds) res.cold.node.push({ ...(await nodeColdLoads(bigIds, { trials, log })), meta: 'ids' });
  if (big && !opt.smoke)
    res.cold.node.push({ ...(await nodeColdLoads(synthetic(big, 'full'), { trials: 1, log })), meta: 'ids, categories, prices' });
  if (!opt.smoke) {
    res.cold.workerd.push(await workerdColdStarts(model, { trials, bundleDir, log }));
    if (bigIds) res.cold.workerd.push(await workerdColdStarts(bigIds, { trials, bundleDir, log }));
    // The deploy bundle, and beside it the same Worker with onnxruntime-web inside (the layout before
    // ORT moved to its own Worker), to show what carrying ORT's Wasm costs each isolate start.
    // And the ORT path as deployed: the Worker with USER_TOWER=onnx, its tower in the ONNX runtime
    // Worker over the service binding (a second isolate in the same process; whenever workerd starts
    // it, that falls inside the spawn-to-answer time).
    const withOrt = `${bundleDir}-with-ort`;
    await buildBundle(withOrt, { entry: 'scripts/bench/with-ort-entry.ts' });
    const onnxWorker = `${bundleDir}-onnx`; // built beside the deploy bundle by bundleSizes, above
    const bundles = [
      { label: 'edgerec Worker (wrangler.toml, the deploy bundle)', bundleDir },
      { label: 'same Worker with onnxruntime-web inside (before the split)', bundleDir: withOrt, main: 'with-ort-entry.js' },
      {
        label: 'the Worker, USER_TOWER=onnx (its tower in the ONNX runtime Worker, over RPC)',
        bundleDir,
        onnxBundleDir: onnxWorker,
        vars: { USER_TOWER: 'onnx' },
        userTower: 'onnxruntime-web',
      },
    ];
    res.cold.isolate = [];
    for (const dir of [model, bigIds].filter(Boolean)) res.cold.isolate.push(await isolateColdStarts(dir, { trials, bundles, log }));
  }
}

if (bundleDir) {
  rmSync(bundleDir, { recursive: true, force: true });
  rmSync(`${bundleDir}-min`, { recursive: true, force: true });
  rmSync(`${bundleDir}-onnx`, { recursive: true, force: true });
  rmSync(`${bundleDir}-with-ort`, { recursive: true, force: true });
}
if (!rerender) meta.loadAfter = loadavg();
res.targets = targets(res);
const md = markdown(res);
const written = writeRun(opt.out, 'e2e', res.meta.startedAt, res, md, svg(res));
console.log(md);
log(`wrote ${written}.{json,md,svg} and e2e-latest.*`);
