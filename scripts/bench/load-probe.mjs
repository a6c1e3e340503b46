#!/usr/bin/env node
/**
 * One cold load of an artifact in a fresh Node process, through the Worker's own code
 * (src/model/store.ts `loadModel`, onnxruntime-web WASM, the int8 kernel), timed and weighed:
 *
 *   node scripts/bench/load-probe.mjs DIR [--breakdown]   -> one JSON line on stdout
 *
 * importMs: evaluating the Worker modules, which compiles the .wasm files (wrangler hands workerd
 * these precompiled); loadMs: `loadModel` (manifest, blobs read and sha256-checked, table streamed into
 * kernel memory, catalog parsed, the user and text tower kernels built, or ORT sessions for artifacts
 * without kernel files); firstMs and
 * warmMs: the first and the median of the next `recommend()` calls. Memory: every WebAssembly.Memory
 * created (the kernel's and ORT's heap), V8 heap and RSS before and after the load.
 */
const memories = [];
const NativeMemory = WebAssembly.Memory;
WebAssembly.Memory = class extends NativeMemory {
  constructor(descriptor) {
    super(descriptor);
    memories.push(this);
  }
};

const mem = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
};
const dir = process.argv[2];
if (!dir) {
  console.error('usage: load-probe.mjs DIR');
  process.exit(2);
}
globalThis.gc?.();
const before = mem();
let t = performance.now();
await import('./wasm-hooks.mjs');
const root = new URL('../../', import.meta.url).pathname;
const { loadModel } = await import(`${root}src/model/store.ts`);
const { recommend } = await import(`${root}src/core/recommend.ts`);
const { artifactBodies, artifactEnv } = await import('./artifact.mjs');
const importMs = performance.now() - t;
const afterImport = mem();

const { env, manifest } = artifactEnv(dir);
if (process.argv.includes('--breakdown')) {
  console.log(JSON.stringify({ items: manifest.items, breakdown: await breakdown(env, manifest) }));
  process.exit(0);
}
t = performance.now();
const model = await loadModel(env, manifest.version);
const loadMs = performance.now() - t;
globalThis.gc?.();
const afterLoad = mem();
const wasmAfterLoad = memories.map((m) => m.buffer.byteLength);

const bodies = artifactBodies(dir).bodies.plain;
const req = (b) => ({ history: b.history, k: b.k, excludeSeen: true, diversity: 0, explain: false, nowSeconds: 1_800_000_000 });
t = performance.now();
await recommend(model, req(bodies[0]));
const firstMs = performance.now() - t;
const warm = [];
for (let i = 1; i <= 20; i++) {
  t = performance.now();
  await recommend(model, req(bodies[i % bodies.length]));
  warm.push(performance.now() - t);
}
warm.sort((a, b) => a - b);
globalThis.gc?.();
const afterRequests = mem();
// ORT's heap is its (shared, growable) Emscripten memory; the kernel's is a plain one sized for the table.
const sizes = memories.map((m) => m.buffer.byteLength);
const shared = memories.map((m) => typeof SharedArrayBuffer !== 'undefined' && m.buffer instanceof SharedArrayBuffer);
const kernelBytes = sizes.filter((_, i) => !shared[i]).reduce((a, b) => a + b, 0);
const ortHeapBytes = sizes.filter((_, i) => shared[i]).reduce((a, b) => a + b, 0);
console.log(
  JSON.stringify({
    items: manifest.items,
    version: manifest.version,
    importMs,
    loadMs,
    firstMs,
    warmMs: warm[Math.floor(warm.length / 2)],
    memory: { before, afterImport, afterLoad, afterRequests, wasmAfterLoad, wasm: sizes, kernelBytes, ortHeapBytes },
  }),
);

/**
 * The steps of `loadModel`, one after another (it runs them concurrently, but they share one thread),
 * each timed: where a cold load's time goes.
 */
async function breakdown(env, manifest) {
  const { readManifest } = await import(`${root}src/model/store.ts`);
  const { createInt8Scanner } = await import(`${root}src/kernel/int8-scan.ts`);
  const { readInto } = await import(`${root}src/core/read-stream.ts`);
  const { Catalog } = await import(`${root}src/core/catalog.ts`);
  const { popularFileSchema } = await import(`${root}src/core/manifest.ts`);
  const { loadUserEncoder, loadTextEncoder } = await import(`${root}src/onnx/encoder.ts`);
  const kernelModule = (await import(`${root}src/kernel/int8_scan.wasm`)).default;
  const blob = async (entry) => new Uint8Array(await (await env.EDGEREC_R2.get(`blobs/sha256/${entry.sha256}`)).arrayBuffer());
  const steps = {};
  const step = async (name, fn) => {
    const t0 = performance.now();
    const out = await fn();
    steps[name] = performance.now() - t0;
    return out;
  };
  await step('manifest', () => readManifest(env, manifest.version));
  await step('table into kernel memory + sha256', async () => {
    const { table } = createInt8Scanner(kernelModule, manifest.items, manifest.dim);
    for (const [entry, view] of [
      [manifest.files.itemEmbeddings, table.q],
      [manifest.files.itemScales, table.scales],
    ]) {
      const target = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      await readInto((await env.EDGEREC_R2.get(`blobs/sha256/${entry.sha256}`)).body, target);
      await crypto.subtle.digest('SHA-256', target);
    }
  });
  await step(manifest.files.itemsColumnar ? 'catalog (items.bin, popular.json)' : 'catalog (items.json, popular.json)', async () => {
    const popular = await blob(manifest.files.popular);
    const parse = (b) => JSON.parse(new TextDecoder().decode(b));
    if (manifest.files.itemsColumnar) {
      const bytes = await blob(manifest.files.itemsColumnar);
      await crypto.subtle.digest('SHA-256', bytes);
      return Catalog.fromColumnar(bytes, popularFileSchema.parse(parse(popular)));
    }
    const items = await blob(manifest.files.items);
    await crypto.subtle.digest('SHA-256', items);
    return new Catalog(parse(items), popularFileSchema.parse(parse(popular)));
  });
  // What loadModel runs: the tower kernels on user_tower.bin / text_tower.bin (when the artifact has
  // them); then, for comparison, what it would run without them (ORT-web sessions, first one
  // initialising ORT), which serving no longer does on the cold path.
  const towerModule = (await import(`${root}src/kernel/tower.wasm`)).default;
  if (manifest.files.userTower) {
    const { createUserTower } = await import(`${root}src/kernel/tower.ts`);
    const bytes = await blob(manifest.files.userTower);
    await step('user tower: kernel (user_tower.bin, sha256, dequantize)', async () => {
      await crypto.subtle.digest('SHA-256', bytes);
      return createUserTower(towerModule, bytes);
    });
  }
  if (manifest.files.textTower) {
    const { createTextTower } = await import(`${root}src/kernel/text-tower.ts`);
    const bytes = await blob(manifest.files.textTower);
    await step('text tower: kernel (text_tower.bin)', async () => {
      await crypto.subtle.digest('SHA-256', bytes);
      return createTextTower(towerModule, bytes);
    });
  }
  const userBytes = await blob(manifest.files.userEncoder);
  await step('user tower: ORT init + session (the ONNX Worker, without kernels)', () => loadUserEncoder(userBytes));
  if (manifest.files.textEncoder) {
    const textBytes = await blob(manifest.files.textEncoder);
    await step('text tower: ORT session (the ONNX Worker, without kernels)', () => loadTextEncoder(textBytes));
  }
  return steps;
}
