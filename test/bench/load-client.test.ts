/**
 * The load clients of part c (scripts/bench/http-load.mjs `loadRun`): autocannon and wrk against a
 * small local server that records what it receives. Both must send every request body in turn, with
 * its method, path and headers, and count answers and non-2xx answers as the server saw them.
 * wrk is Debian's (`apt-get install wrk`; .ci/run installs it).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { loadRun } from '../../scripts/bench/http-load.mjs';

const seen: { method: string; url: string; type: string | undefined; body: string }[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, type: req.headers['content-type'], body });
      // Every fifth answer is a 503, so the non-2xx count has something to count.
      res.writeHead(seen.length % 5 === 0 ? 503 : 200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const requests = [0, 1, 2].map((i) => ({
  method: 'POST',
  path: `/v1/recommend?i=${i}`,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ history: [{ itemId: `sku "${i}"` }], k: 10 + i }),
}));

describe.each(['autocannon', 'wrk'])('loadRun with %s', (client) => {
  it('sends every body in turn and counts answers as the server saw them', async () => {
    seen.length = 0;
    const r = await loadRun(base, { client, requests, connections: 2, durationS: 1 });
    expect(seen.length).toBeGreaterThan(30);
    // What the server saw was counted by the client as answered, refused (non-2xx) or an error (a
    // connection closed as the run ends), or was still under way when the client stopped counting:
    // per connection, at most a request in flight and an answer in transit.
    const counted = r.latencies.length + r.non2xx + r.errors + r.timeouts;
    expect(counted).toBeGreaterThanOrEqual(seen.length - 2 * 2);
    expect(r.latencies.length + r.non2xx).toBeLessThanOrEqual(seen.length);
    expect(r.non2xx).toBeGreaterThanOrEqual(Math.floor(seen.length / 5) - 2);
    expect(r.non2xx).toBeLessThanOrEqual(Math.ceil(seen.length / 5) + 2);
    for (const s of seen) {
      const i = Number(new URL(s.url, base).searchParams.get('i'));
      expect(s).toEqual({ method: 'POST', url: requests[i]!.path, type: 'application/json', body: requests[i]!.body });
    }
    expect(new Set(seen.map((s) => s.url)).size).toBe(3);
    expect(r.elapsedS).toBeGreaterThan(0.9);
    expect(r.latencies.every((ms: number) => ms > 0 && ms < 1000)).toBe(true);
  });
});
