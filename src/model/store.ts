/**
 * Loading the active model: KV holds a small pointer to the active version, R2 holds the manifest and
 * content-addressed blobs. Models are loaded lazily on first use and cached per isolate by version;
 * a new version loads in the background while the loaded one keeps serving, and a version that fails
 * to load is never switched to.
 */
import { Catalog } from '../core/catalog';
import { itemTableFromBytes } from '../core/item-table';
import { itemsFileSchema, parseManifest, popularFileSchema, type FileEntry, type Manifest } from '../core/manifest';
import type { ScoringModel } from '../core/recommend';
import type { Env } from '../env';
import { Vocab } from '../core/tokenizer';
import { loadTextEncoder, loadUserEncoder, type EncodeTextFn } from './encoder';

export const ACTIVE_KEY = 'active';
/** KV: the list of published versions, kept by the publisher. */
export const VERSIONS_KEY = 'versions';
export const manifestKey = (version: string) => `manifests/${version}.json`;
export const blobKey = (sha256: string) => `blobs/sha256/${sha256}`;

/** A model whose every part loaded: it can score. */
export interface LoadedModel extends ScoringModel {
  version: string;
  manifest: Manifest;
  /** The text tower and its tokenizer, when the artifact has them (search, cold items). */
  text?: { vocab: Vocab; encode: EncodeTextFn };
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

interface IsolateState {
  model?: LoadedModel;
  fallbackCatalog?: { version: string; catalog: Catalog };
  pointer?: { version: string | undefined; readAt: number };
  loading?: { version: string; promise: Promise<void> };
  error?: { version?: string; message: string; at: string; atMs: number };
}

/** A version that failed to load is retried after this long, so a fixed fault heals by itself. */
const RETRY_FAILED_MS = 15_000;

const state: IsolateState = {};

function fail(message: string, version?: string) {
  state.error = { version, message, at: new Date().toISOString(), atMs: Date.now() };
}

async function readBlob(env: Env, entry: FileEntry): Promise<ArrayBuffer> {
  const obj = await env.EDGEREC_R2.get(blobKey(entry.sha256));
  if (!obj) throw new Error(`blob ${entry.path} (${entry.sha256.slice(0, 12)}) is missing from R2`);
  const bytes = await obj.arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  if (hex !== entry.sha256) throw new Error(`blob ${entry.path} failed its checksum`);
  return bytes;
}

async function readJsonBlob(env: Env, entry: FileEntry): Promise<unknown> {
  return JSON.parse(new TextDecoder().decode(await readBlob(env, entry)));
}

/** Reads and validates one version's manifest. */
export async function readManifest(env: Env, version: string): Promise<Manifest> {
  const obj = await env.EDGEREC_R2.get(manifestKey(version));
  if (!obj) throw new Error(`manifest of version ${version} is missing from R2`);
  const manifest = parseManifest(await obj.json());
  if (manifest.version !== version) throw new Error(`manifest ${version} names itself ${manifest.version}`);
  return manifest;
}

async function loadCatalog(env: Env, manifest: Manifest): Promise<Catalog> {
  const [items, popular] = await Promise.all([readJsonBlob(env, manifest.files.items), readJsonBlob(env, manifest.files.popular)]);
  const catalog = new Catalog(itemsFileSchema.parse(items), popularFileSchema.parse(popular));
  if (catalog.rows !== manifest.items) throw new Error(`items.json has ${catalog.rows} items, the manifest says ${manifest.items}`);
  return catalog;
}

/** Loads every part of one version; throws if any part is missing, corrupt or fails to initialise. */
export async function loadModel(env: Env, version: string): Promise<LoadedModel> {
  const manifest = await readManifest(env, version);
  const { files } = manifest;
  const parts = await Promise.allSettled([
    loadCatalog(env, manifest),
    readBlob(env, files.itemEmbeddings),
    readBlob(env, files.itemScales),
    readBlob(env, files.userEncoder),
  ] as const);
  // The catalog alone is enough for the popularity fallback, even when the rest is broken.
  if (parts[0].status === 'fulfilled') state.fallbackCatalog = { version, catalog: parts[0].value };
  const failed = parts.find((p) => p.status === 'rejected');
  if (failed) throw failed.reason;
  const [catalog, emb, scales, encoderBytes] = parts.map((p) => (p as PromiseFulfilledResult<unknown>).value) as [Catalog, ArrayBuffer, ArrayBuffer, ArrayBuffer];
  const table = itemTableFromBytes(emb, scales, manifest.items, manifest.dim);
  const encode = await loadUserEncoder(new Uint8Array(encoderBytes));
  let text: LoadedModel['text'];
  if (files.textEncoder && files.vocab) {
    const [textBytes, vocab] = await Promise.all([readBlob(env, files.textEncoder), readJsonBlob(env, files.vocab)]);
    text = { vocab: new Vocab(vocab as ConstructorParameters<typeof Vocab>[0]), encode: await loadTextEncoder(new Uint8Array(textBytes)) };
  }
  return {
    text,
    version,
    manifest,
    catalog,
    table,
    encode,
    maxLen: manifest.maxLen,
    eventTypes: manifest.eventTypes,
    categories: manifest.categories,
  };
}

function pointerTtlMs(env: Env): number {
  const s = Number(env.POINTER_TTL_SECONDS ?? '10');
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 10_000;
}

async function readActiveVersion(env: Env): Promise<string | undefined> {
  const now = Date.now();
  if (state.pointer && now - state.pointer.readAt < pointerTtlMs(env)) return state.pointer.version;
  const pointer = await env.EDGEREC_KV.get<{ version?: string }>(ACTIVE_KEY, 'json');
  const version = typeof pointer?.version === 'string' ? pointer.version : undefined;
  state.pointer = { version, readAt: now };
  return version;
}

function recentlyFailed(version: string): boolean {
  return state.error?.version === version && Date.now() - state.error.atMs < RETRY_FAILED_MS;
}

/** The version serving requests in this isolate, if any (for the x-model-version header). */
export function servingVersion(): string | undefined {
  return state.model?.version;
}

function startLoading(env: Env, version: string): Promise<void> {
  if (state.loading?.version === version) return state.loading.promise;
  const promise = loadModel(env, version).then(
    (model) => {
      state.model = model;
      state.error = undefined;
    },
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      console.error(`edgerec: model ${version} failed to load: ${message}`);
      fail(message, version);
    },
  );
  state.loading = { version, promise };
  void promise.finally(() => {
    if (state.loading?.promise === promise) state.loading = undefined;
  });
  return promise;
}

/**
 * The model to serve this request with. The first request of an isolate waits for the load; later
 * version switches load in the background (`waitUntil`) while the current model keeps serving.
 */
export async function getModelState(env: Env, waitUntil?: (p: Promise<unknown>) => void): Promise<ModelState> {
  let activeVersion: string | undefined;
  try {
    activeVersion = await readActiveVersion(env);
  } catch (err) {
    fail(`KV read failed: ${err instanceof Error ? err.message : String(err)}`);
    activeVersion = state.pointer?.version ?? state.model?.version;
  }
  if (!activeVersion) {
    if (!state.model) fail('no active model version is published');
  } else if (state.model?.version !== activeVersion && !recentlyFailed(activeVersion)) {
    const loading = startLoading(env, activeVersion);
    if (state.model && waitUntil) waitUntil(loading);
    else await loading;
  }
  if (state.model && state.model.version === activeVersion) state.error = undefined;
  const error = state.error && { version: state.error.version, message: state.error.message, at: state.error.at };
  return { model: state.model, fallbackCatalog: state.fallbackCatalog, activeVersion, error };
}

/** Forgets everything loaded in this isolate (tests and admin use this). */
export function resetModelState(): void {
  for (const key of Object.keys(state) as (keyof IsolateState)[]) delete state[key];
}
