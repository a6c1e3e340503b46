#!/usr/bin/env node
/**
 * Load run against the real Worker in `wrangler dev` (workerd, KV/R2/Durable Objects simulated on
 * disk), on a fresh local state with models/default published:
 *
 *   node scripts/load/run.mjs                      60 s, 64 connections (the documented run)
 *   node scripts/load/run.mjs --duration 10        the short run of `npm test`
 *   options: --duration S  --connections N  --out FILE.json  --model DIR
 *
 * Traffic: every connection cycles through recommend (inline history), events, recommend for a user,
 * similar items, search, events again (every other time a retry of the previous batch with the same
 * idempotency key), the user's profile and /health. Rate limiting is off (RATE_LIMIT=off): every
 * request comes from one address, and this measures the service, not the limiter.
 *
 * Passes when: no request failed (no socket errors, timeouts or non-2xx answers), the Worker's memory
 * (heap after a full GC) did not grow over the run, and every event answered 202 is readable
 * afterwards in /v1/users/{id}/profile (and every retried batch was stored once). Prints a table;
 * writes everything to JSON (default runs/load/).
 *
 * Memory, sampled every second: the RSS of both workerd processes of `wrangler dev`, reported, and
 * the Worker isolate's heap (V8 heap plus ArrayBuffer backing stores, `Runtime.getHeapUsage` over the
 * inspector wrangler opens), which decides. RSS cannot: wrangler dev's own proxy and inspector grow
 * by tens of KiB a request even for a hello-world Worker (measured here: 90 -> 430 MiB and 126 -> 335
 * MiB over 11,000 requests), so a flat RSS is out of reach under `wrangler dev` whatever the Worker
 * does. The check compares the heap after a full collection (forced by taking a heap snapshot) just
 * before and just after the run; the per-second samples give the peak.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { inspector } from '../bench/inspector.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    connections: { type: 'string', default: '64' },
    out: { type: 'string' },
    model: { type: 'string', default: 'models/default' },
  },
});
const DURATION = Number(opts.duration);
const CONNECTIONS = Number(opts.connections);
const OUT = resolve(ROOT, opts.out ?? `runs/load/load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const BIN = join(ROOT, 'node_modules', '.bin');
const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, WRANGLER_SEND_METRICS: 'false' };

/** Growth of the Worker's heap after a full GC, from before to after the run, that still counts as flat. */
const MEMORY_TOLERANCE = { ratio: 0.1, bytes: 8 * 1024 * 1024 };

const log = (...args) => console.error('load:', ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function portFree(port) {
  return new Promise((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), done(false)));
    socket.once('error', () => done(true));
  });
}

async function freePort(after = 8791) {
  for (let port = after + 1; port <= 8799; port++) if (await portFree(port)) return port;
  throw new Error(`no free port in ${after + 1}-8799`);
}

function run(cmd, args) {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', (code) => (code === 0 ? done(output) : fail(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

/** workerd processes of a process group, with their resident memory in bytes. */
function workerdRss(pgid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (comm !== 'workerd' || Number(fields[2]) !== pgid) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      if (rss) out.push({ pid: Number(entry), rss: Number(rss[1]) * 1024 });
    } catch {
      // The process ended between listing and reading.
    }
  }
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
};
const mib = (b) => (b / 1024 / 1024).toFixed(1);

async function main() {
  const items = JSON.parse(readFileSync(join(ROOT, opts.model, 'items.json'), 'utf8'));
  const ids = items.ids;
  const words = [...new Set((items.titles ?? []).flatMap((t) => (t ?? '').toLowerCase().match(/[\p{L}\p{N}]{4,}/gu) ?? []))].slice(0, 200);
  if (!words.length) words.push('gift');
  const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

  const state = mkdtempSync(join(tmpdir(), 'edgerec-load-'));
  const port = await freePort();
  const inspectorPort = await freePort(port);
  const base = `http://127.0.0.1:${port}`;
  log(`publishing ${opts.model} into ${state}`);
  await run(join(BIN, 'node'), ['scripts/publish.mjs', 'push', opts.model, '--local', '--persist-to', state]);
  log(`starting wrangler dev on ${base}`);
  // Its own process group: the RSS sampler finds its workerd processes, and cleanup ends exactly them.
  const wrangler = spawn(
    join(BIN, 'wrangler'),
    [
      'dev',
      '-c',
      'wrangler.toml',
      '-c',
      'wrangler.onnx.toml',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--ip',
      '127.0.0.1',
      '--persist-to',
      state,
      '--show-interactive-dev-session=false',
      '--var',
      'RATE_LIMIT:off',
    ],
    {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let wranglerLog = '';
  wrangler.stdout.on('data', (d) => (wranglerLog += d));
  wrangler.stderr.on('data', (d) => (wranglerLog += d));
  const stop = () => {
    try {
      process.kill(-wrangler.pid, 'SIGTERM');
    } catch {}
  };
  process.on('exit', () => {
    stop();
    rmSync(state, { recursive: true, force: true });
  });
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));

  for (let i = 0; ; i++) {
    if (i > 240) throw new Error(`wrangler dev did not become healthy:\n${wranglerLog.slice(-2000)}`);
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited:\n${wranglerLog.slice(-2000)}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {}
    await sleep(500);
  }

  const health = await (await fetch(`${base}/health`)).json();
  if (!health.model?.loaded) throw new Error(`the model did not load: ${JSON.stringify(health)}`);

  // Warm-up: the model loads on the first request of the isolate; not part of the measurement.
  for (let i = 0; i < 20; i++) {
    await fetch(`${base}/v1/recommend`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ history: [{ itemId: pick(ids) }], k: 10 }),
    }).then((r) => r.arrayBuffer());
    await fetch(`${base}/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: pick(words) }),
    }).then((r) => r.arrayBuffer());
  }

  // What the run accepted, per user: verified against the profiles afterwards. Batches are numbered
  // across all connections and ten consecutive ones share a user, so a user's object takes writes
  // from many connections at once (at most 30 events a user: under SESSION_MAX_EVENTS).
  const runId = Date.now().toString(36);
  let batchSeq = 0;
  const accepted = new Map(); // userId -> itemIds of accepted events
  const retries = { sent: 0, duplicate: 0, storedAgain: 0 };
  const endpoints = {};
  const count = (name, status) => {
    const e = (endpoints[name] ??= { requests: 0, statuses: {} });
    e.requests++;
    e.statuses[status] = (e.statuses[status] ?? 0) + 1;
  };
  const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const newBatch = () => {
    const seq = batchSeq++;
    const n = 1 + Math.floor(Math.random() * 3);
    return {
      userId: `load-${runId}-${Math.floor(seq / 10)}`,
      events: Array.from({ length: n }, () => ({ itemId: pick(ids), event: pick(['view', 'click', 'cart', 'purchase']) })),
      idempotencyKey: `${runId}-${seq}`,
    };
  };
  // autocannon resets `context` at the start of each cycle through `requests`; within a cycle it holds
  // this cycle's first batch, which later requests read (its user) or send again (a retry).
  const eventsRequest = (retrying) => ({
    method: 'POST',
    path: '/v1/events',
    setupRequest(req, context) {
      const retry = retrying && context.batch && Math.random() < 0.5;
      const batch = retry ? context.batch : newBatch();
      if (retry) retries.sent++;
      context.sent = { batch, retry };
      context.batch ??= batch;
      return { ...req, ...json(batch) };
    },
    onResponse(status, body, context) {
      count('events', status);
      if (status !== 202) return;
      const answer = JSON.parse(body);
      const { batch, retry } = context.sent;
      if (retry) {
        if (answer.duplicate) retries.duplicate++;
        else retries.storedAgain++;
      }
      if (answer.accepted > 0) {
        let list = accepted.get(batch.userId);
        if (!list) accepted.set(batch.userId, (list = []));
        list.push(...batch.events.map((e) => e.itemId));
      }
    },
  });
  const plain = (name, build) => ({
    ...build,
    setupRequest: (req, context) => (typeof build.dynamic === 'function' ? { ...req, ...build.dynamic(context) } : req),
    onResponse: (status) => count(name, status),
  });

  const requests = [
    plain('recommend', {
      dynamic: () => ({
        path: '/v1/recommend',
        ...json({ history: Array.from({ length: 3 }, () => ({ itemId: pick(ids), event: 'view' })), k: 10, explain: Math.random() < 0.2 }),
      }),
    }),
    eventsRequest(false),
    plain('recommend (user)', { dynamic: (context) => ({ path: '/v1/recommend', ...json({ userId: context.batch.userId, k: 10 }) }) }),
    plain('similar', { dynamic: () => ({ method: 'GET', path: `/v1/items/${encodeURIComponent(pick(ids))}/similar?k=10` }) }),
    plain('search', {
      dynamic: () => ({ path: '/v1/search', ...json({ query: `${pick(words)} ${Math.random() < 0.5 ? pick(words) : ''}`.trim(), k: 10 }) }),
    }),
    eventsRequest(true),
    plain('profile', { dynamic: (context) => ({ method: 'GET', path: `/v1/users/${encodeURIComponent(context.batch.userId)}/profile` }) }),
    plain('health', { method: 'GET', path: '/health' }),
  ];

  // Memory, once a second: every workerd of wrangler's process group, and the Worker isolate's heap.
  const devtools = await inspector(inspectorPort);
  const heapOf = async () => {
    const h = await devtools.call('Runtime.getHeapUsage');
    return h ? h.usedSize + (h.embedderHeapUsedSize ?? 0) + (h.backingStorageSize ?? 0) : undefined;
  };
  // The floor that decides: the heap after a full collection, before and after the run. Per-second
  // samples alone cannot decide: while the isolate is busy the sampler stalls and V8 may not have
  // collected for seconds, so the last sample can sit at a transient peak.
  // A full collection: V8 collects all garbage before it takes a heap snapshot (the snapshot's chunks
  // are dropped unread). `HeapProfiler.collectGarbage` would say the same, but workerd's inspector
  // does not answer it (measured: no reply within 5 s, and the heap often not collected), which left
  // this check comparing garbage with garbage.
  const collectedHeap = async () => {
    await devtools.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    return heapOf();
  };
  const floorBefore = await collectedHeap();
  const samples = [];
  const started = Date.now();
  const sample = async () => samples.push({ t: (Date.now() - started) / 1000, procs: workerdRss(wrangler.pid), heap: await heapOf() });
  const sampler = setInterval(sample, 1000);
  await sample();

  log(`${DURATION} s, ${CONNECTIONS} connections against ${base}`);
  const result = await autocannon({ url: base, connections: CONNECTIONS, duration: DURATION, requests, timeout: 30 });
  clearInterval(sampler);
  await sample();
  const floorAfter = await collectedHeap();
  devtools.close();

  // Every accepted event is readable in the user's profile (at most 10 batches of 3 a user: under SESSION_MAX_EVENTS).
  const users = [...accepted.keys()];
  const lost = [];
  let unobserved = 0; // stored, but the run ended before their 202 arrived
  let checkedEvents = 0;
  let cursor = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (cursor < users.length) {
        const userId = users[cursor++];
        const want = accepted.get(userId);
        const res = await fetch(`${base}/v1/users/${encodeURIComponent(userId)}/profile`);
        const got = res.ok ? (await res.json()).recent.map((e) => e.itemId) : [];
        checkedEvents += want.length;
        const remaining = [...got];
        for (const itemId of want) {
          const i = remaining.indexOf(itemId);
          if (i >= 0) remaining.splice(i, 1);
          else lost.push({ userId, itemId });
        }
        unobserved += remaining.length;
      }
    }),
  );

  // Memory. RSS: medians of the first and last fifth of the run, reported; heap after GC decides (above).
  const pids = [...new Set(samples.flatMap((s) => s.procs.map((p) => p.pid)))];
  const during = samples.filter((s) => s.t > 0);
  const fifth = Math.max(1, Math.floor(during.length / 5));
  const memory = pids.map((pid) => {
    const series = during.map((s) => s.procs.find((p) => p.pid === pid)?.rss ?? 0).filter((x) => x > 0);
    const first = median(series.slice(0, fifth));
    const last = median(series.slice(-fifth));
    return { pid, first, last, max: Math.max(0, ...series), growth: last - first };
  });
  const heaps = during.map((s) => s.heap).filter((h) => h !== undefined);
  const heap =
    floorBefore !== undefined && floorAfter !== undefined && heaps.length > 0
      ? { first: floorBefore, last: floorAfter, max: Math.max(...heaps), growth: floorAfter - floorBefore }
      : undefined;
  const memoryFlat = Boolean(heap) && heap.growth <= Math.max(MEMORY_TOLERANCE.bytes, heap.first * MEMORY_TOLERANCE.ratio);

  const non2xx = result.non2xx;
  const checks = {
    'no failed requests': result.errors === 0 && result.timeouts === 0 && non2xx === 0,
    'worker memory flat': memoryFlat,
    'every accepted event readable': lost.length === 0 && checkedEvents > 0,
    'retried batches stored once': retries.storedAgain === 0,
  };
  const report = {
    at: new Date().toISOString(),
    target: base,
    config: { duration: DURATION, connections: CONNECTIONS, model: opts.model, rateLimit: 'off' },
    requests: {
      total: result.requests.total,
      perSecond: result.requests.average,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx,
      byEndpoint: endpoints,
    },
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    events: {
      users: users.length,
      accepted: checkedEvents,
      lost: lost.length,
      lostSample: lost.slice(0, 10),
      storedUnobserved: unobserved,
      retries,
    },
    memory: {
      tolerance: MEMORY_TOLERANCE,
      workerHeap: heap,
      workerdRss: memory,
      samples: samples.map((s) => ({ t: s.t, heap: s.heap, rss: s.procs.map((p) => [p.pid, p.rss]) })),
    },
    checks,
    passed: Object.values(checks).every(Boolean),
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(report, null, 2));
  writeFileSync(OUT.replace(/\.json$/, '') + '.wrangler.log', wranglerLog); // the Worker's own log lines, next to the report

  const rows = [
    ['requests', `${result.requests.total} (${result.requests.average.toFixed(0)}/s over ${DURATION} s, ${CONNECTIONS} connections)`],
    ['errors / timeouts / non-2xx', `${result.errors} / ${result.timeouts} / ${non2xx}`],
    ['latency p50 / p90 / p99 / max', `${result.latency.p50} / ${result.latency.p90} / ${result.latency.p99} / ${result.latency.max} ms`],
    ...Object.entries(endpoints).map(([name, e]) => [
      `  ${name}`,
      `${e.requests} (${Object.entries(e.statuses)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ')})`,
    ]),
    [
      'events accepted / lost',
      `${checkedEvents} in ${users.length} users / ${lost.length} (${unobserved} more stored, answered after the run ended)`,
    ],
    ['retried batches (duplicate / stored again)', `${retries.sent} (${retries.duplicate} / ${retries.storedAgain})`],
    [
      'worker heap after GC before / after / peak',
      heap
        ? `${mib(heap.first)} / ${mib(heap.last)} / ${mib(heap.max)} MiB (${heap.growth >= 0 ? '+' : ''}${mib(heap.growth)})`
        : 'not sampled',
    ],
    ...memory.map((m) => [
      `workerd ${m.pid} RSS first / last / max`,
      `${mib(m.first)} / ${mib(m.last)} / ${mib(m.max)} MiB (${m.growth >= 0 ? '+' : ''}${mib(m.growth)}; wrangler dev's own growth included)`,
    ]),
    ...Object.entries(checks).map(([name, ok]) => [`check: ${name}`, ok ? 'pass' : 'FAIL']),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
  console.log(`report: ${OUT}`);
  const passed = Object.values(checks).filter(Boolean).length;
  console.log(`load: ${passed} passed, ${Object.keys(checks).length - passed} failed`);
  process.exitCode = report.passed ? 0 : 1;
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => process.exit());
