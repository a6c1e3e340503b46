/**
 * The retrieval methods the benchmark compares. Each `setup(table, ctx)` returns
 * `{ run(u, filter) -> [{row, score}] (best first), close() }`; a method returns what the Worker
 * would use (rows and scores), so conversion costs are part of its time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import '../ts-hooks.mjs';
import { retrievalModel } from './onnx-models.mjs';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../../', import.meta.url));
const { int8ScannerFromTable } = await import(`${root}src/kernel/int8-scan.ts`);
const { scanTopK } = await import(`${root}src/core/item-table.ts`);

/** The kernel binary exactly as committed (the Worker imports the same file). */
export const kernelModule = () => new WebAssembly.Module(readFileSync(`${root}src/kernel/int8_scan.wasm`));

/** The allowed mask with the excluded rows cleared: what an ORT graph needs as its `mask` input. */
function maskOf(rows, { allowed, excluded }) {
  const m = allowed ? allowed.slice(0, rows) : new Uint8Array(rows).fill(1);
  if (excluded) for (const r of excluded) if (r >= 0 && r < rows) m[r] = 0;
  return m;
}

function ortMethod(ort, sessionOptions, precision) {
  return async (table, { k }) => {
    const opts = { ...sessionOptions, graphOptimizationLevel: 'all' };
    const plain = await ort.InferenceSession.create(retrievalModel(table, { precision, k, masked: false }), opts);
    const masked = await ort.InferenceSession.create(retrievalModel(table, { precision, k, masked: true }), opts);
    return {
      async run(u, filter) {
        const feeds = { u: new ort.Tensor('float32', u, [1, table.dim]) };
        const filtered = filter.allowed || filter.excluded;
        if (filtered) feeds.mask = new ort.Tensor('bool', maskOf(table.rows, filter), [table.rows]);
        const out = await (filtered ? masked : plain).run(feeds);
        const idx = out.indices.data;
        const val = out.values.data;
        const res = [];
        for (let i = 0; i < idx.length; i++) if (val[i] > -Infinity) res.push({ row: Number(idx[i]), score: val[i] });
        return res;
      },
      async close() {
        await plain.release();
        await masked.release();
      },
    };
  };
}

let ortWeb;
async function loadOrtWeb() {
  if (!ortWeb) {
    // The same entry the Worker uses (onnxruntime-web/wasm); in Node it may compile bytes itself.
    ortWeb = await import(`${root}node_modules/onnxruntime-web/dist/ort.wasm.min.mjs`);
    ortWeb.env.wasm.numThreads = 1;
    ortWeb.env.wasm.proxy = false;
    ortWeb.env.wasm.wasmBinary = readFileSync(`${root}node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm`);
  }
  return ortWeb;
}

const ortNodeOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };

/** Every in-process method, in table order. `faiss` runs in Python (faiss_bench.py) and `floor` below. */
export const methods = {
  kernel: {
    label: 'Worker path: int8 WASM SIMD kernel, in Node',
    async setup(table, { k }) {
      const scanner = int8ScannerFromTable(kernelModule(), table);
      return { run: (u, filter) => scanner.scanTopK(u, k, filter), close() {}, memoryBytes: scanner.memoryBytes, stats: scanner.stats };
    },
  },
  'kernel-workerd': {
    label: 'Worker path, in workerd: the same kernel, timed inside the runtime',
    setup: async (t, c) => (await import('./workerd-kernel.mjs')).workerdKernel(t, c),
  },
  'ort-node-int8': {
    label: 'onnxruntime-node int8 (MatMulInteger), 1 thread',
    setup: (t, c) => ortMethod(require('onnxruntime-node'), ortNodeOptions, 'int8')(t, c),
  },
  'ort-node-fp32': {
    label: 'onnxruntime-node fp32 (MatMul), 1 thread',
    setup: (t, c) => ortMethod(require('onnxruntime-node'), ortNodeOptions, 'fp32')(t, c),
  },
  'ort-web-int8': {
    label: 'onnxruntime-web WASM int8, 1 thread',
    setup: async (t, c) => ortMethod(await loadOrtWeb(), { executionProviders: ['wasm'] }, 'int8')(t, c),
  },
  'ort-web-fp32': {
    label: 'onnxruntime-web WASM fp32, 1 thread',
    setup: async (t, c) => ortMethod(await loadOrtWeb(), { executionProviders: ['wasm'] }, 'fp32')(t, c),
  },
  js: {
    label: 'plain JS scanTopK (src/core/item-table.ts)',
    async setup(table, { k }) {
      return { run: (u, filter) => scanTopK(table, u, k, filter), close() {} };
    },
  },
};

/**
 * The memory-bandwidth floor: the time to stream the bytes a full scan reads (table + scales, + the
 * mask when filtered) once, measured with a SIMD read loop over a buffer of that size in the same
 * run and cache state. Bytes / that time is the read bandwidth reported.
 */
export async function bandwidthProbe(maxBytes) {
  const wabt = await require('wabt')();
  const mod = wabt.parseWat('read-bw.wat', readFileSync(new URL('./read-bw.wat', import.meta.url), 'utf8'), { simd: true });
  const binary = mod.toBinary({}).buffer;
  mod.destroy();
  const bytes = Math.ceil((maxBytes + 64) / 65536) * 65536;
  const memory = new WebAssembly.Memory({ initial: bytes / 65536, maximum: bytes / 65536 });
  const { read } = new WebAssembly.Instance(new WebAssembly.Module(binary), { env: { memory } }).exports;
  new Uint8Array(memory.buffer).fill(1);
  return { run: (n) => read(0, Math.ceil(n / 64) * 64) };
}
