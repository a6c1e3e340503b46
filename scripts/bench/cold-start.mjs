/**
 * Issue 7d: cold start and memory. A cold start here is a new workerd process (so a new isolate) and
 * its first POST /v1/recommend, which loads the model from local R2 (KV pointer, manifest, blobs
 * with their sha256, table streamed into kernel memory, catalog, ORT initialised, user and text tower
 * sessions) and answers. Also: the same load in fresh Node processes (load-probe.mjs), with the
 * WebAssembly memories and V8 heap it leaves, and a step-by-step breakdown.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { artifactBodies } from './artifact.mjs';
import { inspector } from './inspector.mjs';
import {
  pollUntilAnswer,
  PORTS,
  publishLocal,
  rssBytes,
  startBareWorker,
  startProcess,
  startWorker,
  workerdBinary,
  writeHelloWorker,
} from './servers.mjs';

const run = promisify(execFile);
const probe = fileURLToPath(new URL('./load-probe.mjs', import.meta.url));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** `trials` fresh Node processes loading `dir` (plus one step-by-step breakdown). */
export async function nodeColdLoads(dir, { trials = 3, log = () => {} } = {}) {
  const runs = [];
  for (let i = 0; i < trials; i++) {
    const { stdout } = await run(process.execPath, ['--expose-gc', probe, dir], { maxBuffer: 1 << 24 });
    runs.push(JSON.parse(stdout.trim().split('\n').pop()));
    const r = runs.at(-1);
    log(
      `node cold load ${r.items} items #${i + 1}: import ${r.importMs.toFixed(0)} ms, load ${r.loadMs.toFixed(0)} ms, first ${r.firstMs.toFixed(1)} ms, warm ${r.warmMs.toFixed(2)} ms`,
    );
  }
  const { stdout } = await run(process.execPath, ['--expose-gc', probe, dir, '--breakdown'], { maxBuffer: 1 << 24 });
  const { breakdown } = JSON.parse(stdout.trim().split('\n').pop());
  const m = runs.at(-1).memory;
  return {
    items: runs[0].items,
    importMs: median(runs.map((r) => r.importMs)),
    loadMs: median(runs.map((r) => r.loadMs)),
    firstMs: median(runs.map((r) => r.firstMs)),
    warmMs: median(runs.map((r) => r.warmMs)),
    breakdown,
    memory: {
      kernelBytes: m.kernelBytes,
      ortHeapBytes: m.ortHeapBytes,
      heapUsedDelta: m.afterLoad.heapUsed - m.afterImport.heapUsed,
      // ArrayBuffers (not in V8's heap; WebAssembly memories are counted above): the catalog's typed
      // arrays, after the first requests and a full GC, so transient load buffers are gone.
      arrayBuffersDelta: m.afterRequests.arrayBuffers - m.afterImport.arrayBuffers,
      rssDelta: m.afterLoad.rss - m.afterImport.rss,
      rssAfterRequests: m.afterRequests.rss,
    },
    runs,
  };
}

const post = (url, body) =>
  fetch(`${url}/v1/recommend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** One cold start against a started server: RSS before, the first answer, RSS after, then warm answers. */
async function firstAnswers(server, bodies, warmN, { devtools } = {}) {
  const pids = server.pids();
  const rssBefore = Object.fromEntries(pids.map((p) => [p, rssBytes([p])]));
  const heapBefore = devtools && (await devtools.call('Runtime.getHeapUsage'));
  const t0 = performance.now();
  const res = await post(server.url, bodies[0]);
  const json = await res.json();
  const firstMs = performance.now() - t0;
  if (!res.ok || json.fallback || !json.items?.length)
    throw new Error(`first answer was not a model answer: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  const rssAfter = Object.fromEntries(pids.map((p) => [p, rssBytes([p])]));
  const heapAfter = devtools && (await devtools.call('Runtime.getHeapUsage'));
  const warm = [];
  for (let i = 1; i <= warmN; i++) {
    const t = performance.now();
    await (await post(server.url, bodies[i % bodies.length])).arrayBuffer();
    warm.push(performance.now() - t);
  }
  const rssWarm = Object.fromEntries(pids.map((p) => [p, rssBytes([p])]));
  // The isolate lives in the process whose RSS grew the most (wrangler dev runs a proxy workerd too).
  const grew = pids.reduce((best, p) => (rssAfter[p] - rssBefore[p] > rssAfter[best] - rssBefore[best] ? p : best), pids[0]);
  return {
    firstMs,
    warmMedianMs: median(warm),
    secondMs: warm[0],
    rss: {
      before: rssBefore[grew],
      afterFirst: rssAfter[grew],
      afterWarm: rssWarm[grew],
      totalBefore: rssBytes(pids),
      totalAfterWarm: rssBytes(Object.keys(rssWarm).map(Number)),
    },
    // The isolate's own accounting (V8, through its inspector): JS heap and ArrayBuffer backing stores.
    // Wasm memories are not among them; their size is fixed by the artifact (Node's kernelBytes).
    ...(heapBefore && heapAfter
      ? {
          isolate: {
            heapUsedBefore: heapBefore.usedSize,
            heapUsedAfter: heapAfter.usedSize,
            backingBefore: heapBefore.backingStorageSize,
            backingAfter: heapAfter.backingStorageSize,
          },
        }
      : {}),
    load: loadavg()[0],
  };
}

/**
 * A server spawned at `server.spawnedAt`: ms until `url` first answers, whatever the status (asked
 * every 2 ms while its socket refuses), the status and the JSON body.
 */
export async function spawnToAnswer(server, url, init) {
  const res = await pollUntilAnswer(url, server.proc, { init, intervalMs: 2, accept: () => true, since: server.spawnedAt });
  const body = await res.json().catch(() => undefined);
  return { ms: performance.now() - server.spawnedAt, status: res.status, body };
}

/**
 * A new isolate to its first answer, as a Worker's user meets it: a new workerd process (bare `workerd
 * serve`, R2 over a loopback socket) is spawned and the first request it ever sees is POST
 * /v1/recommend, sent as soon as its socket listens. So everything counts: the isolate's script
 * startup (workerd compiles every JavaScript and Wasm module of the bundle, and evaluates the
 * modules), the first request's code running cold, and the model load (whether workerd builds the
 * isolate before its socket listens or on that request, it falls inside this time). What does not
 * count is the workerd process's own start: a one-line Worker is measured the same way before each
 * trial, and taken off.
 * `bundles`: [{ label, bundleDir, main, onnxBundleDir, vars, userTower }] (main: the bundle's entry
 * file, e.g. with-ort-entry.js; onnxBundleDir: the ONNX runtime Worker's bundle, bound as ONNX; vars:
 * Worker vars, e.g. USER_TOWER; userTower: what /v1/model must then say ran the user tower).
 */
export async function isolateColdStarts(dir, { trials = 3, bundles, log = () => {} }) {
  const { manifest, bodies } = artifactBodies(dir);
  const body = JSON.stringify(bodies.plain[0]);
  const helloDir = mkdtempSync(join(tmpdir(), 'edgerec-e2e-hello-'));
  writeHelloWorker(helloDir, PORTS.worker);
  const out = { items: manifest.items, bundles: [] };
  /** Spawn to first answer of the one-line Worker, ms. */
  const helloSpawn = async () => {
    const hello = await startProcess('workerd serve (hello)', workerdBinary(), ['serve', join(helloDir, 'config.capnp')], {
      url: `http://127.0.0.1:${PORTS.worker}`,
      readyPath: null,
      cwd: helloDir,
    });
    try {
      return (await spawnToAnswer(hello, `${hello.url}/`)).ms;
    } finally {
      await hello.stop();
    }
  };
  try {
    // One hello start first, not counted: the first workerd spawn of a run can take 5-10x as long
    // (binary and libraries paged in), which made one trial's "cold start" negative.
    await helloSpawn();
    for (const { label, bundleDir, main = 'index.js', onnxBundleDir, vars, userTower } of bundles) {
      const rows = [];
      for (let i = 0; i < trials; i++) {
        const helloMs = await helloSpawn();
        const workDir = mkdtempSync(join(tmpdir(), 'edgerec-e2e-isolate-'));
        const server = await startBareWorker({ bundleDir, modelDir: dir, workDir, readyPath: null, main, onnxBundleDir, vars });
        try {
          const first = await spawnToAnswer(server, `${server.url}/v1/recommend`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          if (first.status !== 200 || first.body?.fallback || !first.body?.items?.length)
            throw new Error(`first answer was not a model answer: ${first.status} ${JSON.stringify(first.body).slice(0, 300)}`);
          if (userTower) {
            // What ran the user tower for that answer (after the timing): e.g. onnxruntime-web over RPC.
            const runtime = (await (await fetch(`${server.url}/v1/model`)).json()).runtime?.userTower;
            if (runtime !== userTower) throw new Error(`${label}: the user tower ran on ${runtime}, not ${userTower}`);
          }
          rows.push({ spawnToAnswerMs: first.ms, helloMs, coldMs: first.ms - helloMs, load: loadavg()[0] });
          log(
            `isolate cold start, ${label}, ${manifest.items} items #${i + 1}: ${first.ms.toFixed(0)} ms spawn to answer - ${helloMs.toFixed(0)} ms for a hello Worker = ${(first.ms - helloMs).toFixed(0)} ms`,
          );
        } finally {
          await server.stop();
          rmSync(workDir, { recursive: true, force: true });
        }
      }
      out.bundles.push({
        label,
        main,
        trials: rows,
        coldMs: median(rows.map((r) => r.coldMs)),
        helloMs: median(rows.map((r) => r.helloMs)),
      });
    }
  } finally {
    rmSync(helloDir, { recursive: true, force: true });
  }
  return out;
}

/**
 * Cold starts of one artifact in workerd: `trials` restarts of `wrangler dev` (local R2 on disk,
 * through Miniflare) and, when `bundleDir` is given, of bare `workerd serve` with the deploy bundle.
 */
export async function workerdColdStarts(dir, { trials = 3, warmN = 10, bundleDir, log = () => {} } = {}) {
  const {
    manifest,
    bodies: { plain: bodies },
  } = artifactBodies(dir);
  const persistTo = mkdtempSync(join(tmpdir(), 'edgerec-e2e-cold-'));
  const out = { items: manifest.items, wranglerDev: [], bareWorkerd: [] };
  try {
    out.publishMs = await publishLocal(dir, persistTo);
    log(`published ${manifest.items} items in ${out.publishMs.toFixed(0)} ms`);
    for (let i = 0; i < trials; i++) {
      const server = await startWorker({ persistTo });
      try {
        const r = { readyMs: server.readyMs, ...(await firstAnswers(server, bodies, warmN)) };
        out.wranglerDev.push(r);
        log(
          `wrangler dev ${manifest.items} items #${i + 1}: ready ${r.readyMs.toFixed(0)} ms, first answer ${r.firstMs.toFixed(0)} ms, then ${r.warmMedianMs.toFixed(1)} ms; isolate RSS ${(r.rss.before / 2 ** 20).toFixed(0)} -> ${(r.rss.afterFirst / 2 ** 20).toFixed(0)} MiB`,
        );
      } finally {
        await server.stop();
      }
    }
    for (let i = 0; bundleDir && i < trials; i++) {
      const workDir = mkdtempSync(join(tmpdir(), 'edgerec-e2e-bare-'));
      const server = await startBareWorker({ bundleDir, modelDir: dir, workDir, args: [`--inspector-addr=127.0.0.1:${PORTS.inspector}`] });
      let devtools;
      try {
        devtools = await inspector(PORTS.inspector, { timeoutMs: 30_000 });
        const r = { readyMs: server.readyMs, ...(await firstAnswers(server, bodies, warmN, { devtools })) };
        out.bareWorkerd.push(r);
        log(
          `bare workerd ${manifest.items} items #${i + 1}: ready ${r.readyMs.toFixed(0)} ms, first answer ${r.firstMs.toFixed(0)} ms, then ${r.warmMedianMs.toFixed(1)} ms`,
        );
      } finally {
        devtools?.close();
        await server.stop();
        rmSync(workDir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(persistTo, { recursive: true, force: true });
  }
  return out;
}
