/**
 * Loading the active model: KV holds a small pointer to the active version, R2 holds the manifest and
 * content-addressed blobs. Models are loaded lazily on first use and cached per isolate by version;
 * a new version loads in the background while the loaded one keeps serving, and a version that fails
 * to load is never switched to.
 */
import { Catalog } from '../core/catalog';
import { errorMessage } from '../core/error-message';
import { nonNegativeSetting } from '../core/setting';
import {
  parseCatalogManifest,
  parseManifest,
  popularFileSchema,
  type CatalogManifest,
  userEncoderDynamicLength,
  type FileEntry,
  type ItemsFile,
  type Manifest,
} from '../core/manifest';
import type { EncodeFn, EncodeTextFn, ScoringModel } from '../core/recommend';
import type { Env } from '../env';
import { createInt8Scanner } from '../kernel/int8-scan';
import int8ScanWasm from '../kernel/int8_scan.wasm';
import { createTextTower } from '../kernel/text-tower';
import { createUserTower } from '../kernel/tower';
import towerWasm from '../kernel/tower.wasm';
import { Vocab } from '../core/tokenizer';
import { onnxTextEncoder, onnxUserEncoder } from '../onnx/towers';
import { readBlob, readBlobInto, readJsonBlob, verifyBlob } from './blob';

export { blobKey } from './blob';

export const ACTIVE_KEY = 'active';
/** KV: the list of published versions, kept by the publisher. */
export const VERSIONS_KEY = 'versions';
export const manifestKey = (version: string) => `manifests/${version}.json`;

/** A model whose every part loaded: it can score. */
export interface LoadedModel extends ScoringModel {
  version: string;
  manifest: Manifest;
  /** The text tower and its tokenizer, when the artifact has them (search, cold items). */
  text?: { vocab: Vocab; encode: EncodeTextFn };
  /** What runs the user tower: the WASM kernel on `user_tower.bin`, or onnxruntime-web on the ONNX. */
  userTower: 'wasm-kernel' | 'onnxruntime-web';
}

/** What serving has to work with right now. */
export interface ModelState {
  /** The model serving requests (the last one that loaded completely). */
  model?: LoadedModel;
  /** When no model can score: the catalog of the active version, for the popularity fallback. */
  fallbackCatalog?: { version: string; catalog: Catalog };
  /** The active version according to KV (may differ from `model.version` while it loads or after it failed). */
  activeVersion?: string;
  /** Why the active version is not the one serving, if it is not. */
  error?: { version?: string; message: string; at: string };
}

interface Failure {
  version?: string;
  message: string;
  at: string;
  atMs: number;
}

/** Per-isolate cache. Module scope: it lives as long as the isolate, never across isolates. */
interface IsolateState {
  /** Models that loaded completely, by version (the serving one, plus experiment arms and recent ones). */
  loaded: Map<string, LoadedModel>;
  loading: Map<string, Promise<LoadedModel>>;
  failures: Map<string, Failure>;
  /** The version serving requests: the last active version that loaded completely. */
  serving?: string;
  fallbackCatalog?: { version: string; catalog: Catalog };
  pointer?: { version: string | undefined; previous?: string; readAt: number };
  kvError?: Failure;
}

/**
 * A version that failed to load is retried after MODEL_RETRY_SECONDS (default 15), so a fixed fault
 * heals by itself without requests hammering a broken version meanwhile.
 */
const DEFAULT_RETRY_FAILED_SECONDS = 15;

/** Loaded models kept per isolate (the 128 MB isolate bounds this; the serving one is never evicted). */
const MAX_LOADED = 3;

const state: IsolateState = { loaded: new Map(), loading: new Map(), failures: new Map() };

function failure(message: string, version?: string): Failure {
  return { version, message, at: new Date().toISOString(), atMs: Date.now() };
}

/**
 * A function whose implementation (an ORT session in the ONNX runtime Worker) is started on its first
 * call, not at load, and kept once it has started. The text tower's session this way adds nothing to
 * a cold start (/v1/recommend never needs it); so does the ONNX tower behind a kernel. A start still
 * under way is not shared: a request never waits on I/O another request began (workerd cancels that
 * with its request); calls that come meanwhile start their own, which the ONNX Worker folds into one.
 * A failed start is tried again by the next call (the ONNX Worker answers a recent failure at once).
 */
function lazily<A, R>(start: () => Promise<(a: A) => Promise<R>>): (a: A) => Promise<R> {
  let fn: ((a: A) => Promise<R>) | undefined;
  return async (a) => {
    fn ??= await start();
    return fn(a);
  };
}

/**
 * A tower kernel built from its file (`user_tower.bin`, `text_tower.bin`), or undefined when the
 * artifact has none, USER_TOWER=onnx asks for ORT, or the file is unusable (logged).
 */
async function towerKernel<T>(
  env: Env,
  entry: FileEntry | undefined,
  create: (bytes: Uint8Array) => T,
  what: string,
): Promise<T | undefined> {
  if (!entry || env.USER_TOWER === 'onnx') return undefined;
  try {
    return create(await readBlob(env, entry));
  } catch (err) {
    console.error(`edgerec: ${entry.path} not usable, onnxruntime-web runs the ${what}: ${errorMessage(err)}`);
    return undefined;
  }
}

/** `kernel` with `onnx` behind it: an input the kernel throws on is served by ORT (logged once). */
function withFallback<A, R>(kernel: (a: A) => R, onnx: (a: A) => Promise<R>, what: string): (a: A) => Promise<R> {
  let warned = false;
  return async (a) => {
    try {
      return kernel(a);
    } catch (err) {
      if (!warned) console.error(`edgerec: ${what} kernel failed, onnxruntime-web serves instead: ${errorMessage(err)}`);
      warned = true;
      return onnx(a);
    }
  };
}

/**
 * The user tower. With `user_tower.bin` (trainers since the weight-only int8 tower) it runs in the
 * WASM kernel (src/kernel/tower.ts): same outputs as the ONNX graph, several times faster, and no ORT
 * on the cold path. Otherwise, or with USER_TOWER=onnx, onnxruntime-web runs the ONNX encoder in the
 * ONNX runtime Worker (src/onnx/towers.ts), which also stands behind the kernel: an encode the kernel
 * throws on is served by ORT.
 */
async function userTower(
  env: Env,
  kernel: UserTowerKernel | undefined,
  graph: FileEntry,
): Promise<{ encode: EncodeFn; runtime: LoadedModel['userTower'] }> {
  if (kernel)
    return {
      encode: withFallback(
        kernel.encode,
        lazily(() => onnxUserEncoder(env, graph)),
        'user tower',
      ),
      runtime: 'wasm-kernel',
    };
  // Started at load, so a broken encoder fails the load (and the popularity fallback serves).
  return { encode: await onnxUserEncoder(env, graph), runtime: 'onnxruntime-web' };
}

/** The text tower: the WASM kernel on `text_tower.bin` when there is one, onnxruntime-web behind it. */
function textTower(env: Env, kernel: TextTowerKernel | undefined, graph: FileEntry): EncodeTextFn {
  const onnx = lazily(() => onnxTextEncoder(env, graph));
  return kernel ? withFallback(kernel.encode, onnx, 'text tower') : onnx;
}

type UserTowerKernel = ReturnType<typeof createUserTower>;
type TextTowerKernel = ReturnType<typeof createTextTower>;

/** One version's manifest as stored (JSON, not yet validated). */
async function readManifestJson(env: Env, version: string): Promise<unknown> {
  const obj = await env.EDGEREC_R2.get(manifestKey(version));
  if (!obj) throw new Error(`manifest of version ${version} is missing from R2`);
  return obj.json();
}

function checkedManifest(json: unknown, version: string): Manifest {
  const manifest = parseManifest(json);
  if (manifest.version !== version) throw new Error(`manifest ${version} names itself ${manifest.version}`);
  return manifest;
}

/** Reads and validates one version's manifest. */
export async function readManifest(env: Env, version: string): Promise<Manifest> {
  return checkedManifest(await readManifestJson(env, version), version);
}

/**
 * The catalog: from `items.bin` (the catalog's own columnar layout, no JSON parse) when the artifact
 * has it, else, or when it is unusable, from items.json (validated while it is packed; a zod parse
 * would copy a 1M-item file first).
 */
async function loadCatalog(env: Env, manifest: CatalogManifest): Promise<Catalog> {
  const popular = popularFileSchema.parse(await readJsonBlob(env, manifest.files.popular));
  const columnar = manifest.files.itemsColumnar;
  let catalog: Catalog | undefined;
  if (columnar) {
    try {
      catalog = Catalog.fromColumnar(await readBlob(env, columnar), popular);
    } catch (err) {
      console.error(`edgerec: ${columnar.path} not usable, reading items.json: ${errorMessage(err)}`);
    }
  }
  catalog ??= new Catalog((await readJsonBlob(env, manifest.files.items)) as ItemsFile, popular);
  if (catalog.rows !== manifest.items) throw new Error(`the catalog has ${catalog.rows} items, the manifest says ${manifest.items}`);
  return catalog;
}

/**
 * A version whose manifest is refused cannot score, but its catalog may still be whole: kept for the
 * popularity fallback, so a broken artifact degrades to `"fallback": "popular"` rather than a 503.
 */
async function keepFallbackCatalog(env: Env, version: string, json: unknown): Promise<void> {
  const part = parseCatalogManifest(json);
  if (!part || part.version !== version) return;
  try {
    state.fallbackCatalog = { version, catalog: await loadCatalog(env, part) };
  } catch (err) {
    console.error(`edgerec: the catalog of ${version} is not usable for the popularity fallback either: ${errorMessage(err)}`);
  }
}

/** Loads every part of one version; throws if any part is missing, corrupt or fails to initialise. */
export async function loadModel(env: Env, version: string): Promise<LoadedModel> {
  const json = await readManifestJson(env, version);
  let manifest: Manifest;
  try {
    manifest = checkedManifest(json, version);
  } catch (err) {
    await keepFallbackCatalog(env, version, json);
    throw err;
  }
  const { files } = manifest;
  // The item table lives in the retrieval kernel's WASM memory, filled straight from R2.
  const scanner = createInt8Scanner(int8ScanWasm, manifest.items, manifest.dim);
  const { table } = scanner;
  // Every file is asked for at once, so the small ones' round trips hide behind the table's read.
  // The tower kernels never reject: an unusable kernel file is logged and ORT stands in. The ONNX
  // graphs are only verified here (by R2's stored checksum, their bodies unread): the ONNX runtime
  // Worker reads them itself if and when they run, and a version with a broken one never serves.
  const userKernel = towerKernel(env, files.userTower, (bytes) => createUserTower(towerWasm, bytes), 'user tower');
  const withText = files.textEncoder && files.vocab ? { encoder: files.textEncoder, vocab: files.vocab } : undefined;
  const textKernel = withText ? towerKernel(env, files.textTower, (bytes) => createTextTower(towerWasm, bytes), 'text tower') : undefined;
  const parts = await Promise.allSettled([
    loadCatalog(env, manifest),
    readBlobInto(env, files.itemEmbeddings, new Uint8Array(table.q.buffer, table.q.byteOffset, table.q.byteLength)),
    readBlobInto(env, files.itemScales, new Uint8Array(table.scales.buffer, table.scales.byteOffset, table.scales.byteLength)),
    withText && readJsonBlob(env, withText.vocab),
    verifyBlob(env, files.userEncoder),
    withText && verifyBlob(env, withText.encoder),
  ] as const);
  // The catalog alone is enough for the popularity fallback, even when the rest is broken.
  if (parts[0].status === 'fulfilled') state.fallbackCatalog = { version, catalog: parts[0].value };
  const failed = parts.find((p) => p.status === 'rejected');
  if (failed) throw failed.reason;
  const catalog = (parts[0] as PromiseFulfilledResult<Catalog>).value;
  const { encode, runtime } = await userTower(env, await userKernel, files.userEncoder);
  let text: LoadedModel['text'];
  if (withText) {
    const vocab = (parts[3] as PromiseFulfilledResult<unknown>).value;
    text = {
      vocab: new Vocab(vocab as ConstructorParameters<typeof Vocab>[0]),
      encode: textTower(env, await textKernel, withText.encoder),
    };
  }
  return {
    text,
    scan: (u, k, filter) => scanner.scanTopK(u, k, filter),
    version,
    manifest,
    catalog,
    table,
    encode,
    userTower: runtime,
    maxLen: manifest.maxLen,
    dynamicLength: userEncoderDynamicLength(manifest),
    eventTypes: manifest.eventTypes,
    categories: manifest.categories,
  };
}

function pointerTtlMs(env: Env): number {
  return nonNegativeSetting(env.POINTER_TTL_SECONDS, 10) * 1000;
}

/** The active version from KV, cached for POINTER_TTL_SECONDS per isolate. */
export async function readActiveVersion(env: Env): Promise<string | undefined> {
  const now = Date.now();
  if (state.pointer && now - state.pointer.readAt < pointerTtlMs(env)) return state.pointer.version;
  const pointer = await env.EDGEREC_KV.get<{ version?: string; previous?: string | null }>(ACTIVE_KEY, 'json');
  const version = typeof pointer?.version === 'string' ? pointer.version : undefined;
  const previous = typeof pointer?.previous === 'string' ? pointer.previous : undefined;
  state.pointer = { version, previous, readAt: now };
  return version;
}

function retryFailedMs(env: Env): number {
  return nonNegativeSetting(env.MODEL_RETRY_SECONDS, DEFAULT_RETRY_FAILED_SECONDS) * 1000;
}

function recentlyFailed(env: Env, version: string): boolean {
  const f = state.failures.get(version);
  return Boolean(f && Date.now() - f.atMs < retryFailedMs(env));
}

function evict(): void {
  for (const version of state.loaded.keys()) {
    if (state.loaded.size <= MAX_LOADED) break;
    if (version !== state.serving) state.loaded.delete(version);
  }
}

/**
 * Loads a version once per isolate (concurrent callers share the load) and keeps it. A failure is
 * remembered, so requests don't hammer a broken version, and retried after MODEL_RETRY_SECONDS.
 */
export function ensureLoaded(env: Env, version: string): Promise<LoadedModel> {
  const done = state.loaded.get(version);
  if (done) return Promise.resolve(done);
  const pending = state.loading.get(version);
  if (pending) return pending;
  const promise = loadModel(env, version).then(
    (model) => {
      state.loaded.delete(version);
      state.loaded.set(version, model);
      state.failures.delete(version);
      evict();
      return model;
    },
    (err: unknown) => {
      const why = errorMessage(err);
      console.error(`edgerec: model ${version} failed to load: ${why}`);
      state.failures.set(version, failure(why, version));
      throw err;
    },
  );
  state.loading.set(version, promise);
  void promise.then(
    () => state.loading.delete(version),
    () => state.loading.delete(version),
  );
  return promise;
}

/** The version serving requests in this isolate, if any (for the x-model-version header). */
export function servingVersion(): string | undefined {
  return state.serving;
}

/**
 * A loaded model of a given version without waiting: undefined while it loads (in the background)
 * or when it failed. Used for experiment arms, so a cold arm never slows a request down.
 */
export function modelIfLoaded(env: Env, version: string, waitUntil?: (p: Promise<unknown>) => void): LoadedModel | undefined {
  const model = state.loaded.get(version);
  if (model) return model;
  if (!recentlyFailed(env, version)) {
    const p = ensureLoaded(env, version).catch(() => undefined);
    waitUntil?.(p);
  }
  return undefined;
}

/**
 * The model to serve this request with. The first request of an isolate waits for the load; later
 * version switches load in the background (`waitUntil`) while the current model keeps serving, and a
 * version that fails to load is never switched to.
 */
export async function getModelState(env: Env, waitUntil?: (p: Promise<unknown>) => void): Promise<ModelState> {
  let activeVersion: string | undefined;
  try {
    activeVersion = await readActiveVersion(env);
    state.kvError = undefined;
  } catch (err) {
    state.kvError = failure(`KV read failed: ${errorMessage(err)}`);
    activeVersion = state.pointer?.version ?? state.serving;
  }
  if (activeVersion && activeVersion !== state.serving && !recentlyFailed(env, activeVersion)) {
    const switchTo = ensureLoaded(env, activeVersion).then(
      (model) => {
        // Only switch if this is still the active version (a newer activation may have raced us).
        if (state.pointer?.version === model.version || !state.pointer) state.serving = model.version;
      },
      () => undefined,
    );
    // Handed to waitUntil even when this request waits for it: other requests may be waiting on the
    // same load, and it must not stop with this one if its client goes away.
    waitUntil?.(switchTo);
    if (!state.serving || !waitUntil) await switchTo;
  }
  // A cold isolate whose active version cannot load serves the previously active version (the
  // pointer's `previous`, written by admin activate, the publisher and the gate) rather than nothing.
  const previous = state.pointer?.previous;
  if (
    !state.serving &&
    activeVersion &&
    previous &&
    previous !== activeVersion &&
    state.failures.has(activeVersion) &&
    !recentlyFailed(env, previous)
  ) {
    const fallBack = ensureLoaded(env, previous).then(
      (model) => {
        state.serving ??= model.version;
      },
      () => undefined,
    );
    waitUntil?.(fallBack);
    await fallBack;
  }
  const model = state.serving ? state.loaded.get(state.serving) : undefined;
  let error: Failure | undefined = state.kvError;
  if (!activeVersion && !model) error ??= failure('no active model version is published');
  if (activeVersion && activeVersion !== model?.version) error ??= state.failures.get(activeVersion);
  return {
    model,
    fallbackCatalog: state.fallbackCatalog,
    activeVersion,
    error: error && { version: error.version, message: error.message, at: error.at },
  };
}

/** Forgets everything loaded in this isolate (tests use this to start from a cold isolate). */
export function resetModelState(): void {
  state.loaded.clear();
  state.loading.clear();
  state.failures.clear();
  state.serving = undefined;
  state.fallbackCatalog = undefined;
  state.pointer = undefined;
  state.kvError = undefined;
}
