/** Test helpers that run inside workerd: publishing real artifacts into the simulated R2/KV. */
import { exports as workerExports } from 'cloudflare:workers';
import { env } from 'cloudflare:workers';
import { ACTIVE_KEY, blobKey, manifestKey, resetModelState } from '../../src/model/store';

export interface TestEnv {
  EDGEREC_KV: KVNamespace;
  EDGEREC_R2: R2Bucket;
  FIXTURES: Fetcher;
  ADMIN_TOKEN: string;
}
export const testEnv = env as unknown as TestEnv;

export async function fixtureBytes(path: string): Promise<ArrayBuffer> {
  const res = await testEnv.FIXTURES.fetch(`http://fixtures/${path}`);
  if (!res.ok) throw new Error(`fixture ${path}: ${res.status}`);
  return res.arrayBuffer();
}

export async function sha256Hex(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function fixtureJson<T = any>(path: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await fixtureBytes(path))) as T;
}

/**
 * Publishes an artifact directory the way scripts/publish.mjs does (blobs, then manifest, then the
 * pointer), optionally without activating it. Returns its manifest.
 */
export async function publishArtifact(dir: string, { activate = true, overrides = {} as Record<string, unknown> } = {}): Promise<any> {
  const manifest = { ...(await fixtureJson(`${dir}/manifest.json`)), ...overrides };
  for (const f of Object.values<any>(manifest.files)) {
    const bytes = await fixtureBytes(`${dir}/${f.path}`);
    // With the sha256 R2 verifies, as the publisher puts blobs; tests that override an entry's hash
    // to point it at other bytes get a plain put (R2 would refuse the mismatch).
    const matches = (await sha256Hex(new Uint8Array(bytes))) === f.sha256;
    await testEnv.EDGEREC_R2.put(blobKey(f.sha256), bytes, matches ? { sha256: f.sha256 } : undefined);
  }
  await testEnv.EDGEREC_R2.put(manifestKey(manifest.version), JSON.stringify(manifest));
  if (activate) await testEnv.EDGEREC_KV.put(ACTIVE_KEY, JSON.stringify({ version: manifest.version }));
  return manifest;
}

/** Forgets the isolate's loaded model so the next request reads KV/R2 again. */
export function resetModel(): void {
  resetModelState();
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`http://edgerec.test${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Sends a request to the Worker under test (its default export's fetch, inside workerd). */
export function call(request: Request | string): Promise<Response> {
  const req = typeof request === 'string' ? new Request(`http://edgerec.test${request}`) : request;
  return (workerExports as any).default.fetch(req);
}
