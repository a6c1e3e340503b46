import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
// scripts/py.sh builds the trainer's environment on first use (minutes, torch included); this test
// only runs where it is built already, so `npm run test:bench` never installs it as a side effect.
const key = createHash('sha256')
  .update(readFileSync(join(root, 'scripts/requirements.txt')))
  .digest('hex')
  .slice(0, 12);
const pythonReady = existsSync(join(process.env.EDGEREC_CACHE ?? join(homedir(), '.cache/edgerec'), `venv-${key}`, '.complete'));

interface Reference {
  version: string;
  cases: { history: { itemId: string; event: string }[]; k: number; items: { itemId: string; score: number }[] }[];
}

let server: ChildProcess | undefined;
let url = '';

beforeAll(async () => {
  if (!pythonReady) return;
  server = spawn(
    'bash',
    [join(root, 'scripts/py.sh'), join(root, 'scripts/bench/python_server.py'), '--model', join(root, 'models/default'), '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  url = await new Promise<string>((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`python_server.py did not start: ${out}`)), 60_000);
    const read = (b: Buffer) => {
      out += b.toString();
      const m = /on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    };
    server!.stdout!.on('data', read);
    server!.stderr!.on('data', read);
    server!.on('exit', (code) => fail(new Error(`python_server.py exited (${code}): ${out}`)));
  });
}, 70_000);

afterAll(() => {
  server?.kill('SIGTERM');
});

describe.skipIf(!pythonReady)('the Python baseline server (scripts/bench/python_server.py)', () => {
  it('answers the parity fixture like the Worker: same top 10, same scores', async () => {
    const reference: Reference = JSON.parse(readFileSync(join(root, 'test/fixtures/reference.json'), 'utf8'));
    for (const c of reference.cases) {
      const res = await fetch(`${url}/v1/recommend`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ history: c.history, k: c.k }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { model: { version: string }; items: { itemId: string; score: number }[] };
      expect(body.model.version).toBe(reference.version);
      expect(body.items.map((i) => i.itemId)).toEqual(c.items.map((i) => i.itemId));
      body.items.forEach((item, i) => expect(item.score).toBeCloseTo(c.items[i]!.score, 5));
    }
  });

  it('applies a category filter, answers /health, and refuses what it does not implement in the error shape', async () => {
    const post = (body: unknown) =>
      fetch(`${url}/v1/recommend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const filtered = (await (await post({ history: [{ itemId: 'sku-00001' }], k: 5, filters: { categories: ['nails'] } })).json()) as {
      items: { categories: string[] }[];
    };
    expect(filtered.items).toHaveLength(5);
    for (const item of filtered.items) expect(item.categories.map((c) => c.toLowerCase())).toContain('nails');
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const refused = await post({ history: [], explain: true });
    expect(refused.status).toBe(501);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('not_implemented');
    expect((await post({ k: 0 })).status).toBe(400);
  });
});
