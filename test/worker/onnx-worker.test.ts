/**
 * The ONNX runtime Worker (src/onnx/worker.ts, an auxiliary Worker here as deployed beside the
 * edgerec Worker) called over the `ONNX` service binding the way src/onnx/towers.ts calls it: graphs
 * named by their manifest entry and read from the shared R2, checked, started once, and tried again
 * after a failed start.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { blobKey } from '../../src/model/store';
import type { OnnxTowers } from '../../src/onnx/sessions';
import { fixtureBytes, publishArtifact, sha256Hex, testEnv } from './helpers';

const onnx = (env as unknown as { ONNX: OnnxTowers & Fetcher }).ONNX;
let manifest: any;

beforeAll(async () => {
  manifest = await publishArtifact('models/default');
});

/** A user batch of one history of `len` events (zeros after the first slot). */
function batch(len: number) {
  const { maxLen, dim } = manifest;
  const histEmb = new Float32Array(maxLen * dim);
  for (let d = 0; d < dim; d++) histEmb[(maxLen - len) * dim + d] = Math.sin(d);
  const histEvent = new BigInt64Array(maxLen);
  histEvent[maxLen - len] = 1n;
  return { batch: 1, maxLen, dim, histEmb, histEvent, histAge: new Float32Array(maxLen) };
}

/** The error a call rejects with (awaited here: an RPC promise's rejection left to `expect().rejects` is reported unhandled). */
async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (err) {
    return err as Error;
  }
  throw new Error('the call did not fail');
}

describe('the ONNX runtime Worker over its service binding', () => {
  it('runs the user and text encoders of the published artifact', async () => {
    await onnx.open('user', manifest.files.userEncoder);
    const out = await onnx.encodeUser(manifest.files.userEncoder, batch(1));
    expect(out.userEmb).toBeInstanceOf(Float32Array);
    expect(out.userEmb).toHaveLength(manifest.dim);
    expect(out.userEmb.every(Number.isFinite)).toBe(true);
    expect(Math.hypot(...out.userEmb)).toBeGreaterThan(0);
    expect(out.attention).toHaveLength(manifest.maxLen);
    const vocab = JSON.parse(new TextDecoder().decode(await fixtureBytes(`models/default/${manifest.files.vocab.path}`)));
    const tokens = new BigInt64Array(vocab.maxTokens);
    tokens[0] = 5n;
    const text = await onnx.encodeText(manifest.files.textEncoder, tokens);
    expect(text).toHaveLength(manifest.dim);
    expect(text.every(Number.isFinite)).toBe(true);
  });

  it('a graph missing from R2 fails with its path, and starts once it is there (a failed start is not kept)', async () => {
    // The fp32 encoder: a graph no other test has started in this isolate.
    const entry = manifest.files.userEncoderFp32;
    const bytes = await fixtureBytes(`models/default/${entry.path}`);
    await testEnv.EDGEREC_R2.delete(blobKey(entry.sha256));
    expect((await failure(onnx.open('user', entry))).message).toMatch(/user_encoder\.onnx .*is missing from R2/);
    await testEnv.EDGEREC_R2.put(blobKey(entry.sha256), bytes, { sha256: entry.sha256 });
    await expect(onnx.open('user', entry)).resolves.toBeUndefined();
  });

  it('refuses bytes that do not match the manifest, and a tower it does not know', async () => {
    const junk = new TextEncoder().encode('not the graph the manifest names');
    const sha = 'e'.repeat(64);
    await testEnv.EDGEREC_R2.put(blobKey(sha), junk);
    expect((await failure(onnx.open('user', { path: 'user_encoder.onnx', sha256: sha, bytes: junk.byteLength }))).message).toMatch(
      /failed its checksum/,
    );
    const real = await sha256Hex(junk);
    await testEnv.EDGEREC_R2.put(blobKey(real), junk, { sha256: real });
    // Intact bytes that are no ONNX graph: ORT's own error comes back.
    expect((await failure(onnx.open('user', { path: 'user_encoder.onnx', sha256: real, bytes: junk.byteLength }))).message).toMatch(
      /protobuf|session/i,
    );
    expect((await failure(onnx.open('bogus' as never, manifest.files.userEncoder))).message).toMatch(/unknown tower bogus/);
  });

  it('has no HTTP API: fetch answers 404 in the error shape', async () => {
    const res = await onnx.fetch('http://edgerec-onnx/v1/recommend');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found', details: null } });
  });
});
