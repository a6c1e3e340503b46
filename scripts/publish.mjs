#!/usr/bin/env node
/**
 * Publishes an artifact directory (docs/ARTIFACTS.md) to R2 + KV and manages published versions.
 *
 *   node scripts/publish.mjs push DIR [--candidate | --no-activate] [--if-absent]   (--if-absent: unless a
 *                                    version activated by hand is active; a seeded older default is replaced)
 *   node scripts/publish.mjs list
 *   node scripts/publish.mjs activate VERSION        (manual; rollback = activate an older one)
 *   node scripts/publish.mjs rollback                (activate the previously active version)
 *   node scripts/publish.mjs promote [--margin 0.02] (the quality gate, as the Worker's cron runs it)
 *   node scripts/publish.mjs prune --keep N          (retention: never deletes the active version)
 *   node scripts/publish.mjs experiment start ID TREATMENT_VERSION RATIO | experiment stop
 *   every command takes --local (default) or --remote, and --persist-to DIR with --local
 *
 * Order matters: every blob goes to R2 under its content hash (`blobs/sha256/<hex>`) and is read back
 * and verified, then the manifest (`manifests/<version>.json`), and only then is the KV pointer
 * `active` flipped. A Worker therefore never sees a version whose blobs are not all in place.
 *
 * --local (default) writes the on-disk state that `wrangler dev` uses (.wrangler/state/v3, or
 * --persist-to DIR) through wrangler's getPlatformProxy. --remote goes through `wrangler r2`/`wrangler kv`
 * against a real account (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { DEFAULT_GATE, qualityGate } from '../src/core/gate.ts';
import './ts-hooks.mjs';

const ROOT = resolve(import.meta.dirname, '..');
// getPlatformProxy warns that the Worker's own Durable Object is not served here; we only use KV and R2.
process.env.WRANGLER_LOG ??= 'error';
const ACTIVE_KEY = 'active';
const VERSIONS_KEY = 'versions';
const CANDIDATE_KEY = 'candidate';
const DECISIONS_KEY = 'decisions';
const EXPERIMENT_KEY = 'experiment';
const BUCKET = 'edgerec-models';
const blobKey = (sha) => `blobs/sha256/${sha}`;
const manifestKey = (version) => `manifests/${version}.json`;
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** Local store: the Miniflare state wrangler dev reads. */
async function localStore(persistTo) {
  const { getPlatformProxy } = await import('wrangler');
  const proxy = await getPlatformProxy({
    configPath: join(ROOT, 'wrangler.toml'),
    // Same meaning as `wrangler dev --persist-to DIR`, which keeps its state in DIR/v3.
    persist: persistTo ? { path: join(resolve(persistTo), 'v3') } : true,
    remoteBindings: false,
  });
  const { EDGEREC_KV: kv, EDGEREC_R2: r2 } = proxy.env;
  return {
    async getObject(key) {
      const obj = await r2.get(key);
      return obj ? Buffer.from(await obj.arrayBuffer()) : null;
    },
    async headObject(key) {
      const obj = await r2.head(key);
      const sum = obj?.checksums.sha256;
      return obj ? { size: obj.size, sha256: sum ? Buffer.from(sum).toString('hex') : null } : null;
    },
    // With its sha256, R2 verifies the bytes as it stores them and keeps the checksum, which the
    // Worker then checks instead of hashing large blobs again (src/model/store.ts readBlobInto).
    putObject: (key, bytes, sha256hex) => r2.put(key, bytes, sha256hex ? { sha256: sha256hex } : undefined),
    deleteObject: (key) => r2.delete(key),
    async listObjects(prefix) {
      const keys = [];
      let cursor;
      do {
        const page = await r2.list({ prefix, cursor });
        keys.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return keys;
    },
    getKv: (key) => kv.get(key),
    putKv: (key, value) => kv.put(key, value),
    deleteKv: (key) => kv.delete(key),
    close: () => proxy.dispose(),
  };
}

/** Remote store: a real Cloudflare account through the wrangler CLI. */
function remoteStore() {
  const wrangler = (...args) =>
    execFileSync('npx', ['wrangler', ...args, '--remote'], { cwd: ROOT, encoding: 'buffer', stdio: ['ignore', 'pipe', 'inherit'] });
  const tmp = mkdtempSync(join(tmpdir(), 'edgerec-publish-'));
  return {
    async getObject(key) {
      const file = join(tmp, 'get');
      try {
        wrangler('r2', 'object', 'get', `${BUCKET}/${key}`, '--file', file);
        return readFileSync(file);
      } catch {
        return null;
      }
    },
    async headObject(key) {
      const bytes = await this.getObject(key);
      return bytes ? { size: bytes.length } : null;
    },
    async putObject(key, bytes) {
      const file = join(tmp, 'put');
      writeFileSync(file, bytes);
      wrangler('r2', 'object', 'put', `${BUCKET}/${key}`, '--file', file);
    },
    async getKv(key) {
      try {
        return wrangler('kv', 'key', 'get', key, '--binding', 'EDGEREC_KV').toString('utf8') || null;
      } catch {
        return null;
      }
    },
    async deleteObject(key) {
      wrangler('r2', 'object', 'delete', `${BUCKET}/${key}`);
    },
    async listObjects() {
      throw new Error('prune --remote: list R2 objects with the Cloudflare dashboard or API; not supported by the wrangler CLI');
    },
    async putKv(key, value) {
      wrangler('kv', 'key', 'put', key, value, '--binding', 'EDGEREC_KV');
    },
    async deleteKv(key) {
      wrangler('kv', 'key', 'delete', key, '--binding', 'EDGEREC_KV');
    },
    async close() {},
  };
}

async function readVersions(store) {
  const raw = await store.getKv(VERSIONS_KEY);
  return raw ? JSON.parse(raw) : [];
}

/** Uploads every blob of an artifact directory, verifies it, then writes its manifest. */
export async function pushArtifact(store, dir) {
  const manifestBytes = readFileSync(join(dir, 'manifest.json'));
  const manifest = JSON.parse(manifestBytes.toString('utf8'));
  // The Worker's own check (src/core/manifest.ts): a manifest it would refuse is never published.
  const { parseManifest } = await import('../src/core/manifest.ts');
  try {
    parseManifest(manifest);
  } catch (err) {
    throw new Error(`${dir}/manifest.json: ${err.message}`);
  }
  const entries = Object.entries(manifest.files);
  const blobs = entries.map(([name, f]) => {
    const bytes = readFileSync(join(dir, f.path));
    if (sha256(bytes) !== f.sha256) throw new Error(`${f.path}: sha256 does not match the manifest (${name})`);
    return { name, entry: f, bytes };
  });
  const total = blobs.reduce((s, b) => s + b.bytes.length, 0);
  const bar = new cliProgress.SingleBar(
    {
      format: 'publish {version} [{bar}] {percentage}% | {value}/{total} bytes | {file}',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 500,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { version: manifest.version, file: '' });
  let uploaded = 0;
  for (const { entry, bytes } of blobs) {
    bar.update({ file: entry.path });
    const key = blobKey(entry.sha256);
    const existing = await store.headObject(key);
    // Re-put an object stored without R2's sha256 (null; the remote store cannot tell: undefined).
    if (!existing || existing.size !== bytes.length || existing.sha256 === null) {
      await store.putObject(key, bytes, entry.sha256);
      const back = await store.getObject(key);
      if (!back || sha256(back) !== entry.sha256) throw new Error(`${entry.path}: verification after upload failed`);
      uploaded++;
    }
    bar.increment(bytes.length);
  }
  bar.stop();
  await store.putObject(manifestKey(manifest.version), manifestBytes);
  const versions = (await readVersions(store)).filter((v) => v.version !== manifest.version);
  versions.push({
    version: manifest.version,
    createdAt: manifest.createdAt,
    publishedAt: new Date().toISOString(),
    metrics: manifest.metrics ?? {},
  });
  await store.putKv(VERSIONS_KEY, JSON.stringify(versions));
  console.log(
    `published ${manifest.version}: ${blobs.length} blobs (${uploaded} uploaded, ${blobs.length - uploaded} already present), ${total} bytes`,
  );
  return manifest;
}

/**
 * Points KV at a version whose manifest and blobs are all present. `seeded`: activated by
 * `push --if-absent` (npm start's default model), not chosen by anyone.
 */
export async function activate(store, version, { seeded = false } = {}) {
  const manifest = await readManifestOf(store, version);
  if (!manifest) throw new Error(`version ${version} is not published`);
  for (const f of Object.values(manifest.files)) {
    if (!(await store.headObject(blobKey(f.sha256)))) throw new Error(`version ${version}: blob ${f.path} is missing`);
  }
  const previous = await readJsonKv(store, ACTIVE_KEY);
  const pointer = {
    version,
    activatedAt: new Date().toISOString(),
    previous: previous ? previous.version : null,
    ...(seeded ? { seeded: true } : {}),
  };
  await store.putKv(ACTIVE_KEY, JSON.stringify(pointer));
  console.log(`active version: ${version}`);
}

async function readJsonKv(store, key) {
  const raw = await store.getKv(key);
  return raw ? JSON.parse(raw) : null;
}

async function readManifestOf(store, version) {
  const raw = await store.getObject(manifestKey(version));
  return raw ? JSON.parse(raw.toString('utf8')) : null;
}

/** Runs the quality gate on the published candidate, exactly as the Worker's scheduled handler does. */
export async function promote(store, { margin = DEFAULT_GATE.margin, metric = DEFAULT_GATE.metric } = {}) {
  const candidate = (await readJsonKv(store, CANDIDATE_KEY))?.version;
  const active = (await readJsonKv(store, ACTIVE_KEY))?.version ?? null;
  if (!candidate) {
    console.log('no candidate is waiting');
    return null;
  }
  const cm = await readManifestOf(store, candidate);
  const am = active ? await readManifestOf(store, active) : null;
  const decision = {
    at: new Date().toISOString(),
    version: candidate,
    against: active,
    by: 'publisher',
    ...qualityGate(cm?.metrics, am?.metrics, { margin, metric }),
  };
  if (decision.promote) await activate(store, candidate);
  await store.deleteKv(CANDIDATE_KEY);
  const past = (await readJsonKv(store, DECISIONS_KEY)) ?? [];
  await store.putKv(DECISIONS_KEY, JSON.stringify([decision, ...past].slice(0, 50)));
  console.log(`gate ${decision.promote ? 'PROMOTED' : 'REFUSED'} ${candidate}: ${decision.reason}`);
  return decision;
}

/** Activates the version that was active before the current one. */
export async function rollback(store) {
  const current = await readJsonKv(store, ACTIVE_KEY);
  let target = current?.previous;
  if (!target) {
    const versions = await readVersions(store);
    const i = versions.findIndex((v) => v.version === current?.version);
    target = i > 0 ? versions[i - 1].version : null;
  }
  if (!target) throw new Error('nothing to roll back to');
  await activate(store, target);
}

/** Keeps the newest `keep` versions (plus the active one and the candidate) and deletes unreferenced blobs. */
export async function prune(store, keep) {
  if (!(keep >= 1)) throw new Error('--keep must be at least 1');
  const versions = await readVersions(store);
  const protectedVersions = new Set(
    [(await readJsonKv(store, ACTIVE_KEY))?.version, (await readJsonKv(store, CANDIDATE_KEY))?.version].filter(Boolean),
  );
  const kept = versions.filter((v, i) => i >= versions.length - keep || protectedVersions.has(v.version));
  const dropped = versions.filter((v) => !kept.includes(v));
  const referenced = new Set();
  for (const v of kept)
    for (const f of Object.values((await readManifestOf(store, v.version))?.files ?? {})) referenced.add(blobKey(f.sha256));
  for (const v of dropped) await store.deleteObject(manifestKey(v.version));
  let blobs = 0;
  for (const key of await store.listObjects('blobs/')) {
    if (!referenced.has(key)) (await store.deleteObject(key), blobs++);
  }
  await store.putKv(VERSIONS_KEY, JSON.stringify(kept));
  console.log(`kept ${kept.length} versions, deleted ${dropped.length} versions and ${blobs} unreferenced blobs`);
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      local: { type: 'boolean', default: false },
      remote: { type: 'boolean', default: false },
      'persist-to': { type: 'string' },
      'no-activate': { type: 'boolean', default: false },
      'if-absent': { type: 'boolean', default: false },
      candidate: { type: 'boolean', default: false },
      margin: { type: 'string' },
      keep: { type: 'string' },
    },
  });
  const [command, arg, ...rest] = positionals;
  if (values.local && values.remote) throw new Error('choose one of --local and --remote');
  const store = values.remote ? remoteStore() : await localStore(values['persist-to']);
  try {
    if (command === 'push' && arg) {
      // --if-absent (npm start): publish unless someone chose the active version. A version this flag
      // seeded itself is replaced by a newer default, so a pulled models/default is what `npm start` serves.
      const active = values['if-absent'] ? await readJsonKv(store, ACTIVE_KEY) : null;
      if (active) {
        const wanted = JSON.parse(readFileSync(join(resolve(arg), 'manifest.json'), 'utf8')).version;
        if (!active.seeded || active.version === wanted) {
          console.log(
            `active version ${active.version} stays (${active.seeded ? 'already this default' : 'activated by hand'}; --if-absent)`,
          );
          return;
        }
        console.log(`replacing the seeded default ${active.version} with ${wanted} (--if-absent)`);
      }
      const manifest = await pushArtifact(store, resolve(arg));
      if (values.candidate) {
        await store.putKv(CANDIDATE_KEY, JSON.stringify({ version: manifest.version, publishedAt: new Date().toISOString() }));
        console.log(`candidate: ${manifest.version} (promoted by the gate: \`publish.mjs promote\` or the Worker's cron)`);
      } else if (!values['no-activate']) await activate(store, manifest.version, { seeded: values['if-absent'] });
    } else if (command === 'activate' && arg) {
      await activate(store, arg);
    } else if (command === 'rollback') {
      await rollback(store);
    } else if (command === 'promote') {
      const decision = await promote(store, values.margin ? { margin: Number(values.margin) } : {});
      if (decision && !decision.promote) process.exitCode = 3;
    } else if (command === 'prune') {
      await prune(store, Number(values.keep ?? 5));
    } else if (command === 'experiment' && arg === 'start' && rest.length === 3) {
      const [id, treatment, ratio] = rest;
      if (!(await readManifestOf(store, treatment))) throw new Error(`version ${treatment} is not published`);
      await store.putKv(EXPERIMENT_KEY, JSON.stringify({ id, treatment, ratio: Number(ratio) }));
      console.log(`experiment ${id}: ${Number(ratio) * 100}% of users on ${treatment}`);
    } else if (command === 'experiment' && arg === 'stop') {
      await store.deleteKv(EXPERIMENT_KEY);
      console.log('experiment stopped');
    } else if (command === 'list') {
      const active = JSON.parse((await store.getKv(ACTIVE_KEY)) ?? '{}').version;
      const candidate = (await readJsonKv(store, CANDIDATE_KEY))?.version;
      for (const v of await readVersions(store)) {
        const m = v.metrics?.int8 ?? {};
        const mark = v.version === active ? '*' : v.version === candidate ? 'c' : ' ';
        console.log(`${mark} ${v.version}  created ${v.createdAt}  ndcg@10(int8) ${m['ndcg@10'] ?? '-'}`);
      }
    } else {
      console.error(
        'usage: publish.mjs push DIR [--candidate] | list | activate VERSION | rollback | promote | prune --keep N | experiment start ID VERSION RATIO | experiment stop   [--local|--remote] [--persist-to DIR]',
      );
      process.exitCode = 2;
    }
  } finally {
    await store.close();
  }
}

main().catch((err) => {
  console.error(`publish: ${err.message}`);
  process.exit(1);
});
