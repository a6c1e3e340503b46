/**
 * Artifacts for the end-to-end benchmarks (issue 7 b-d): an `Env` whose R2 serves an artifact
 * directory (so src/model/store.ts `loadModel` runs unchanged in Node), and synthetic large catalogs
 * built around the real user encoder of models/default.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from './data.mjs';

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** One artifact directory as scripts/publish.mjs lays it out in R2: its manifest, and R2 key -> file. */
export function r2Layout(dir) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const paths = new Map(Object.values(manifest.files).map((f) => [`blobs/sha256/${f.sha256}`, join(dir, f.path)]));
  paths.set(`manifests/${manifest.version}.json`, join(dir, 'manifest.json'));
  return { manifest, paths };
}

/**
 * The subset of the Worker's `Env` that `loadModel(env, version)` reads: an R2 bucket holding one
 * artifact directory as `manifests/<version>.json` and `blobs/sha256/<hex>` (what scripts/publish.mjs
 * writes). Bodies are streams, as R2's are, so `readBlobInto` copies them chunk by chunk.
 */
export function artifactEnv(dir) {
  const { manifest, paths } = r2Layout(dir);
  const object = (bytes) => ({
    size: bytes.byteLength,
    get body() {
      return new Blob([bytes]).stream();
    },
    arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    json: async () => JSON.parse(new TextDecoder().decode(bytes)),
  });
  const env = {
    EDGEREC_R2: {
      async get(key) {
        const path = paths.get(key);
        return path ? object(readFileSync(path)) : null;
      },
    },
  };
  env.ONNX = inProcessOnnx(env);
  return { manifest, env };
}

/**
 * The ONNX runtime Worker's work (src/onnx/sessions.ts: onnxruntime-web WASM, 1 thread) in this
 * process, where the Worker has its `ONNX` service binding: towers without kernel files, and
 * USER_TOWER=onnx. Imported on first use, so callers that run the Worker's code import wasm-hooks.mjs.
 */
function inProcessOnnx(env) {
  let sessions;
  const get = async () => (sessions ??= new (await import('../../src/onnx/sessions.ts')).OnnxSessions(env));
  return {
    open: async (tower, graph) => (await get()).open(tower, graph),
    encodeUser: async (graph, batch) => (await get()).encodeUser(graph, batch),
    encodeText: async (graph, tokens) => (await get()).encodeText(graph, tokens),
  };
}

/**
 * A synthetic artifact with `rows` items next to the real user (and text) encoder of `base`: row r is
 * base row (r mod N) dequantized, plus Gaussian noise of the same per-row size, quantized per row as
 * docs/ARTIFACTS.md says. So histories fed to the encoder stay in its input distribution and the
 * user vectors it returns meet a clustered table, as a real catalog would give the retrieval kernel.
 *
 * `meta`: 'ids' (items.json has only ids, what the memory target is stated for) or 'full' (ids plus
 * the base item's categories and price, so category and price filters have something to act on).
 * Built once into `out` and reused while the encoder and the recipe are the same.
 */
export function syntheticArtifact(base, rows, out, { meta = 'full', seed = 7 } = {}) {
  const baseManifest = JSON.parse(readFileSync(join(base, 'manifest.json'), 'utf8'));
  const recipe = `synthetic/5 rows=${rows} meta=${meta} seed=${seed} base=${baseManifest.version}`;
  const doneFile = join(out, '.recipe');
  if (existsSync(doneFile) && readFileSync(doneFile, 'utf8') === recipe)
    return JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const { dim, items: N } = baseManifest;
  const bq = new Int8Array(readFileSync(join(base, baseManifest.files.itemEmbeddings.path)).buffer.slice(0));
  const bs = new Float32Array(readFileSync(join(base, baseManifest.files.itemScales.path)).buffer.slice(0));
  const baseItems = JSON.parse(readFileSync(join(base, baseManifest.files.items.path), 'utf8'));
  const g = rng(seed);
  const q = new Int8Array(rows * dim);
  const scales = new Float32Array(rows);
  const e = new Float32Array(dim);
  for (let r = 0; r < rows; r++) {
    const b = r % N;
    const s0 = bs[b];
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (bq[b * dim + d] * s0) ** 2;
    const sigma = Math.sqrt(norm / dim) * 0.5;
    let m = 0;
    for (let d = 0; d < dim; d++) {
      e[d] = bq[b * dim + d] * s0 + sigma * g.gauss();
      m = Math.max(m, Math.abs(e[d]));
    }
    const s = Math.fround(m / 127);
    scales[r] = s;
    for (let d = 0; d < dim; d++) q[r * dim + d] = s > 0 ? Math.max(-127, Math.min(127, Math.round(e[d] / s))) : 0;
  }
  const width = String(rows - 1).length;
  const ids = Array.from({ length: rows }, (_, r) => `syn-${String(r).padStart(width, '0')}`);
  const items = { ids };
  if (meta === 'full') {
    items.categories = ids.map((_, r) => baseItems.categories?.[r % N] ?? []);
    items.prices = ids.map((_, r) => baseItems.prices?.[r % N] ?? null);
  }
  const popular = { popular: Array.from({ length: Math.min(1000, rows) }, (_, i) => ({ row: (i * 7919) % rows, count: 1000 - i })) };
  popular.trending = popular.popular.slice(0, 100);

  const files = {};
  const put = (name, path, bytes, extra = {}) => {
    writeFileSync(join(out, path), bytes);
    files[name] = { path, sha256: sha256(bytes), bytes: bytes.byteLength, ...extra };
  };
  put('userEncoder', baseManifest.files.userEncoder.path, readFileSync(join(base, baseManifest.files.userEncoder.path)));
  for (const name of ['userTower', 'textEncoder', 'textTower', 'vocab']) {
    const f = baseManifest.files[name];
    if (f) put(name, f.path, readFileSync(join(base, f.path)));
  }
  put('itemEmbeddings', 'item_emb.int8.bin', new Uint8Array(q.buffer), { dtype: 'int8', shape: [rows, dim] });
  put('itemScales', 'item_scale.f32.bin', new Uint8Array(scales.buffer), { dtype: 'float32', shape: [rows] });
  put('items', 'items.json', Buffer.from(JSON.stringify(items)));
  put('itemsColumnar', 'items.bin', columnarItems(items));
  put('popular', 'popular.json', Buffer.from(JSON.stringify(popular)));
  const tag = sha256(
    Buffer.from(
      Object.values(files)
        .map((f) => f.sha256)
        .join(''),
    ),
  ).slice(0, 8);
  const manifest = {
    ...baseManifest,
    version: `bench-${rows}-${meta}-${tag}`,
    createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    items: rows,
    dataset: { name: `synthetic ${rows} rows around ${baseManifest.version}`, items: rows },
    files,
  };
  delete manifest.parity;
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1));
  writeFileSync(`${doneFile}.tmp`, recipe);
  renameSync(`${doneFile}.tmp`, doneFile);
  return manifest;
}

/**
 * items.json's content as `items.bin` (docs/ARTIFACTS.md), what the trainer writes
 * (scripts/edgerec/artifact.py `items_columnar`): ids packed, categories and prices as codes.
 */
export function columnarItems(items) {
  const rows = items.ids.length;
  const tensors = {};
  const header = { format: 'edgerec-items/1', rows };
  const chunks = items.ids.map((id) => Buffer.from(id, 'utf8'));
  const offsets = new Uint32Array(rows + 1);
  chunks.forEach((c, r) => (offsets[r + 1] = offsets[r] + c.length));
  tensors['ids.bytes'] = ['uint8', [offsets[rows]], Buffer.concat(chunks)];
  tensors['ids.offsets'] = ['uint32', [rows + 1], Buffer.from(offsets.buffer)];
  // Rows in id byte order (stable: a repeated id's rows stay in row order).
  const order = Uint32Array.from(chunks.map((_, r) => r).sort((a, b) => Buffer.compare(chunks[a], chunks[b]) || a - b));
  tensors['ids.order'] = ['uint32', [rows], Buffer.from(order.buffer)];
  const codes = (values, key) => {
    const distinct = [];
    const seen = new Map();
    const out = new Uint32Array(rows);
    values.forEach((v, r) => {
      const k = key(v);
      if (k === undefined) return;
      if (!seen.has(k)) seen.set(k, distinct.push(v));
      out[r] = seen.get(k);
    });
    return distinct.length < 0x10000 ? ['uint16', Uint16Array.from(out), distinct] : ['uint32', out, distinct];
  };
  for (const [name, values, key] of [
    ['paths', items.categories, (v) => (v?.length ? JSON.stringify(v) : undefined)],
    ['prices', items.prices, (v) => (v == null ? undefined : v)],
  ]) {
    if (!values) continue;
    const [dtype, array, distinct] = codes(values, key);
    header[name] = distinct;
    tensors[`${name}.codes`] = [dtype, [rows], Buffer.from(array.buffer, array.byteOffset, array.byteLength)];
  }
  return binaryFile(header, tensors);
}

/**
 * The binary container of docs/ARTIFACTS.md (`ERTW`, header length, JSON header, 16-byte aligned
 * tensors), what scripts/edgerec/export.py `write_kernel_file` writes. `tensors`: name -> [dtype,
 * shape, bytes] (a Buffer or a typed array).
 */
export function binaryFile(header, tensors) {
  const layout = {};
  let offset = 0;
  for (const [name, [dtype, shape, bytes]] of Object.entries(tensors)) {
    offset = (offset + 15) & ~15;
    layout[name] = { dtype, shape, offset };
    offset += bytes.byteLength;
  }
  const head = Buffer.from(JSON.stringify({ ...header, tensors: layout, dataBytes: offset }));
  const start = (8 + head.length + 15) & ~15;
  const out = Buffer.alloc(start + offset);
  out.write('ERTW', 0, 'latin1');
  out.writeUInt32LE(head.length, 4);
  head.copy(out, 8);
  for (const [name, [, , bytes]] of Object.entries(tensors))
    out.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), start + layout[name].offset);
  return out;
}

/** Copies the files of an artifact's manifest (and the manifest) into `out`. */
export function copyArtifact(dir, out) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  mkdirSync(out, { recursive: true });
  for (const f of Object.values(manifest.files)) copyFileSync(join(dir, f.path), join(out, f.path));
  copyFileSync(join(dir, 'manifest.json'), join(out, 'manifest.json'));
  return manifest;
}

/** The request kinds of requestBodies, with the labels the tables use. */
export const KINDS = ['plain', 'filtered', 'explain'];
export const KIND_LABELS = { plain: '8 events, k=10', filtered: '+ category filter', explain: '+ explain, diversity 0.3' };

/**
 * Request bodies for POST /v1/recommend, the same in Node (part b), over HTTP (part c) and for the
 * Python server: `plain` = 8 history events, k = 10 (exclude seen, the default); `filtered` = plus a
 * category filter (a mask over the catalog, applied in the scan); `explain` = explanations (leave-one-out:
 * the encoder runs 9 histories) and diversity 0.3 (MMR over a pool of 50).
 */
export function requestBodies(itemsFile, categories, count = 64) {
  const ids = itemsFile.ids;
  const pick = (i) => ids[(i * 7919 + 13) % ids.length];
  const history = (i) => Array.from({ length: 8 }, (_, j) => ({ itemId: pick(i * 8 + j), event: j % 3 === 0 ? 'cart' : 'view' }));
  const cats = categories.length ? categories : [''];
  return {
    plain: Array.from({ length: count }, (_, i) => ({ history: history(i), k: 10 })),
    filtered: Array.from({ length: count }, (_, i) => ({ history: history(i), k: 10, filters: { categories: [cats[i % cats.length]] } })),
    explain: Array.from({ length: count }, (_, i) => ({ history: history(i), k: 10, explain: true, diversity: 0.3 })),
  };
}

/** An artifact directory's manifest and its `requestBodies` (read from its items.json). */
export function artifactBodies(dir, count) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  return {
    manifest,
    bodies: requestBodies(JSON.parse(readFileSync(join(dir, manifest.files.items.path), 'utf8')), manifest.categories, count),
  };
}
