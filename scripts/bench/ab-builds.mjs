#!/usr/bin/env node
/**
 * Two builds of the Worker side by side over HTTP: the working tree and an earlier commit, each
 * bundled as deployed and run under bare `workerd serve` (servers.mjs) on its own port, with
 * alternating rounds of autocannon at one connection, so drift of the machine hits both alike.
 * Prints req/s, p50 and server CPU per request for each round and their medians.
 *
 *   node scripts/bench/ab-builds.mjs --base 6950cee
 *   node scripts/bench/ab-builds.mjs --base HEAD~3 --rounds 8 --duration 4 --endpoints recommend
 *
 * Options: --base REV (required)  --model DIR (default models/default)  --rounds 8  --duration 4 (s)
 * --endpoints recommend,health  --connections 1  --base-modules DIR (the node_modules the base is
 * bundled with, when its dependencies differ from this checkout's; e.g. a clone of REV after npm ci).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { artifactBodies } from './artifact.mjs';
import { loadRun, summarizeRuns } from './http-load.mjs';
import { summarize } from './report.mjs';
import { cpuSeconds, startBareWorker } from './servers.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    model: { type: 'string', default: join(root, 'models/default') },
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '4' },
    endpoints: { type: 'string', default: 'recommend,health' },
    connections: { type: 'string', default: '1' },
    'base-modules': { type: 'string' },
  },
});
if (!opt.base) throw new Error('--base REV is required (the commit to compare the working tree with)');
const log = (...a) => console.error('[ab-builds]', ...a);
const median = (xs) => summarize(xs).median;

const scratch = mkdtempSync(join(tmpdir(), 'edgerec-ab-'));
const tree = join(scratch, 'base-tree');
const servers = [];
try {
  // The base commit's tree, with this checkout's node_modules (or --base-modules), bundled by its own wrangler.toml.
  execFileSync('git', ['worktree', 'add', '--detach', tree, opt.base], { cwd: root, stdio: 'ignore' });
  symlinkSync(opt['base-modules'] ? resolve(opt['base-modules']) : join(root, 'node_modules'), join(tree, 'node_modules'));
  const builds = [
    { name: `base ${opt.base}`, bundleDir: join(scratch, 'base-bundle'), cwd: tree },
    { name: 'working tree', bundleDir: join(scratch, 'head-bundle'), cwd: root },
  ];
  for (const b of builds) {
    log(`bundling ${b.name}`);
    execFileSync(process.execPath, [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', b.bundleDir], {
      cwd: b.cwd,
      stdio: 'ignore',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
  }
  const bodies = artifactBodies(opt.model).bodies.plain;
  const endpoints = {
    recommend: bodies.map((b) => ({
      method: 'POST',
      path: '/v1/recommend',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(b),
    })),
    health: [{ method: 'GET', path: '/health' }],
  };
  for (const [i, b] of builds.entries()) {
    servers.push(
      await startBareWorker({ bundleDir: b.bundleDir, modelDir: opt.model, workDir: mkdtempSync(join(scratch, 'w-')), port: 8850 + i }),
    );
    await loadRun(servers[i].url, { requests: endpoints.recommend, connections: 2, amount: 3000 });
  }
  const chosen = opt.endpoints.split(',');
  const rows = {};
  for (let r = 0; r < Number(opt.rounds); r++) {
    for (const ep of chosen) {
      const order = r % 2 ? [1, 0] : [0, 1];
      for (const i of order) {
        const pids = servers[i].pids();
        const cpu0 = cpuSeconds(pids);
        const run = await loadRun(servers[i].url, {
          requests: endpoints[ep],
          connections: Number(opt.connections),
          durationS: Number(opt.duration),
        });
        run.cpuS = cpuSeconds(pids) - cpu0;
        const { rps, p50, cpuMsPerRequest: cpuMs } = summarizeRuns([run]);
        const row = { rps, p50, cpuMs };
        (rows[ep] ??= [[], []])[i].push(row);
        log(
          `round ${r + 1}: ${builds[i].name} ${ep}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50.toFixed(3)} ms, ${row.cpuMs.toFixed(3)} CPU ms/request`,
        );
      }
    }
  }
  console.log(`\n| endpoint | build | req/s (median of ${opt.rounds} rounds) | p50 ms | server CPU ms / request | req/s per round |`);
  console.log('| --- | --- | ---: | ---: | ---: | --- |');
  for (const ep of chosen) {
    for (const [i, b] of builds.entries()) {
      const l = rows[ep][i];
      console.log(
        `| ${ep} | ${b.name} | ${median(l.map((x) => x.rps)).toFixed(0)} | ${median(l.map((x) => x.p50)).toFixed(3)} | ${median(l.map((x) => x.cpuMs)).toFixed(3)} | ${l.map((x) => x.rps.toFixed(0)).join(' ')} |`,
      );
    }
  }
} finally {
  for (const s of servers) await s.stop();
  try {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: root, stdio: 'ignore' });
  } catch {
    // never added
  }
  rmSync(scratch, { recursive: true, force: true });
}
