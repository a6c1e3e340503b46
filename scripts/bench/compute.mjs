/**
 * Issue 7b: the whole /v1/recommend computation in Node, timed per request. The Worker path is the
 * Worker's own code, unchanged: `loadModel` (src/model/store.ts) over an artifact served from a
 * file-backed R2, so the user tower runs in onnxruntime-web WASM (src/onnx/ort.ts,
 * `onnxruntime-web/wasm`, 1 thread) and retrieval in the int8 WASM SIMD kernel, then `recommend()`
 * of src/core/recommend.ts (history, filters in the scan, MMR, explanations, item views).
 *
 * Native rows: the same model object and the same `recommend()` with the user tower swapped for an
 * onnxruntime-node session (CPU EP, 1 thread) on the same int8 ONNX bytes. "All native" also swaps
 * retrieval: the time of the kernel scan inside that request is replaced by the time onnxruntime-node
 * takes for the same query, pool size and filter (the MatMulInteger + Where + TopK graph of
 * onnx-models.mjs, mask built per request). It is composed from measured parts, since `recommend()`
 * calls the scan synchronously and ORT-node only runs asynchronously.
 */
import './wasm-hooks.mjs';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactEnv, KINDS, requestBodies } from './artifact.mjs';
import { retrievalModel } from './onnx-models.mjs';
import { summarize } from './report.mjs';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../../', import.meta.url));
const { loadModel } = await import(`${root}src/model/store.ts`);
const { recommend } = await import(`${root}src/core/recommend.ts`);
const { coreRequest } = await import(`${root}scripts/bench/core-loop.ts`);

const NATIVE = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

/** The user tower on onnxruntime-node, behind the same `EncodeFn` contract as src/onnx/encoder.ts. */
async function nativeEncoder(bytes) {
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, NATIVE);
  const inputs = session.inputNames;
  return async (b) => {
    const feeds = {
      hist_emb: new ort.Tensor('float32', b.histEmb, [b.batch, b.maxLen, b.dim]),
      hist_event: new ort.Tensor('int64', b.histEvent, [b.batch, b.maxLen]),
      hist_age: new ort.Tensor('float32', b.histAge, [b.batch, b.maxLen]),
    };
    const out = await session.run(Object.fromEntries(inputs.map((n) => [n, feeds[n]])));
    return { userEmb: out.user_emb.data, interests: out.interests.data, attention: out.attention.data };
  };
}

/** Retrieval on onnxruntime-node for the composed all-native time: one masked graph per pool size. */
async function nativeRetrieval(table, pools) {
  const ort = require('onnxruntime-node');
  const sessions = new Map();
  for (const k of pools)
    sessions.set(k, await ort.InferenceSession.create(retrievalModel(table, { precision: 'int8', k, masked: true }), NATIVE));
  return async (u, k, { allowed, excluded }) => {
    const mask = allowed ? allowed.slice(0, table.rows) : new Uint8Array(table.rows).fill(1);
    if (excluded) for (const r of excluded) if (r >= 0 && r < table.rows) mask[r] = 0;
    const out = await sessions
      .get(k)
      .run({ u: new ort.Tensor('float32', u, [1, table.dim]), mask: new ort.Tensor('bool', mask, [table.rows]) });
    return out.indices.data.length;
  };
}

/** Wraps a model so each request's encoder and scan time (and the scan's arguments) are recorded. */
function instrument(model) {
  const t = { enc: 0, scan: 0, scans: [] };
  const timed = {
    ...model,
    encode: async (b) => {
      const t0 = performance.now();
      const out = await model.encode(b);
      t.enc += performance.now() - t0;
      return out;
    },
    scan: (u, k, filter) => {
      const t0 = performance.now();
      const out = model.scan(u, k, filter);
      t.scan += performance.now() - t0;
      t.scans.push([u.slice(), k, filter]);
      return out;
    },
  };
  return { model: timed, t, reset: () => Object.assign(t, { enc: 0, scan: 0, scans: [] }) };
}

const same = (a, b) => a.items.length === b.items.length && a.items.every((x, i) => x.itemId === b.items[i].itemId);
const maxScoreDiff = (a, b) => Math.max(0, ...a.items.map((x, i) => Math.abs(x.score - (b.items[i]?.score ?? Infinity))));

/**
 * Times `recommend()` per request on one artifact directory for each request kind: Worker path,
 * native user tower, composed all-native. Rounds alternate the variants so load hits them alike.
 */
export async function benchComputeOne(dir, { reps = 60, rounds = 6, warmup = 5, kinds = KINDS, log = () => {} } = {}) {
  const { env, manifest } = artifactEnv(dir);
  const t0 = performance.now();
  const worker = await loadModel(env, manifest.version);
  const loadMs = performance.now() - t0;
  const itemsFile = JSON.parse(readFileSync(join(dir, manifest.files.items.path), 'utf8'));
  const bodies = requestBodies(itemsFile, manifest.categories);
  const encodeNative = await nativeEncoder(readFileSync(join(dir, manifest.files.userEncoder.path)));
  const retrieveNative = await nativeRetrieval(worker.table, [10, 50]);
  // The same Worker code with USER_TOWER=onnx: the user tower in onnxruntime-web instead of the kernel.
  const ortWeb = await loadModel({ ...env, USER_TOWER: 'onnx' }, manifest.version);
  const variants = { web: instrument(worker), ortweb: instrument(ortWeb), native: instrument({ ...worker, encode: encodeNative }) };

  const results = {};
  for (const kind of kinds) {
    const list = bodies[kind];
    const times = { web: [], ortweb: [], native: [], nativeAll: [] };
    const parts = {
      web: { enc: [], scan: [], rest: [] },
      ortweb: { enc: [], scan: [], rest: [] },
      native: { enc: [], scan: [], rest: [], ortScan: [] },
    };
    const answers = { web: [], ortweb: [], native: [] };
    let q = 0;
    for (let round = 0; round < rounds; round++) {
      const count = Math.floor(reps / rounds) + (round < reps % rounds ? 1 : 0);
      const order = [
        ['web', 'ortweb', 'native'],
        ['native', 'web', 'ortweb'],
        ['ortweb', 'native', 'web'],
      ][round % 3];
      for (const id of order) {
        const v = variants[id];
        for (let i = 0; i < (round === 0 ? warmup : 0); i++) await recommend(v.model, coreRequest(list[i % list.length]));
        for (let i = 0; i < count; i++) {
          const j = (q + i) % list.length;
          v.reset();
          const s = performance.now();
          const out = await recommend(v.model, coreRequest(list[j]));
          const ms = performance.now() - s;
          times[id].push(ms);
          answers[id][j] ??= out;
          parts[id].enc.push(v.t.enc);
          parts[id].scan.push(v.t.scan);
          parts[id].rest.push(ms - v.t.enc - v.t.scan);
          if (id === 'native') {
            let ort = 0;
            for (const [u, k, filter] of v.t.scans) {
              const s2 = performance.now();
              await retrieveNative(u, k, filter);
              ort += performance.now() - s2;
            }
            parts.native.ortScan.push(ort);
            times.nativeAll.push(ms - v.t.scan + ort);
          }
        }
      }
      q += count;
    }
    const pairs = answers.web.map((a, j) => [a, answers.native[j]]).filter(([a, b]) => a && b);
    results[kind] = {
      web: summarize(times.web),
      ortweb: summarize(times.ortweb),
      native: summarize(times.native),
      nativeAll: summarize(times.nativeAll),
      parts: Object.fromEntries(
        Object.entries(parts).map(([id, p]) => [id, Object.fromEntries(Object.entries(p).map(([n, a]) => [n, summarize(a).median]))]),
      ),
      sameTopK: pairs.filter(([a, b]) => same(a, b)).length / pairs.length,
      sameTopKOrtWeb: answers.web.filter((a, j) => a && answers.ortweb[j] && same(a, answers.ortweb[j])).length / pairs.length,
      maxScoreDiff: Math.max(...pairs.map(([a, b]) => maxScoreDiff(a, b))),
      ms: times,
    };
    const r = results[kind];
    log(
      `${manifest.items} items, ${kind}: web ${r.web.median.toFixed(3)} ms, ORT-web tower ${r.ortweb.median.toFixed(3)} ms, native ${r.native.median.toFixed(3)} ms, all-native ${r.nativeAll.median.toFixed(3)} ms (ratio ${(r.web.median / r.native.median).toFixed(2)} / ${(r.web.median / r.nativeAll.median).toFixed(2)}), same top-k ${r.sameTopK}`,
    );
  }
  return { items: manifest.items, version: manifest.version, loadMs, load: loadavg(), results };
}
