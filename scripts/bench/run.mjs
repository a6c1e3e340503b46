#!/usr/bin/env node
/**
 * Retrieval benchmark (issue 7a): the Worker path (src/kernel, run in Node exactly as the Worker
 * runs it, and inside workerd: workerd-kernel.mjs) against onnxruntime-node (native, 1 thread; int8
 * and fp32), onnxruntime-web (WASM, in Node), plain JS scanTopK, FAISS IndexFlatIP (Python, 1
 * thread) and the memory-bandwidth floor, over N items, with and without filters. Writes JSON,
 * Markdown and an SVG chart.
 *
 *   node scripts/bench/run.mjs                       # N = 10k, 100k, 1M (a few minutes)
 *   node scripts/bench/run.mjs --sizes 100000 --reps 60 --methods kernel,ort-node-int8
 *   node scripts/bench/run.mjs --smoke --out /tmp/x  # tiny, seconds (used by test/bench)
 *
 * Options: --sizes a,b  --dim 64  --k 100  --reps 40 (timed runs per method, N, mode)  --rounds 4
 * (reps are split into rounds, methods alternating, so load changes hit all of them alike)
 * --warmup 5  --queries 8  --allowed 0.1  --excluded 50  --methods list|all  --faiss-python PATH
 * (default $EDGEREC_FAISS_PYTHON, else /tmp/edgerec-faiss/bin/python when present; `none` skips)
 * --out DIR (default bench-results)  --smoke.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeAllowed, makeExcluded, makeQueries, makeTable } from './data.mjs';
import { bandwidthProbe, methods } from './methods.mjs';
import { markdown, summarize, svg, writeRun } from './report.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values: opt } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    dim: { type: 'string', default: '64' },
    k: { type: 'string', default: '100' },
    reps: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '5' },
    queries: { type: 'string', default: '8' },
    allowed: { type: 'string', default: '0.1' },
    excluded: { type: 'string', default: '50' },
    methods: { type: 'string', default: 'all' },
    'faiss-python': { type: 'string' },
    out: { type: 'string', default: join(root, 'bench-results') },
    smoke: { type: 'boolean', default: false },
  },
});
if (opt.smoke) Object.assign(opt, { sizes: '3001', reps: '4', rounds: '2', warmup: '1', queries: '2' });

const sizes = opt.sizes.split(',').map(Number);
const dim = Number(opt.dim);
const k = Number(opt.k);
const reps = Number(opt.reps);
const rounds = Math.max(1, Math.min(Number(opt.rounds), reps));
const warmup = Number(opt.warmup);
const chosen = opt.methods === 'all' ? [...Object.keys(methods), 'faiss'] : opt.methods.split(',');
const faissPython =
  opt['faiss-python'] ??
  process.env.EDGEREC_FAISS_PYTHON ??
  (existsSync('/tmp/edgerec-faiss/bin/python') ? '/tmp/edgerec-faiss/bin/python' : 'none');
const config = {
  sizes,
  dim,
  k,
  reps,
  rounds,
  warmup,
  queries: Number(opt.queries),
  allowedFraction: Number(opt.allowed),
  excluded: Number(opt.excluded),
  methods: chosen,
};

const log = (...a) => console.error('[bench]', ...a);
const meta = {
  cpu: cpus()[0]?.model ?? '?',
  cpus: cpus().length,
  node: process.versions.node,
  v8: process.versions.v8,
  loadBefore: loadavg(),
  startedAt: new Date().toISOString(),
};
log(`load average ${meta.loadBefore.map((x) => x.toFixed(2)).join(' ')}; sizes ${sizes.join(', ')}; methods ${chosen.join(', ')}`);

const nMax = Math.max(...sizes);
const { table: full, centers } = makeTable(nMax, dim);
const queries = makeQueries(centers, dim, config.queries);
const labels = Object.fromEntries(chosen.filter((id) => methods[id]).map((id) => [id, methods[id].label]));
if (chosen.includes('faiss') && faissPython !== 'none') labels.faiss = 'FAISS IndexFlatIP (float32), 1 thread';
const results = {};
const floor = {};
const memory = {};
const filters = {};
const exact = {};
const probe = await bandwidthProbe(nMax * (dim + 5));

const overlap = (a, b) => {
  const s = new Set(b.map((x) => x.row));
  return b.length ? a.filter((x) => s.has(x.row)).length / b.length : 1;
};
const sameResult = (a, b) => a.length === b.length && a.every((x, i) => x.row === b[i].row && x.score === b[i].score);

for (const n of sizes) {
  const table = { q: full.q.subarray(0, n * dim), scales: full.scales.subarray(0, n), rows: n, dim };
  const { scanTopK } = await import(`${root}src/core/item-table.ts`);
  // Filters and exact answers (plain JS scanTopK defines "exact").
  const allowed = makeAllowed(n, config.allowedFraction);
  const excludedSets = queries.map((u, j) =>
    makeExcluded(
      scanTopK(table, u, 2 * k, { allowed }).map((x) => x.row),
      allowed,
      config.excluded,
      10 + j,
    ),
  );
  filters[n] = { allowed, excluded: excludedSets };
  const filterOf = (mode, j) => (mode === 'plain' ? {} : { allowed, excluded: excludedSets[j] });
  exact[n] = {
    plain: queries.map((u) => scanTopK(table, u, k)),
    filtered: queries.map((u, j) => scanTopK(table, u, k, filterOf('filtered', j))),
  };

  const live = {};
  try {
    for (const id of Object.keys(labels)) {
      if (!methods[id]) continue;
      log(`N=${n}: setting up ${id}`);
      live[id] = await methods[id].setup(table, { k, queries, filters: { allowed, excluded: excludedSets } });
    }
    if (live.kernel) memory[n] = { tableBytes: n * dim + n * 4, kernelBytes: live.kernel.memoryBytes };
    results[n] = {};
    for (const mode of ['plain', 'filtered']) {
      const times = Object.fromEntries(Object.keys(live).map((id) => [id, []]));
      const first = Object.fromEntries(Object.keys(live).map((id) => [id, []]));
      const floorMs = [];
      const bytes = n * dim + n * 4 + (mode === 'filtered' ? n : 0);
      let q = 0;
      for (let round = 0; round < rounds; round++) {
        const count = Math.floor(reps / rounds) + (round < reps % rounds ? 1 : 0);
        for (const [id, m] of Object.entries(live)) {
          for (let i = 0; i < (round === 0 ? warmup : 1); i++)
            await m.run(queries[i % queries.length], filterOf(mode, i % queries.length), i % queries.length);
          for (let i = 0; i < count; i++) {
            const j = (q + i) % queries.length;
            const f = filterOf(mode, j);
            const t0 = performance.now();
            const res = await m.run(queries[j], f, j);
            const wallMs = performance.now() - t0;
            // A self-timed method (the kernel inside workerd) reports its own time with its answer.
            const out = m.selfTimed ? res.out : res;
            times[id].push(m.selfTimed ? res.ms : wallMs);
            first[id][j] ??= out;
          }
        }
        for (let i = 0; i < count + 1; i++) {
          const t0 = performance.now();
          probe.run(bytes);
          if (i > 0) floorMs.push(performance.now() - t0);
        }
        q += count;
      }
      for (const id of Object.keys(live)) {
        const got = first[id];
        const agreement = got.reduce((s, r, j) => s + (r ? overlap(r, exact[n][mode][j]) : 0), 0) / got.filter(Boolean).length;
        const identical = got.every((r, j) => !r || sameResult(r, exact[n][mode][j]));
        results[n][mode] = results[n][mode] ?? {};
        results[n][mode][id] = { ...summarize(times[id]), agreement, identical, ms: times[id] };
        log(
          `N=${n} ${mode} ${id}: median ${results[n][mode][id].median.toFixed(3)} ms, agreement ${agreement.toFixed(3)}${identical ? ' (identical)' : ''}`,
        );
      }
      floor[n] = floor[n] ?? {};
      floor[n][mode] = { bytes, ...summarize(floorMs), ms: floorMs };
    }
  } finally {
    // Methods may hold processes (the kernel inside workerd): stop them whatever happened.
    for (const m of Object.values(live)) await m.close();
  }
}

// FAISS, in Python, on the same data and filters.
if (labels.faiss) {
  const dir = mkdtempSync(join(tmpdir(), 'edgerec-bench-'));
  try {
    writeFileSync(join(dir, 'q.i8'), full.q);
    writeFileSync(join(dir, 'scales.f32'), full.scales);
    writeFileSync(join(dir, 'queries.f32'), Float32Array.from(queries.flatMap((u) => [...u])));
    for (const n of sizes) writeFileSync(join(dir, `allowed-${n}.u8`), filters[n].allowed);
    const excluded = Object.fromEntries(sizes.map((n) => [n, filters[n].excluded.map((s) => [...s])]));
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ sizes, dim, k, reps, warmup, excluded }));
    log(`FAISS via ${faissPython}`);
    const out = JSON.parse(
      execFileSync(faissPython, [fileURLToPath(new URL('./faiss_bench.py', import.meta.url)), dir], {
        maxBuffer: 1 << 28,
        encoding: 'utf8',
      }),
    );
    meta.faiss = out.version;
    for (const n of sizes) {
      for (const mode of ['plain', 'filtered']) {
        const r = out.results[n][mode];
        const agreement =
          r.top.reduce(
            (s, rows, j) =>
              s +
              overlap(
                rows.map((row) => ({ row })),
                exact[n][mode][j],
              ),
            0,
          ) / r.top.length;
        results[n][mode].faiss = { ...summarize(r.ms), agreement, identical: false, ms: r.ms };
        log(`N=${n} ${mode} faiss: median ${results[n][mode].faiss.median.toFixed(3)} ms, agreement ${agreement.toFixed(3)}`);
      }
    }
  } catch (err) {
    log(`FAISS skipped: ${err.message.split('\n')[0]}`);
    delete labels.faiss;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

meta.loadAfter = loadavg();
const res = { meta, config, labels, results, floor, memory };
const md = markdown(res);
const written = writeRun(opt.out, 'retrieval', meta.startedAt, res, md, svg(res));
console.log(md);
log(`wrote ${written}.{json,md,svg} and retrieval-latest.*`);
