import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { assignVariant } from '../../src/core/ab';
import { resetExperimentCache } from '../../src/model/lifecycle';
import { call, fixtureJson, postJson, publishArtifact, resetModel, testEnv } from './helpers';

const MODEL = 'models/default';
const admin = { authorization: 'Bearer test-admin-token' };
let base: any;
let firstItem: string;

/** Publishes the default artifact again under another version name and with other metrics. */
function publishVersion(version: string, ndcgScale: number, opts: { activate?: boolean; files?: any } = {}) {
  const metrics = structuredClone(base.metrics);
  metrics.int8['ndcg@10'] = base.metrics.int8['ndcg@10'] * ndcgScale;
  return publishArtifact(MODEL, {
    activate: opts.activate ?? false,
    overrides: { version, metrics, ...(opts.files ? { files: opts.files } : {}) },
  });
}

async function servedVersion(): Promise<string | null> {
  const res = await call(postJson('/v1/recommend', { history: [{ itemId: firstItem }], k: 3 }));
  await res.arrayBuffer();
  return res.headers.get('x-model-version');
}

/** The switch happens in the background (waitUntil); poll a few requests until it has. */
async function waitForVersion(version: string): Promise<string | null> {
  let seen: string | null = null;
  for (let i = 0; i < 30 && seen !== version; i++) {
    seen = await servedVersion();
    if (seen !== version) await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

beforeAll(async () => {
  base = await fixtureJson(`${MODEL}/manifest.json`);
  firstItem = (await fixtureJson(`${MODEL}/items.json`)).ids[0];
});
beforeEach(async () => {
  resetModel();
  resetExperimentCache();
  for (const key of ['candidate', 'decisions', 'experiment']) await testEnv.EDGEREC_KV.delete(key);
  await publishVersion('v1', 1, { activate: true });
});

describe('hot swap and rollback', () => {
  it('activating v2 changes x-model-version without a restart, and activating v1 rolls back', async () => {
    expect(await servedVersion()).toBe('v1');
    await publishVersion('v2', 1);
    const res = await call(new Request('http://edgerec.test/admin/models/v2/activate', { method: 'POST', headers: admin }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ active: 'v2', previous: 'v1' });
    // While v2 loads in the background v1 serves: a normal switch, /health stays ok throughout.
    const during: any = await (await call('/health')).json();
    expect(during.status).toBe('ok');
    if (during.model.version === 'v1') expect(during.model).toMatchObject({ activeVersion: 'v2', switching: true });
    expect(await waitForVersion('v2')).toBe('v2');
    expect(await (await call('/health')).json()).toMatchObject({ status: 'ok', model: { version: 'v2', activeVersion: 'v2' } });
    await call(new Request('http://edgerec.test/admin/models/v1/activate', { method: 'POST', headers: admin }));
    expect(await waitForVersion('v1')).toBe('v1');
  });

  it('a candidate with a corrupted blob is never switched to; the active version keeps serving', async () => {
    expect(await servedVersion()).toBe('v1');
    const badSha = 'f'.repeat(64);
    await testEnv.EDGEREC_R2.put(`blobs/sha256/${badSha}`, 'corrupted bytes');
    const files = { ...base.files, userEncoder: { ...base.files.userEncoder, sha256: badSha } };
    await publishVersion('v-corrupt', 1, { activate: true, files });
    for (let i = 0; i < 5; i++) expect(await servedVersion()).toBe('v1');
    const health: any = await (await call('/health')).json();
    expect(health.status).toBe('degraded');
    expect(health.model).toMatchObject({ version: 'v1', loaded: true, activeVersion: 'v-corrupt' });
    expect(health.error.message).toMatch(/checksum/);
  });

  it('admin endpoints need the bearer token and list versions with the active one marked', async () => {
    expect((await call('/admin/models')).status).toBe(401);
    const wrong = await call(new Request('http://edgerec.test/admin/models', { headers: { authorization: 'Bearer nope' } }));
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as any).error.code).toBe('unauthorized');
    const missing = await call(new Request('http://edgerec.test/admin/models/nope/activate', { method: 'POST', headers: admin }));
    expect(missing.status).toBe(404);
  });
});

describe('quality gate and the scheduled handler', () => {
  async function runCron() {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: '*/15 * * * *' }), testEnv as any, ctx);
    await waitOnExecutionContext(ctx);
  }

  it('refuses a candidate worse than the active model and says why', async () => {
    await publishVersion('v-worse', 0.5);
    await testEnv.EDGEREC_KV.put('candidate', JSON.stringify({ version: 'v-worse' }));
    await runCron();
    expect(((await testEnv.EDGEREC_KV.get('active', 'json')) as any).version).toBe('v1');
    const list: any = await (await call(new Request('http://edgerec.test/admin/models', { headers: admin }))).json();
    expect(list.decisions[0]).toMatchObject({ version: 'v-worse', promote: false, by: 'scheduled' });
    expect(list.decisions[0].reason).toMatch(/ndcg@10/);
  });

  it('promotes a better candidate, which then serves', async () => {
    expect(await servedVersion()).toBe('v1');
    await publishVersion('v-better', 1.1);
    await testEnv.EDGEREC_KV.put('candidate', JSON.stringify({ version: 'v-better' }));
    await runCron();
    expect(((await testEnv.EDGEREC_KV.get('active', 'json')) as any).version).toBe('v-better');
    expect(await waitForVersion('v-better')).toBe('v-better');
  });
});

describe('A/B experiments', () => {
  it('splits 10,000 users within 2 points of the ratio, stickily', () => {
    const exp = { id: 'exp-1', treatment: 'v2', ratio: 0.3 };
    const ids = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    const share = ids.filter((id) => assignVariant(exp, id) === 'treatment').length / ids.length;
    expect(Math.abs(share - 0.3)).toBeLessThan(0.02);
    for (const id of ids.slice(0, 500)) expect(assignVariant(exp, id)).toBe(assignVariant(exp, id));
  });

  it('serves each user the version of their arm and names the variant', async () => {
    await publishVersion('v2', 1);
    await testEnv.EDGEREC_KV.put('experiment', JSON.stringify({ id: 'exp-1', treatment: 'v2', ratio: 0.5 }));
    const exp = { id: 'exp-1', treatment: 'v2', ratio: 0.5 };
    const users = Array.from({ length: 12 }, (_, i) => `shopper-${i}`);
    for (const userId of users) {
      const res = await call(postJson('/v1/recommend', { userId, history: [{ itemId: firstItem }], k: 3 }));
      const body: any = await res.json();
      const variant = assignVariant(exp, userId);
      expect(body.experiment).toEqual({ id: 'exp-1', variant });
      expect(body.model.version).toBe(variant === 'treatment' ? 'v2' : 'v1');
      expect(res.headers.get('x-edgerec-variant')).toBe(`exp-1:${variant}`);
    }
  });
});
