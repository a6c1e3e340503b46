/**
 * Issue 7c: POST /v1/recommend and GET /health end to end, through local workerd (`wrangler dev`)
 * and through the Python baseline (python_server.py), at several concurrencies, with autocannon (a
 * Node client) or wrk (a C client: `apt-get install wrk`; it costs each request far less client time,
 * which on a 2-core machine is time taken from the server). Latencies are each response's own time
 * (autocannon's float ms; its histogram keeps whole ms only; wrk's is per microsecond, read as 1,000 percentiles).
 * Targets alternate in rounds so load from other work on the machine hits both alike.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestBodies } from './artifact.mjs';
import {
  cpuSeconds,
  PORTS,
  publishLocal,
  startBareWorker,
  startProcess,
  startPython,
  startWorker,
  workerdBinary,
  writeHelloWorker,
} from './servers.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

/** One run of `client` ('autocannon' or 'wrk'): `connections` clients, each sending the next request as soon as one returns. */
export function loadRun(base, { client = 'autocannon', ...opts }) {
  if (client === 'wrk') return wrkRun(base, opts);
  if (client !== 'autocannon') throw new Error(`unknown load client ${client}`);
  return autocannonRun(base, opts);
}

function autocannonRun(base, { requests, connections, durationS, amount }) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    let non2xx = 0;
    const t0 = performance.now();
    const size = amount ? { amount } : { duration: durationS };
    const inst = autocannon({ url: base, connections, pipelining: 1, ...size, requests, timeout: 30 }, (err, result) => {
      if (err) return reject(err);
      const elapsedS = (performance.now() - t0) / 1000;
      resolve({ latencies, non2xx, errors: result.errors, timeouts: result.timeouts, elapsedS });
    });
    inst.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
      else non2xx++;
    });
  });
}

const lua = (str) => JSON.stringify(str); // a JSON string is a valid Lua string literal for these ASCII bodies

/**
 * One wrk run (one thread, `connections` connections) cycling through `requests`. Its Lua `done`
 * hook prints the counts and 1,000 latency percentiles.
 * wrk runs for a duration only: `amount` (warm-ups) becomes a short duration.
 */
async function wrkRun(base, { requests, connections, durationS, amount }) {
  const dir = mkdtempSync(join(tmpdir(), 'edgerec-wrk-'));
  try {
    const script = join(dir, 'requests.lua');
    const formatted = requests.map(
      (r) =>
        `wrk.format(${lua(r.method)}, ${lua(r.path)}, {${Object.entries(r.headers ?? {})
          .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
          .join(', ')}}, ${r.body === undefined ? 'nil' : lua(r.body)})`,
    );
    writeFileSync(
      script,
      `local reqs = nil
local i = 0
-- Formatted at the first request, once wrk.headers has the Host header (it has not in init).
request = function()
  reqs = reqs or { ${formatted.join(',\n')} }
  i = i % #reqs + 1
  return reqs[i]
end
done = function(summary, latency, requests)
  local q = {}
  for k = 0, 999 do q[#q + 1] = latency:percentile((k + 0.5) / 10) end
  local e = summary.errors
  print("EDGEREC " .. summary.duration .. " " .. summary.requests .. " " .. (e.connect + e.read + e.write) .. " " .. e.status .. " " .. e.timeout .. " " .. table.concat(q, ","))
end
`,
    );
    const seconds = durationS ?? Math.max(1, Math.ceil(amount / 1000));
    const { stdout } = await new Promise((resolve, reject) =>
      execFile(
        'wrk',
        ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', script, base],
        { maxBuffer: 1 << 26 },
        (err, stdout, stderr) => (err ? reject(new Error(`wrk: ${err.message} ${stderr}`)) : resolve({ stdout })),
      ),
    ).catch((err) => {
      if (/ENOENT/.test(err.message))
        throw new Error('the wrk load client is not installed (apt-get install wrk), or use --client autocannon');
      throw err;
    });
    const line = stdout.split('\n').find((l) => l.startsWith('EDGEREC '));
    if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
    const [durationUs, count, errors, non2xx, timeouts, quantiles] = line.slice(8).split(' ');
    // wrk's Lua API gives its histogram only as percentiles: 1,000 of them (at 0.05%, 0.15%, ...),
    // spread over the run's responses, so runs merge and quantiles read back as from a list.
    const q = quantiles.split(',').map((us) => Number(us) / 1000);
    const n = Number(count) - Number(non2xx);
    const latencies = Array.from({ length: Math.max(0, n) }, (_, k) => q[Math.floor((k * q.length) / n)]);
    return { latencies, non2xx: Number(non2xx), errors: Number(errors), timeouts: Number(timeouts), elapsedS: Number(durationUs) / 1e6 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs of one cell pooled: req/s over their total time, latency quantiles over every answer, server CPU per answer (runs carrying `cpuS`). */
export function summarizeRuns(runs) {
  const all = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((s, r) => s + r.elapsedS, 0);
  return {
    n: all.length,
    rps: all.length / seconds,
    p50: quantile(all, 0.5),
    p90: quantile(all, 0.9),
    p99: quantile(all, 0.99),
    mean: all.reduce((s, x) => s + x, 0) / all.length,
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    // CPU time the server's processes used per answered request: comparable across servers however
    // many cores each could use and whatever else the machine ran meanwhile.
    cpuMsPerRequest: runs.every((r) => r.cpuS !== undefined) ? (runs.reduce((s, r) => s + r.cpuS, 0) * 1000) / all.length : undefined,
    errors: runs.reduce((s, r) => s + r.errors + r.timeouts, 0),
    load: runs.map((r) => r.load),
  };
}

/** Same item ids in the same order, and the largest score difference, over `bodies`. */
async function compareAnswers(a, b, bodies) {
  let same = 0;
  let maxDiff = 0;
  const post = (base, body) =>
    fetch(`${base}/v1/recommend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
      (r) => r.json(),
    );
  for (const body of bodies) {
    const [x, y] = [await post(a, body), await post(b, body)];
    const ids = (r) => (r.items ?? []).map((i) => i.itemId).join(',');
    if (ids(x) === ids(y) && x.items?.length) same++;
    (x.items ?? []).forEach((it, i) => {
      if (y.items?.[i]) maxDiff = Math.max(maxDiff, Math.abs(it.score - y.items[i].score));
    });
  }
  return { requests: bodies.length, sameTopK: same / bodies.length, maxScoreDiff: maxDiff };
}

/**
 * Publishes `model` into a fresh local state and load-tests the Worker against the Python server.
 * Worker targets, one after another (they share the port): `wrangler` = `wrangler dev` (what local
 * development runs: wrangler's proxy worker and Miniflare in front of workerd), `bare` = the deploy
 * bundle under bare `workerd serve` (needs `bundleDir`), `bare-no-liftoff` = the same with V8's
 * `--no-liftoff` (a diagnostic: Wasm only in optimized code). The Python server runs throughout, and each
 * round alternates it with the Worker target of that phase. Returns per target / endpoint /
 * concurrency summaries (Python's merged over phases).
 */
export async function benchHttp({
  model,
  targets = ['wrangler', 'bare'],
  bundleDir,
  concurrencies = [1, 8, 32],
  durationS = 10,
  rounds = 2,
  warmup = 500,
  client = 'autocannon',
  log = () => {},
}) {
  const persistTo = mkdtempSync(join(tmpdir(), 'edgerec-e2e-http-'));
  const workDir = mkdtempSync(join(tmpdir(), 'edgerec-e2e-bare-'));
  let python;
  const runs = {};
  const agreement = {};
  const readyMs = {};
  try {
    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    const itemsFile = JSON.parse(readFileSync(join(model, manifest.files.items.path), 'utf8'));
    const bodies = requestBodies(itemsFile, manifest.categories);
    const endpoints = {
      recommend: bodies.plain.map((b) => ({
        method: 'POST',
        path: '/v1/recommend',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(b),
      })),
      health: [{ method: 'GET', path: '/health' }],
    };
    // Warm-up: the Worker's first request loads the model; both JITs settle over the next few hundred.
    const warm = async (url) => {
      await (
        await fetch(`${url}/v1/recommend`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: endpoints.recommend[0].body,
        })
      ).arrayBuffer();
      for (const requests of Object.values(endpoints)) await loadRun(url, { client, requests, connections: 4, amount: warmup });
    };
    python = await startPython({ model });
    log('python server ready');
    await warm(python.url);
    for (const target of targets) {
      let server;
      if (target === 'wrangler') {
        log(`publishing ${model} into ${persistTo}`);
        await publishLocal(model, persistTo);
        server = await startWorker({ persistTo });
      } else if (target === 'bare' || target === 'bare-no-liftoff') {
        if (!bundleDir) throw new Error('the bare workerd target needs bundleDir (wrangler deploy --dry-run --outdir)');
        // bare-no-liftoff: a diagnostic, V8's optimizing compiler for all Wasm (the first request compiles for tens of seconds).
        server = await startBareWorker({
          bundleDir,
          modelDir: model,
          workDir: mkdtempSync(join(workDir, `${target}-`)),
          v8Flags: target === 'bare' ? [] : ['--no-liftoff'],
        });
      } else throw new Error(`unknown target ${target}`);
      try {
        readyMs[target] = server.readyMs;
        log(`${target} ready in ${server.readyMs.toFixed(0)} ms`);
        await warm(server.url);
        agreement[target] = {
          plain: await compareAnswers(server.url, python.url, bodies.plain),
          filtered: await compareAnswers(server.url, python.url, bodies.filtered),
        };
        const a = agreement[target];
        log(
          `${target} vs Python: same top-10 on ${(a.plain.sameTopK * 100).toFixed(0)}% (plain), ${(a.filtered.sameTopK * 100).toFixed(0)}% (filtered); max score diff ${Math.max(a.plain.maxScoreDiff, a.filtered.maxScoreDiff).toExponential(1)}`,
        );
        const servers = { [target]: server, python };
        for (let round = 0; round < rounds; round++) {
          for (const c of concurrencies) {
            const order = (round + concurrencies.indexOf(c)) % 2 ? ['python', target] : [target, 'python'];
            for (const t of order) {
              for (const [ep, requests] of Object.entries(endpoints)) {
                const pids = (servers[t].allPids ?? servers[t].pids)();
                const cpu0 = cpuSeconds(pids);
                const r = await loadRun(servers[t].url, { client, requests, connections: c, durationS });
                r.cpuS = cpuSeconds(pids) - cpu0;
                r.load = loadavg()[0];
                (((runs[t] ??= {})[ep] ??= {})[c] ??= []).push(r);
                const s = summarizeRuns([r]);
                log(
                  `${target} phase, round ${round + 1}/${rounds}: ${t} ${ep} c=${c}: ${s.rps.toFixed(0)} req/s, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, ${s.cpuMsPerRequest.toFixed(2)} CPU ms/request, non-2xx ${s.non2xx}, load ${r.load.toFixed(2)}`,
                );
              }
            }
          }
        }
      } finally {
        await server.stop();
      }
    }
    const results = {};
    for (const [target, byEp] of Object.entries(runs)) {
      for (const [ep, byC] of Object.entries(byEp)) {
        for (const [c, list] of Object.entries(byC)) ((results[target] ??= {})[ep] ??= {})[c] = summarizeRuns(list);
      }
    }
    return {
      model: manifest.version,
      items: manifest.items,
      client,
      targets,
      concurrencies,
      durationS,
      rounds,
      agreement,
      readyMs,
      results,
    };
  } finally {
    await python?.stop();
    rmSync(persistTo, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * Floors of the local stack, for reading the Worker's numbers: a hello-world Worker (one line, no
 * Hono) under the same `wrangler dev` flags, and the same script under bare `workerd serve` (no
 * wrangler proxy, no Miniflare entry worker), GET / at each concurrency.
 */
export async function benchFloors({ concurrencies = [1, 8, 32], durationS = 5, client = 'autocannon', log = () => {} }) {
  const dir = mkdtempSync(join(tmpdir(), 'edgerec-e2e-hello-'));
  const results = {};
  try {
    writeHelloWorker(dir, PORTS.python);
    const workerdBin = workerdBinary();
    const targets = {
      'hello, wrangler dev': () =>
        startWorker({ persistTo: join(dir, 'state'), cwd: dir, configs: [join(dir, 'wrangler.toml')], readyPath: '/' }),
      'hello, bare workerd': () =>
        startProcess('workerd serve', workerdBin, ['serve', join(dir, 'config.capnp')], {
          url: `http://127.0.0.1:${PORTS.python}`,
          readyPath: '/',
          cwd: dir,
        }),
    };
    for (const [name, startTarget] of Object.entries(targets)) {
      const s = await startTarget();
      try {
        await loadRun(s.url, { client, requests: [{ method: 'GET', path: '/' }], connections: 4, amount: 500 });
        for (const c of concurrencies) {
          const pids = (s.allPids ?? s.pids)();
          const cpu0 = cpuSeconds(pids);
          const r = await loadRun(s.url, { client, requests: [{ method: 'GET', path: '/' }], connections: c, durationS });
          r.cpuS = cpuSeconds(pids) - cpu0;
          r.load = loadavg()[0];
          (results[name] ??= {})[c] = summarizeRuns([r]);
          log(
            `${name} c=${c}: ${results[name][c].rps.toFixed(0)} req/s, p50 ${results[name][c].p50.toFixed(2)} ms, p99 ${results[name][c].p99.toFixed(2)} ms, ${results[name][c].cpuMsPerRequest.toFixed(3)} CPU ms/request, load ${r.load.toFixed(2)}`,
          );
        }
      } finally {
        await s.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { client, concurrencies, durationS, results };
}
