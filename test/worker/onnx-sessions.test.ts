/**
 * The ONNX runtime Worker's sessions (src/onnx/sessions.ts) in workerd with real onnxruntime-web,
 * over the simulated R2 with its reads counted: one start per graph however many callers, a failed
 * start remembered for its retry period, then tried again.
 */
import { describe, expect, it } from 'vitest';
import { loadUserEncoder } from '../../src/onnx/encoder';
import { OnnxSessions } from '../../src/onnx/sessions';
import { blobKey } from '../../src/model/store';
import { fixtureBytes, fixtureJson, testEnv } from './helpers';

function countingEnv() {
  const reads: string[] = [];
  const env = {
    EDGEREC_R2: {
      get: (key: string) => {
        reads.push(key);
        return testEnv.EDGEREC_R2.get(key);
      },
    } as unknown as R2Bucket,
  };
  return { env, reads };
}

describe('ONNX sessions', () => {
  it('starts a graph once for concurrent callers, and runs it', async () => {
    const manifest: any = await fixtureJson('models/default/manifest.json');
    const graph = manifest.files.userEncoder;
    await testEnv.EDGEREC_R2.put(blobKey(graph.sha256), await fixtureBytes(`models/default/${graph.path}`), { sha256: graph.sha256 });
    const { env, reads } = countingEnv();
    const sessions = new OnnxSessions(env);
    await Promise.all([sessions.open('user', graph), sessions.open('user', graph), sessions.open('user', graph)]);
    expect(reads).toEqual([blobKey(graph.sha256)]);
    const { maxLen, dim } = manifest;
    const out = await sessions.encodeUser(graph, {
      batch: 1,
      maxLen,
      dim,
      histEmb: new Float32Array(maxLen * dim).fill(0.1),
      histEvent: new BigInt64Array(maxLen),
      histAge: new Float32Array(maxLen),
    });
    expect(out.userEmb).toHaveLength(dim);
    expect(reads).toHaveLength(1);
  });

  it('answers a recent failed start with its error without reading again, and retries after the period', async () => {
    const graph = { path: 'user_encoder.int8.onnx', sha256: '9'.repeat(64), bytes: 10 };
    await testEnv.EDGEREC_R2.delete(blobKey(graph.sha256));
    const { env, reads } = countingEnv();
    const remembering = new OnnxSessions(env, { retrySeconds: 60 });
    await expect(remembering.open('user', graph)).rejects.toThrow(/is missing from R2/);
    await expect(remembering.open('user', graph)).rejects.toThrow(/is missing from R2/);
    expect(reads).toHaveLength(1);
    const retrying = new OnnxSessions(env, { retrySeconds: 0 });
    await expect(retrying.open('user', graph)).rejects.toThrow(/is missing from R2/);
    await expect(retrying.open('user', graph)).rejects.toThrow(/is missing from R2/);
    expect(reads).toHaveLength(3);
  });

  it('a released session finishes the runs queued before the release and refuses later ones', async () => {
    const manifest: any = await fixtureJson('models/default/manifest.json');
    const encoder = await loadUserEncoder(new Uint8Array(await fixtureBytes(`models/default/${manifest.files.userEncoder.path}`)));
    const { maxLen, dim } = manifest;
    const batch = () => ({
      batch: 1,
      maxLen,
      dim,
      histEmb: new Float32Array(maxLen * dim).fill(0.2),
      histEvent: new BigInt64Array(maxLen),
      histAge: new Float32Array(maxLen),
    });
    const queued = [encoder.run(batch()), encoder.run(batch())];
    const released = encoder.release();
    const outs = await Promise.all(queued);
    for (const out of outs) expect(out.userEmb).toHaveLength(dim);
    await released;
    await expect(encoder.run(batch())).rejects.toThrow(/released/);
    await expect(encoder.release()).resolves.toBeUndefined(); // twice is harmless
  });
});
