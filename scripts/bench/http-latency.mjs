#!/usr/bin/env node
/**
 * Latency of each endpoint measured from a client on loopback (timers inside a Worker do not advance
 * during computation, so latency is measured from outside). Sequential requests, after a warm-up.
 *
 *   node scripts/bench/http-latency.mjs [--url http://127.0.0.1:8787] [--n 1000] [--model models/default]
 *
 * Prints a Markdown table and writes bench-results/http-latency.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8787' },
    n: { type: 'string', default: '1000' },
    model: { type: 'string', default: 'models/default' },
  },
});
const base = values.url.replace(/\/$/, '');
const n = Number(values.n);
const items = JSON.parse(readFileSync(join(values.model, 'items.json'), 'utf8'));
const ids = items.ids;
const pick = (i) => ids[(i * 7919) % ids.length];
const history = (i) => Array.from({ length: 8 }, (_, j) => ({ itemId: pick(i + j), event: j % 3 === 0 ? 'cart' : 'view' }));
const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const endpoints = {
  'POST /v1/recommend (8 events, k=10)': (i) => [`/v1/recommend`, json({ history: history(i), k: 10 })],
  'POST /v1/recommend (explain, diversity)': (i) => [`/v1/recommend`, json({ history: history(i), k: 10, explain: true, diversity: 0.3 })],
  'POST /v1/recommend (userId)': (i) => [`/v1/recommend`, json({ userId: `bench-${i % 50}`, k: 10 })],
  'GET /v1/items/{id}/similar': (i) => [`/v1/items/${encodeURIComponent(pick(i))}/similar?k=10`, {}],
  'POST /v1/search': (i) => [
    `/v1/search`,
    json({ query: ['lipstick', 'shampoo', 'serum', 'mascara'][i % 4], history: history(i).slice(0, 3), k: 10 }),
  ],
  'POST /v1/events': (i) => [`/v1/events`, json({ userId: `bench-${i % 50}`, events: [{ itemId: pick(i), event: 'view' }] })],
  'GET /v1/users/{id}/profile': (i) => [`/v1/users/bench-${i % 50}/profile`, {}],
  'GET /health': () => [`/health`, {}],
};

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

const rows = [];
for (const [name, make] of Object.entries(endpoints)) {
  for (let i = 0; i < 30; i++) {
    const [path, init] = make(i);
    await (await fetch(base + path, init)).arrayBuffer();
  }
  const times = [];
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const [path, init] = make(i);
    const t0 = performance.now();
    const res = await fetch(base + path, init);
    await res.arrayBuffer();
    times.push(performance.now() - t0);
    if (res.status >= 400) errors++;
  }
  times.sort((a, b) => a - b);
  rows.push({
    endpoint: name,
    n,
    p50: quantile(times, 0.5),
    p90: quantile(times, 0.9),
    p99: quantile(times, 0.99),
    mean: times.reduce((s, x) => s + x, 0) / n,
    errors,
  });
}

const fmt = (x) => x.toFixed(2);
console.log(`\nLatency from a loopback client, ${n} sequential requests per endpoint (${base})\n`);
console.log('| endpoint | p50 ms | p90 ms | p99 ms | mean ms | errors |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.endpoint} | ${fmt(r.p50)} | ${fmt(r.p90)} | ${fmt(r.p99)} | ${fmt(r.mean)} | ${r.errors} |`);
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/http-latency.json', JSON.stringify({ at: new Date().toISOString(), base, n, rows }, null, 2));
