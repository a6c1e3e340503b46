/**
 * Part a's kernel inside workerd, the runtime the Worker ships on: kernel-worker.ts (the committed
 * int8_scan.wasm and src/kernel/int8-scan.ts, bundled with esbuild) under bare `workerd serve`, fed
 * the same table, filters and queries as the other methods. workerd's clock stands still while
 * JavaScript runs, so each timing is two requests, timed from here: one scanning query j once, one
 * scanning R queries in turn (as the Node rows cycle through them) and then j; the time of a scan is
 * (t(R + 1) - t(1)) / R, R sized to ~20 ms of scanning. That is the mean over the queries, so its
 * p10-p90 is narrower than the Node rows', which time queries one by one.
 *
 * It exists because Node and workerd compile the same Wasm differently (workerd emits an explicit
 * bounds check before every load; docs/BENCHMARKS.md, part a, "Where the time goes").
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compatibilityDate } from './build.mjs';
import { PORTS, startProcess, workerdBinary } from './servers.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The method's setup (methods.mjs contract, plus the run's queries and filters): starts workerd and loads the table. */
export async function workerdKernel(table, { k, queries, filters }) {
  const dir = mkdtempSync(join(tmpdir(), 'edgerec-kernel-workerd-'));
  let server;
  const close = async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await (
      await import('esbuild')
    ).build({
      entryPoints: [join(root, 'scripts/bench/kernel-worker.ts')],
      bundle: true,
      format: 'esm',
      target: 'es2022',
      outfile: join(dir, 'worker.js'),
      // The kernel as a module of the config below (workerd's Wasm module type, as wrangler's CompiledWasm rule gives it).
      plugins: [{ name: 'kernel', setup: (b) => b.onResolve({ filter: /\.wasm$/ }, () => ({ path: './int8_scan.wasm', external: true })) }],
      logLevel: 'warning',
    });
    copyFileSync(join(root, 'src/kernel/int8_scan.wasm'), join(dir, 'int8_scan.wasm'));
    writeFileSync(
      join(dir, 'config.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ ( name = "http", address = "127.0.0.1:${PORTS.kernel}", http = (), service = "main" ) ],
);
const w :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "int8_scan.wasm", wasm = embed "int8_scan.wasm"),
  ],
  compatibilityDate = "${compatibilityDate()}",
);
`,
    );
    server = await startProcess('workerd (kernel)', workerdBinary(), ['serve', join(dir, 'config.capnp')], {
      url: `http://127.0.0.1:${PORTS.kernel}`,
      readyPath: '/health',
      cwd: dir,
    });
    const base = server.url;
    const ok = async (res) => {
      if (!res.ok) throw new Error(`kernel worker: ${res.status} ${await res.text()}`);
      return res;
    };
    const { rows, dim } = table;
    const body = new Uint8Array(rows * dim + rows * 4);
    body.set(new Uint8Array(table.q.buffer, table.q.byteOffset, rows * dim));
    body.set(new Uint8Array(table.scales.buffer, table.scales.byteOffset, rows * 4), rows * dim);
    const memoryBytes = Number(await (await ok(await fetch(`${base}/table?rows=${rows}&dim=${dim}`, { method: 'PUT', body }))).text());
    const allowed = filters.allowed ? Array.from(filters.allowed.subarray(0, rows), (x) => (x ? '1' : '0')).join('') : '1'.repeat(rows);
    await ok(
      await fetch(`${base}/filters`, {
        method: 'PUT',
        body: JSON.stringify({ queries: queries.map((q) => [...q]), excluded: filters.excluded.map((s) => [...s]), allowed }),
      }),
    );
    const reps = Math.max(2, Math.min(200, Math.round(2e6 / rows)));
    // n scans inside one request: the other queries in turn (as the Node rows cycle through them, so
    // no run repeats one query while caches and branch predictors learn it), query j last.
    const call = async (j, mode, n) => {
      const t0 = performance.now();
      const out = await (await ok(await fetch(`${base}/scan?j=${j}&mode=${mode}&k=${k}&n=${n}`, { method: 'POST' }))).json();
      return [performance.now() - t0, out];
    };
    return {
      /** Times itself: returns the answer and the ms of one scan inside workerd. */
      selfTimed: true,
      memoryBytes,
      async run(u, filter, j) {
        if (queries[j] !== u) throw new Error(`kernel worker: query ${j} is not the one set up`);
        const mode = filter.allowed || filter.excluded ? 'filtered' : 'plain';
        const [t1, out] = await call(j, mode, 1);
        const [tn] = await call(j, mode, reps + 1);
        return { out, ms: (tn - t1) / reps };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
