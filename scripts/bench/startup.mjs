#!/usr/bin/env node
/**
 * Where the Worker's script startup goes: for each module named, a one-line Worker that only imports
 * it (so the module and everything it imports is bundled, compiled and evaluated, but nothing runs),
 * built as deployed and started in a new bare workerd process, timed from spawn to its first answer.
 * A constant Worker is the floor. Rounds alternate the entries so the machine's drift hits them alike.
 *
 *   node scripts/bench/startup.mjs 10 src/http/openapi.ts src/http/schemas.ts src/model/store.ts src/app.ts
 *
 * Prints medians and trials (ms). Results: docs/BENCHMARKS.md ("Where script startup goes").
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from './build.mjs';
import { spawnToAnswer } from './cold-start.mjs';
import { startBareWorker } from './servers.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const [roundsArg, ...modules] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!(rounds > 0) || !modules.length) {
  console.error('usage: startup.mjs ROUNDS MODULE.ts ...');
  process.exit(2);
}

// Entries live inside the project, so wrangler resolves their imports as it does the Worker's.
const entryDir = join(root, 'node_modules/.cache/edgerec-startup');
rmSync(entryDir, { recursive: true, force: true });
mkdirSync(entryDir, { recursive: true });
const durableObject = 'export class UserSession { fetch() { return new Response(""); } }\n';
const entries = [{ label: '(constant Worker)', source: `export default { fetch: () => new Response("{}") };\n${durableObject}` }];
for (const m of modules) {
  const spec = relative(entryDir, resolve(root, m)).replace(/\.ts$/, '');
  // The import is kept (its exports are counted), never called.
  entries.push({
    label: m,
    source: `import * as m from '${spec}';\nexport default { fetch: () => new Response(String(Object.keys(m).length)) };\n${durableObject}`,
  });
}

/** Spawn to first answer of one bundle in a new bare workerd process, ms. */
async function startupMs(bundleDir) {
  const workDir = mkdtempSync(join(tmpdir(), 'edgerec-startup-run-'));
  const server = await startBareWorker({ bundleDir, modelDir: join(root, 'models/default'), workDir, readyPath: null });
  try {
    return (await spawnToAnswer(server, `${server.url}/`)).ms;
  } finally {
    await server.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

try {
  for (const [i, e] of entries.entries()) {
    const file = join(entryDir, `entry-${i}.ts`);
    writeFileSync(file, e.source);
    e.bundleDir = mkdtempSync(join(tmpdir(), 'edgerec-startup-'));
    await buildBundle(e.bundleDir, { entry: relative(root, file) });
    renameSync(join(e.bundleDir, `${basename(file, '.ts')}.js`), join(e.bundleDir, 'index.js'));
    e.ms = [];
  }
  // One start first, not counted: the first workerd spawn of a run is 5-10x slow (binary paged in).
  await startupMs(entries[0].bundleDir);
  for (let r = 0; r < rounds; r++) {
    for (const e of r % 2 ? [...entries].reverse() : entries) e.ms.push(await startupMs(e.bundleDir));
  }
} finally {
  for (const e of entries) if (e.bundleDir) rmSync(e.bundleDir, { recursive: true, force: true });
  rmSync(entryDir, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log('| entry imports | spawn to first answer, median ms | trials ms |\n| --- | ---: | --- |');
for (const e of entries) console.log(`| ${e.label} | ${median(e.ms).toFixed(0)} | ${e.ms.map((x) => x.toFixed(0)).join(' ')} |`);
