/**
 * The processes the end-to-end benchmarks talk to: `wrangler dev` (the real workerd, KV and R2 on disk)
 * and the Python baseline server, each started in its own process group and stopped by its own id.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createReadStream, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { r2Layout, sha256 } from './artifact.mjs';
import { compatibilityDate } from './build.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const require = createRequire(import.meta.url);
export const PORTS = { worker: 8797, python: 8798, inspector: 8799, kernel: 8796 };

/** The workerd binary wrangler runs (its `workerd` dependency). */
export function workerdBinary() {
  const workerd = createRequire(require.resolve('wrangler'))('workerd');
  return workerd.default ?? workerd;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `url` (fetched with `init`) every `intervalMs` until `proc` answers with a response `accept`
 * takes, and returns it, body unread. Throws, with the process's last output, when it exits or when
 * `timeoutMs` have passed since `since`.
 */
export async function pollUntilAnswer(
  url,
  proc,
  { init, intervalMs = 50, accept = (res) => res.ok, timeoutMs = 60_000, since = performance.now() } = {},
) {
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`${proc.label} exited (${proc.exitCode ?? proc.signalCode}): ${proc.output().slice(-2000)}`);
    try {
      const res = await fetch(url, init);
      if (accept(res)) return res;
      await res.arrayBuffer();
    } catch {
      // not listening yet
    }
    if (performance.now() - since > timeoutMs)
      throw new Error(`${proc.label} did not answer ${url} within ${timeoutMs} ms: ${proc.output().slice(-2000)}`);
    await sleep(intervalMs);
  }
}

/** Polls `url` until it answers 2xx (pollUntilAnswer); the ms it took. */
async function waitFor(url, proc, timeoutMs) {
  const start = performance.now();
  await (await pollUntilAnswer(url, proc, { timeoutMs, since: start })).arrayBuffer();
  return performance.now() - start;
}

/** Whether nothing listens on 127.0.0.1:`port` (others on this machine share the port range). */
function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Waits (up to `timeoutMs`) until every port is free; throws naming the busy ones. */
async function waitForPorts(ports, timeoutMs = 60_000) {
  const start = performance.now();
  for (;;) {
    const busy = [];
    for (const p of ports) if (!(await portFree(p))) busy.push(p);
    if (!busy.length) return;
    if (performance.now() - start > timeoutMs) throw new Error(`port(s) ${busy.join(', ')} stayed in use for ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/** Process groups started here and not yet stopped: killed if this process exits or is interrupted. */
const running = new Set();
let reaperInstalled = false;
function installReaper() {
  if (reaperInstalled) return;
  reaperInstalled = true;
  const killAll = () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
    }
  };
  process.once('exit', killAll);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ]) {
    process.once(signal, () => {
      killAll();
      process.exit(code);
    });
  }
}

function start(label, command, args, env = {}, cwd = root) {
  let out = '';
  installReaper();
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(child.pid);
  child.once('exit', () => running.delete(child.pid));
  const keep = (b) => {
    out = (out + b.toString()).slice(-20000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.label = label;
  child.output = () => out;
  child.stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid, 'SIGTERM'); // its own process group: wrangler and the workerd it started
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, 5000);
    await exited;
    clearTimeout(timer);
    // workerd may outlive wrangler's exit by a moment; wait until the port is free.
    for (let i = 0; i < 100 && descendants(child.pid).length; i++) await sleep(50);
  };
  return child;
}

/** Publishes an artifact directory into a local state directory, as `wrangler dev --persist-to` reads it. */
export async function publishLocal(dir, persistTo) {
  const t0 = performance.now();
  await run(process.execPath, [join(root, 'scripts/publish.mjs'), 'push', dir, '--local', '--persist-to', persistTo], {
    cwd: root,
    maxBuffer: 1 << 24,
  });
  return performance.now() - t0;
}

/**
 * `wrangler dev` with both Workers (wrangler.toml and wrangler.onnx.toml, as `npm start` runs them) on
 * PORTS.worker with its state in `persistTo`, the rate limit off. Ready when
 * /openapi.json answers (a route that does not touch the model, so the first /v1/recommend still
 * finds a model that was never loaded in this isolate).
 */
export async function startWorker({
  persistTo,
  port = PORTS.worker,
  timeoutMs = 120_000,
  cwd = root,
  configs = [join(root, 'wrangler.toml'), join(root, 'wrangler.onnx.toml')],
  readyPath = '/openapi.json',
} = {}) {
  await waitForPorts([port, PORTS.inspector]);
  const bin = join(root, 'node_modules/wrangler/bin/wrangler.js');
  const args = [
    'dev',
    ...configs.flatMap((c) => ['--config', c]),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(PORTS.inspector),
    '--persist-to',
    persistTo,
    '--var',
    'RATE_LIMIT:off',
    '--show-interactive-dev-session=false',
    '--log-level',
    'warn',
  ];
  const t0 = performance.now();
  const proc = start('wrangler dev', process.execPath, [bin, ...args], { WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' }, cwd);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}${readyPath}`, proc, timeoutMs);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    url,
    proc,
    readyMs: performance.now() - t0,
    stop: () => proc.stop(),
    pids: () => descendants(proc.pid).filter((p) => comm(p) === 'workerd'),
    allPids: () => [proc.pid, ...descendants(proc.pid)],
  };
}

/**
 * Any server process, ready when `url + readyPath` answers 2xx. With `readyPath: null` it returns as
 * soon as the process is spawned (`spawnedAt`, a performance.now() time), and the caller's own first
 * request is the first the process sees.
 */
export async function startProcess(label, command, args, { url, readyPath = '/', cwd = root, timeoutMs = 60_000 }) {
  await waitForPorts([Number(new URL(url).port)]);
  const spawnedAt = performance.now();
  const proc = start(label, command, args, {}, cwd);
  try {
    if (readyPath !== null) await waitFor(`${url}${readyPath}`, proc, timeoutMs);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, proc, spawnedAt, stop: () => proc.stop(), pids: () => [proc.pid, ...descendants(proc.pid)] };
}

/**
 * A one-line Worker (no Hono, no model) in `dir`: index.js, a wrangler.toml for `wrangler dev`, and a
 * config.capnp for bare `workerd serve` on `port`. The floor of the local stack, for reading our numbers.
 */
export function writeHelloWorker(dir, port) {
  writeFileSync(join(dir, 'index.js'), 'export default { fetch: () => new Response("ok") };\n');
  writeFileSync(join(dir, 'wrangler.toml'), `name = "hello"\nmain = "index.js"\ncompatibility_date = "${compatibilityDate()}"\n`);
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ ( name = "http", address = "127.0.0.1:${port}", http = (), service = "main" ) ]
);
const w :Workerd.Worker = ( modules = [ (name = "index.js", esModule = embed "index.js") ], compatibilityDate = "${compatibilityDate()}" );
`,
  );
}

/** The Python baseline (scripts/bench/python_server.py) on PORTS.python, in the trainer's environment. */
export async function startPython({ model, port = PORTS.python, timeoutMs = 180_000 } = {}) {
  await waitForPorts([port]);
  const proc = start('python_server.py', 'bash', [
    join(root, 'scripts/py.sh'),
    join(root, 'scripts/bench/python_server.py'),
    '--model',
    model,
    '--port',
    String(port),
  ]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/health`, proc, timeoutMs);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, proc, stop: () => proc.stop(), pids: () => [proc.pid, ...descendants(proc.pid)] };
}

function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Every live descendant of `pid` (from /proc). */
export function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const walk = (p) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** CPU seconds (user + system) the given processes have used so far (/proc/PID/stat; clock ticks of 1/100 s). */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

/** Resident set size in bytes of the given processes, summed (VmRSS). */
export function rssBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/** The [vars] of a wrangler config (plain `KEY = "value"` lines), so the bare runtime gets what wrangler would bind. */
function wranglerVars(config = 'wrangler.toml') {
  const toml = readFileSync(join(root, config), 'utf8');
  const section = /^\[vars\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(toml)?.[1] ?? ''; // to the next section or the end
  return Object.fromEntries([...section.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]));
}

/**
 * The Worker's deploy bundle (buildBundle) under bare `workerd serve`, the runtime wrangler dev runs,
 * without wrangler's proxy worker and Miniflare's entry worker in front of it. A shim entry module
 * wraps the bundle's fetch with an R2 whose objects stream over a loopback socket from a file server
 * in this process (so the workerd process holds only what the isolate reads, and a cold start reads
 * through real I/O) and a KV that names the artifact's version, so requests go through the same Hono
 * app and model code as deployed.
 * Durable Objects, rate limiter and analytics are not bound (requests without `userId` never touch
 * them; RATE_LIMIT is "off").
 */
export async function startBareWorker({
  bundleDir,
  modelDir,
  workDir,
  port = PORTS.worker,
  timeoutMs = 60_000,
  v8Flags = [],
  args = [],
  readyPath = '/openapi.json',
  main = 'index.js',
  onnxBundleDir,
  vars: extraVars = {},
}) {
  const { manifest, paths } = r2Layout(resolve(modelDir));
  const bundleFiles = ['index.js', ...readdirSync(bundleDir).filter((f) => f.endsWith('.wasm'))];
  for (const f of bundleFiles) symlinkSync(join(bundleDir, f === 'index.js' ? main : f), join(workDir, f));
  // The ONNX runtime Worker (buildBundle with wrangler.onnx.toml), when given: a second service in
  // the same process, bound to the Worker as ONNX (RPC to its default entrypoint, as deployed).
  const onnxFiles = onnxBundleDir ? readdirSync(onnxBundleDir).filter((f) => f.endsWith('.js') || f.endsWith('.wasm')) : [];
  if (onnxBundleDir) {
    mkdirSync(join(workDir, 'onnx'));
    for (const f of onnxFiles) symlinkSync(join(onnxBundleDir, f), join(workDir, 'onnx', f));
  }
  for (const f of Object.values(manifest.files)) {
    if (sha256(readFileSync(paths.get(`blobs/sha256/${f.sha256}`))) !== f.sha256)
      throw new Error(`${f.path}: sha256 does not match the manifest`);
  }
  const blobs = await serveFiles(paths);
  symlinkSync(resolve(modelDir, 'manifest.json'), join(workDir, 'manifest.json'));
  writeFileSync(
    join(workDir, 'r2.js'),
    `// R2 as the Worker sees it, over a socket to the bench's file server (BLOBS). Objects under
// blobs/sha256/ carry the checksum R2 keeps for an object put with its sha256 (scripts/publish.mjs):
// the file server's files were hashed against the manifest before it started.
const hexBytes = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16))).buffer;
const object = (res, key) => ({
  size: Number(res.headers.get('content-length')),
  checksums: key.startsWith('blobs/sha256/') ? { sha256: hexBytes(key.slice(13)) } : {},
  body: res.body,
  arrayBuffer: () => res.arrayBuffer(),
  text: () => res.text(),
  json: () => res.json(),
});
export const bucket = (files) => ({
  async get(key) {
    const res = await files.fetch('http://blobs/' + key);
    return res.ok ? object(res, key) : (await res.body?.cancel(), null);
  },
  async head(key) {
    const res = await files.fetch('http://blobs/' + key, { method: 'HEAD' });
    return res.ok ? { size: Number(res.headers.get('content-length')) } : null;
  },
});
`,
  );
  writeFileSync(
    join(workDir, 'entry.js'),
    `import worker from './index.js';
import manifestText from './manifest.json';
import { bucket } from './r2.js';
const manifest = JSON.parse(manifestText);
const active = JSON.stringify({ version: manifest.version });
const kv = { get: async (key, type) => (key !== 'active' ? null : type === 'json' || type?.type === 'json' ? JSON.parse(active) : active) };
let benchEnv;
export default { fetch: (request, env, ctx) => worker.fetch(request, (benchEnv ??= { ...env, EDGEREC_KV: kv, EDGEREC_R2: bucket(env.BLOBS) }), ctx) };
`,
  );
  const onnxMain = onnxFiles.find((f) => f.endsWith('.js'));
  if (onnxBundleDir && !onnxMain) throw new Error(`no ONNX runtime Worker bundle (.js) in ${onnxBundleDir}`);
  if (onnxBundleDir) {
    writeFileSync(
      join(workDir, 'onnx-entry.js'),
      `import OnnxRuntimeWorker from './onnx/${onnxMain}';
import { bucket } from './r2.js';
// The ONNX runtime Worker, its R2 the same file server as the Worker's.
export default class extends OnnxRuntimeWorker {
  constructor(ctx, env) {
    super(ctx, { ...env, EDGEREC_R2: bucket(env.BLOBS) });
  }
}
`,
    );
  }
  const vars = { ...wranglerVars(), RATE_LIMIT: 'off', ...extraVars };
  const str = (s) => JSON.stringify(s);
  // capnp list entries: Wasm modules embedded from `files` (their names as the bundle imports them), text bindings.
  const wasmModules = (files) =>
    files
      .filter((f) => f.endsWith('.wasm'))
      .map((f) => `    (name = ${str(f)}, wasm = embed ${str(f)}),`)
      .join('\n');
  const textBindings = (vars) =>
    Object.entries(vars)
      .map(([k, v]) => `    (name = ${str(k)}, text = ${str(v)}),`)
      .join('\n');
  const onnxWorker = onnxBundleDir
    ? `
const o :Workerd.Worker = (
  modules = [
    (name = "onnx-entry.js", esModule = embed "onnx-entry.js"),
    (name = "r2.js", esModule = embed "r2.js"),
    (name = ${str(`onnx/${onnxMain}`)}, esModule = embed ${str(`onnx/${onnxMain}`)}),
${wasmModules(onnxFiles.map((f) => `onnx/${f}`))}
  ],
  bindings = [
    (name = "BLOBS", service = "blobs"),
${textBindings(wranglerVars('wrangler.onnx.toml'))}
  ],
  compatibilityDate = ${str(compatibilityDate('wrangler.onnx.toml'))},
);
`
    : '';
  writeFileSync(
    join(workDir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w), (name = "blobs", external = (address = "127.0.0.1:${blobs.port}", http = ()))${onnxBundleDir ? ', (name = "onnx", worker = .o)' : ''} ],
  sockets = [ ( name = "http", address = "127.0.0.1:${port}", http = (), service = "main" ) ],
  v8Flags = [ ${v8Flags.map(str).join(', ')} ]
);
const w :Workerd.Worker = (
  modules = [
    (name = "entry.js", esModule = embed "entry.js"),
    (name = "r2.js", esModule = embed "r2.js"),
    (name = "index.js", esModule = embed "index.js"),
${wasmModules(bundleFiles)}
    (name = "manifest.json", text = embed "manifest.json"),
  ],
  bindings = [
    (name = "BLOBS", service = "blobs"),${onnxBundleDir ? '\n    (name = "ONNX", service = "onnx"),' : ''}
${textBindings(vars)}
  ],
  compatibilityDate = ${str(compatibilityDate())},
);
${onnxWorker}`,
  );
  const bin = workerdBinary();
  const t0 = performance.now();
  let server;
  try {
    server = await startProcess('workerd serve', bin, ['serve', join(workDir, 'config.capnp'), ...args], {
      url: `http://127.0.0.1:${port}`,
      readyPath,
      cwd: workDir,
      timeoutMs,
    });
  } catch (err) {
    await blobs.close();
    throw err;
  }
  server.readyMs = performance.now() - t0;
  const stop = server.stop;
  server.stop = async () => {
    await stop();
    await blobs.close();
  };
  return server;
}

/** An HTTP server on a free loopback port answering GET/HEAD /KEY with the file `paths` maps KEY to. */
async function serveFiles(paths) {
  const server = createHttpServer((req, res) => {
    const path = paths.get(decodeURIComponent(new URL(req.url, 'http://x').pathname.slice(1)));
    if (!path) return res.writeHead(404).end();
    res.writeHead(200, { 'content-length': statSync(path).size, 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') return res.end();
    createReadStream(path, { highWaterMark: 1 << 20 }).pipe(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { port: server.address().port, close: () => new Promise((ok) => server.close(() => ok())) };
}
